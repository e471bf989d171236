// tlogcheck: an independent check of modelsec's transparency log, built on
// Go's golang.org/x/mod/sumdb/tlog and sumdb/note (Debian's
// golang-golang-x-mod-dev), in GOPATH mode:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o tlogcheck tlogcheck.go
//
//	tlogcheck verify VKEY DIR INDEX OLDSIZE
//	    Opens DIR/checkpoint with the vkey (sumdb/note), reads DIR's tiles
//	    through tlog.TileHashReader (which authenticates every tile against
//	    the checkpoint's root), recomputes the root, checks the leaf hash of
//	    entry INDEX (read from DIR's entry bundle) with a record proof and
//	    the consistency of tree OLDSIZE with a tree proof. Prints "ok".
//	tlogcheck proof VKEY PROOF ENTRY
//	    Reads the C2SP tlog-proof file PROOF (c2sp.org/tlog-proof@v1: an
//	    optional extra line, the index, the inclusion hashes, an empty line,
//	    the signed checkpoint), opens its checkpoint with the vkey
//	    (sumdb/note, which ignores the cosignature lines of keys it was not
//	    given) and checks the record proof of the file ENTRY's bytes at the
//	    index with tlog.CheckRecord. Prints "ok INDEX N".
//	tlogcheck make ORIGIN N OLDSIZE DIR
//	    Makes a log of N entries ("go entry <i>\n") with a fresh key: C2SP
//	    tiles and entry bundles and a note-signed checkpoint in DIR,
//	    DIR/vkey, and DIR/proofs: "inclusion I N hash..." for a few I and
//	    "consistency OLDSIZE N hash..." (base64 hashes), for modelsec to check.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// c2spPath maps Go's tile path (tile/8/L/N) to C2SP tlog-tiles (tile/L/N).
func c2spPath(t tlog.Tile) string {
	return strings.Replace(t.Path(), "tile/8/", "tile/", 1)
}

func bundlePath(index int64, width int) string {
	p := strings.Replace(tlog.Tile{H: 8, L: 0, N: index, W: 256}.Path(), "tile/8/0/", "tile/entries/", 1)
	if width != 256 {
		p += fmt.Sprintf(".p/%d", width)
	}
	return p
}

type dirTiles struct{ dir string }

func (d dirTiles) Height() int { return 8 }

func (d dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := os.ReadFile(filepath.Join(d.dir, c2spPath(t)))
		if err != nil && t.W != 256 {
			// A partial tile may be gone once the full tile exists.
			full := t
			full.W = 256
			data, err = os.ReadFile(filepath.Join(d.dir, c2spPath(full)))
			if err == nil && len(data) >= t.W*tlog.HashSize {
				data = data[:t.W*tlog.HashSize]
			}
		}
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (d dirTiles) SaveTiles([]tlog.Tile, [][]byte) {}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tlogcheck: "+format+"\n", args...)
	os.Exit(1)
}

func parseCheckpoint(text string) (string, tlog.Tree) {
	lines := strings.Split(text, "\n")
	if len(lines) < 4 {
		fail("checkpoint has fewer than three lines")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("bad tree size: %v", err)
	}
	h, err := tlog.ParseHash(lines[2])
	if err != nil {
		fail("bad root hash: %v", err)
	}
	return lines[0], tlog.Tree{N: n, Hash: h}
}

func readEntry(dir string, index, size int64) []byte {
	tile := index / 256
	width := 256
	if tile == size/256 {
		width = int(size % 256)
	}
	data, err := os.ReadFile(filepath.Join(dir, bundlePath(tile, width)))
	if err != nil {
		fail("%v", err)
	}
	for i := int64(0); ; i++ {
		if len(data) < 2 {
			fail("entry %d not in its bundle", index)
		}
		n := int(binary.BigEndian.Uint16(data))
		if i == index%256 {
			return data[2 : 2+n]
		}
		data = data[2+n:]
	}
}

func verify(vkey, dir string, index, oldSize int64) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		fail("vkey: %v", err)
	}
	msg, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		fail("%v", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		fail("checkpoint: %v", err)
	}
	origin, tree := parseCheckpoint(n.Text)
	if origin != v.Name() {
		fail("origin %q is not the key name %q", origin, v.Name())
	}
	r := tlog.TileHashReader(tree, dirTiles{dir})
	root, err := tlog.TreeHash(tree.N, r)
	if err != nil {
		fail("tree hash: %v", err)
	}
	if root != tree.Hash {
		fail("root from tiles differs from the checkpoint")
	}
	leaf := tlog.RecordHash(readEntry(dir, index, tree.N))
	rp, err := tlog.ProveRecord(tree.N, index, r)
	if err != nil {
		fail("record proof: %v", err)
	}
	if err := tlog.CheckRecord(rp, tree.N, tree.Hash, index, leaf); err != nil {
		fail("record check: %v", err)
	}
	oldRoot, err := tlog.TreeHash(oldSize, r)
	if err != nil {
		fail("old tree hash: %v", err)
	}
	tp, err := tlog.ProveTree(tree.N, oldSize, r)
	if err != nil {
		fail("tree proof: %v", err)
	}
	if err := tlog.CheckTree(tp, tree.N, tree.Hash, oldSize, oldRoot); err != nil {
		fail("tree check: %v", err)
	}
	fmt.Printf("ok %d %s\n", tree.N, tree.Hash)
}

