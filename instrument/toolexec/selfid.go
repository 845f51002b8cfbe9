package toolexec

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// ModulePath is the module that holds the runtime package instrumented
// code imports.
const ModulePath = "github.com/overmind-core/overmind-go"

// Version is the version of the running overmind binary: the module
// version it was built from, or "devel" for a build from a work tree.
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Path == ModulePath {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return v
		}
	}
	return "devel"
}

// selfHash identifies the running binary: a hash of the Go build ID the
// linker stamped in it (its last part is a hash of the binary's content),
// or, for a binary without one, of the whole file.
func selfHash() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("locating own binary: %w", err)
	}
	f, err := os.Open(exe)
	if err != nil {
		return "", fmt.Errorf("reading own binary: %w", err)
	}
	defer f.Close()
	head := make([]byte, 64<<10)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF {
		return "", fmt.Errorf("reading own binary: %w", err)
	}
	h := sha256.New()
	if id := findBuildID(head[:n]); id != "" && !strings.HasSuffix(id, "/") {
		h.Write([]byte("buildid:" + id))
	} else {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return "", err
		}
		if _, err := io.Copy(h, f); err != nil {
			return "", fmt.Errorf("hashing own binary: %w", err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}

// findBuildID finds the Go build ID in the first bytes of a binary: in
// the ELF note the linker writes (type 4, name "Go"), or after the
// "\xff Go build ID: " marker other formats carry at the start of the text.
func findBuildID(head []byte) string {
	const marker = "\xff Go build ID: \""
	if i := bytes.Index(head, []byte(marker)); i >= 0 {
		rest := head[i+len(marker):]
		if j := bytes.IndexByte(rest, '"'); j > 0 {
			return string(rest[:j])
		}
	}
	// ELF note: namesz=4, descsz, type=4, "Go\x00\x00", desc.
	note := []byte("\x04\x00\x00\x00")
	for off := 0; ; {
		i := bytes.Index(head[off:], []byte("Go\x00\x00"))
		if i < 0 {
			return ""
		}
		i += off
		off = i + 4
		if i < 12 || !bytes.Equal(head[i-12:i-8], note) || !bytes.Equal(head[i-4:i], note) {
			continue
		}
		size := int(binary.LittleEndian.Uint32(head[i-8 : i-4]))
		if size <= 0 || i+4+size > len(head) {
			continue
		}
		return string(head[i+4 : i+4+size])
	}
}
