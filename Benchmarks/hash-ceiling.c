/*
 * hash-ceiling: the fastest that page-cached files can be SHA-256 hashed on
 * this machine, as a reference for `modelsec sign`.
 *
 *   hash-ceiling THREADS FILE...   prints the bytes per second
 *
 * THREADS workers take files from a shared queue; each reads its file with
 * pread(2) into a 1 MiB buffer and feeds OpenSSL's EVP SHA-256 (the same
 * library and buffer size `sign` uses). Nothing else happens: no walking,
 * no manifest, no signature, no process start-up cost beyond the C runtime.
 * Written in C so that the ceiling does not depend on modelsec's own code.
 * `openssl speed` hashes one buffer that stays in the CPU cache; this program
 * shows what reading from the page cache costs on top of that.
 */
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { BUFFER_SIZE = 1 << 20 };

static char **files;
static int file_count;
static int next_file;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *unused) {
    (void)unused;
    unsigned char *buffer = aligned_alloc(4096, BUFFER_SIZE);
    if (!buffer) { perror("hash-ceiling: aligned_alloc"); exit(2); }
    for (;;) {
        pthread_mutex_lock(&queue_lock);
        int index = next_file++;
        pthread_mutex_unlock(&queue_lock);
        if (index >= file_count) break;
        int fd = open(files[index], O_RDONLY);
        if (fd < 0) { perror(files[index]); exit(2); }
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
        off_t offset = 0;
        ssize_t n;
        while ((n = pread(fd, buffer, BUFFER_SIZE, offset)) > 0) {
            EVP_DigestUpdate(ctx, buffer, (size_t)n);
            offset += n;
        }
        if (n < 0) { perror(files[index]); exit(2); }
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int length;
        EVP_DigestFinal_ex(ctx, digest, &length);
        EVP_MD_CTX_free(ctx);
        close(fd);
    }
    free(buffer);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: hash-ceiling THREADS FILE...\n"); return 2; }
    int threads = atoi(argv[1]);
    if (threads < 1 || threads > 256) { fprintf(stderr, "hash-ceiling: bad thread count\n"); return 2; }
    files = argv + 2;
    file_count = argc - 2;
    double total = 0;
    for (int i = 0; i < file_count; i++) {
        struct stat st;
        if (stat(files[i], &st) != 0) { perror(files[i]); return 2; }
        total += (double)st.st_size;
    }
    pthread_t ids[256];
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < threads; i++) pthread_create(&ids[i], NULL, worker, NULL);
    for (int i = 0; i < threads; i++) pthread_join(ids[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    printf("%.0f\n", total / seconds);
    return 0;
}