func checkProof(vkey, proofPath, entryPath string) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		fail("vkey: %v", err)
	}
	data, err := os.ReadFile(proofPath)
	if err != nil {
		fail("%v", err)
	}
	entry, err := os.ReadFile(entryPath)
	if err != nil {
		fail("%v", err)
	}
	split := bytes.Index(data, []byte("\n\n"))
	if split < 0 {
		fail("proof: no empty line before the checkpoint")
	}
	lines := strings.Split(string(data[:split]), "\n")
	if lines[0] != "c2sp.org/tlog-proof@v1" {
		fail("proof: header %q", lines[0])
	}
	lines = lines[1:]
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		lines = lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		fail("proof: no index line")
	}
	index, err := strconv.ParseInt(strings.TrimPrefix(lines[0], "index "), 10, 64)
	if err != nil {
		fail("proof: index: %v", err)
	}
	var rp tlog.RecordProof
	for _, line := range lines[1:] {
		h, err := tlog.ParseHash(line)
		if err != nil {
			fail("proof: hash: %v", err)
		}
		rp = append(rp, h)
	}
	n, err := note.Open(data[split+2:], note.VerifierList(v))
	if err != nil {
		fail("checkpoint: %v", err)
	}
	origin, tree := parseCheckpoint(n.Text)
	if origin != v.Name() {
		fail("origin %q is not the key name %q", origin, v.Name())
	}
	if err := tlog.CheckRecord(rp, tree.N, tree.Hash, index, tlog.RecordHash(entry)); err != nil {
		fail("record check: %v", err)
	}
	fmt.Printf("ok %d %d\n", index, tree.N)
}

func write(path string, data []byte) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		fail("%v", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		fail("%v", err)
	}
}

func hashLine(hs []tlog.Hash) string {
	var parts []string
	for _, h := range hs {
		parts = append(parts, base64.StdEncoding.EncodeToString(h[:]))
	}
	return strings.Join(parts, " ")
}

func makeLog(origin string, count, oldSize int64, dir string) {
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	var bundle bytes.Buffer
	for i := int64(0); i < count; i++ {
		entry := []byte(fmt.Sprintf("go entry %d\n", i))
		hs, err := tlog.StoredHashes(i, entry, reader)
		if err != nil {
			fail("%v", err)
		}
		stored = append(stored, hs...)
		var prefix [2]byte
		binary.BigEndian.PutUint16(prefix[:], uint16(len(entry)))
		bundle.Write(prefix[:])
		bundle.Write(entry)
		if (i+1)%256 == 0 {
			write(filepath.Join(dir, bundlePath(i/256, 256)), bundle.Bytes())
			bundle.Reset()
		}
	}
	if count%256 != 0 {
		write(filepath.Join(dir, bundlePath(count/256, int(count%256))), bundle.Bytes())
	}
	for _, t := range tlog.NewTiles(8, 0, count) {
		data, err := tlog.ReadTileData(t, reader)
		if err != nil {
			fail("%v", err)
		}
		write(filepath.Join(dir, c2spPath(t)), data)
	}
	root, err := tlog.TreeHash(count, reader)
	if err != nil {
		fail("%v", err)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		fail("%v", err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		fail("%v", err)
	}
	text := fmt.Sprintf("%s\n%d\n%s\n", origin, count, root)
	signed, err := note.Sign(&note.Note{Text: text}, signer)
	if err != nil {
		fail("%v", err)
	}
	write(filepath.Join(dir, "checkpoint"), signed)
	write(filepath.Join(dir, "vkey"), []byte(vkey))
	var proofs strings.Builder
	for _, i := range []int64{0, count / 3, count / 2, count - 1} {
		p, err := tlog.ProveRecord(count, i, reader)
		if err != nil {
			fail("%v", err)
		}
		fmt.Fprintf(&proofs, "inclusion %d %d %s\n", i, count, hashLine(p))
	}
	tp, err := tlog.ProveTree(count, oldSize, reader)
	if err != nil {
		fail("%v", err)
	}
	oldRoot, err := tlog.TreeHash(oldSize, reader)
	if err != nil {
		fail("%v", err)
	}
	fmt.Fprintf(&proofs, "oldroot %d %s\n", oldSize, base64.StdEncoding.EncodeToString(oldRoot[:]))
	fmt.Fprintf(&proofs, "consistency %d %d %s\n", oldSize, count, hashLine(tp))
	write(filepath.Join(dir, "proofs"), []byte(proofs.String()))
	fmt.Println("ok")
}

func main() {
	if len(os.Args) == 6 && os.Args[1] == "verify" {
		index, err1 := strconv.ParseInt(os.Args[4], 10, 64)
		oldSize, err2 := strconv.ParseInt(os.Args[5], 10, 64)
		if err1 != nil || err2 != nil {
			fail("bad numbers")
		}
		verify(os.Args[2], os.Args[3], index, oldSize)
		return
	}
	if len(os.Args) == 5 && os.Args[1] == "proof" {
		checkProof(os.Args[2], os.Args[3], os.Args[4])
		return
	}
	if len(os.Args) == 6 && os.Args[1] == "make" {
		count, err1 := strconv.ParseInt(os.Args[3], 10, 64)
		oldSize, err2 := strconv.ParseInt(os.Args[4], 10, 64)
		if err1 != nil || err2 != nil || count < 1 || oldSize < 1 || oldSize > count {
			fail("bad numbers")
		}
		makeLog(os.Args[2], count, oldSize, os.Args[5])
		return
	}
	fail("usage: tlogcheck verify VKEY DIR INDEX OLDSIZE | tlogcheck proof VKEY PROOF ENTRY | tlogcheck make ORIGIN N OLDSIZE DIR")
}
