#ifndef MODELSEC_CFUZZDRIVER_H
#define MODELSEC_CFUZZDRIVER_H
#include <stddef.h>
#include <stdint.h>
/// Runs libFuzzer's driver with `callback` as the fuzz target. SwiftPM links
/// executables with their entry point renamed to `<module>_main`, which hides
/// libFuzzer's own `main`; each target's `<module>_main` calls this instead.
int modelsec_run_fuzzer(int argc, char **argv, int (*callback)(const uint8_t *data, size_t size));
#endif
