package toolexec

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// An instrumented package's archive carries one extra member, depsMember,
// recording for the link what the instrumentation added to the compile
// (see linkDeps). The linker skips archive members whose short names do
// not end in .o or .syso; the link step reads this one to add the runtime
// to the link when cmd/go did not put it there, and to check that the
// link gets the runtime the package was compiled against.
const (
	depsMember = "overmind.deps"
	depsHeader = "overmind.deps v2"
)

const (
	arMagic     = "!<arch>\n"
	arHeaderLen = 60
)

// linkDeps is what an instrumented package's archive records for the link.
type linkDeps struct {
	// Imports are the packages the instrumentation imports that the
	// compile's importcfg lacked, such as the runtime.
	Imports []string `json:"imports"`
	// Archives are the archives the compile was given for them, and those
	// of all their dependencies, by package path.
	Archives map[string]string `json:"archives"`
	// Flags are the go command flags they were resolved with.
	Flags []string `json:"flags,omitempty"`
	// Profile reports that the package was compiled with a PGO profile.
	Profile bool `json:"profile,omitempty"`
}

// appendDepsMember appends the depsMember recording deps to the Go
// archive at name.
func appendDepsMember(name string, deps *linkDeps) error {
	data, err := json.Marshal(deps)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	magic := make([]byte, len(arMagic))
	if _, err := io.ReadFull(f, magic); err != nil || string(magic) != arMagic {
		return fmt.Errorf("%s is not a Go archive", name)
	}
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	body := depsHeader + "\n" + string(data) + "\n"
	var b bytes.Buffer
	if end%2 == 1 { // members start at even offsets
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "%-16s%-12d%-6d%-6d%-8o%-10d`\n", depsMember, 0, 0, 0, 0o644, len(body))
	b.WriteString(body)
	if len(body)%2 == 1 {
		b.WriteByte('\n')
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		return err
	}
	return f.Close()
}

// readDepsMember returns what the depsMember of the Go archive at name
// records, or nil if it has none. Only member headers are read.
func readDepsMember(name string) (*linkDeps, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := archiveMember(f, depsMember, -1)
	if err != nil || data == nil {
		return nil, err
	}
	header, body, _ := strings.Cut(string(data), "\n")
	if header != depsHeader {
		return nil, fmt.Errorf("%s: unknown %s format %q", name, depsMember, header)
	}
	deps := &linkDeps{}
	if err := json.Unmarshal([]byte(body), deps); err != nil {
		return nil, fmt.Errorf("%s: reading %s: %w", name, depsMember, err)
	}
	return deps, nil
}

// objectMagic starts the binary part of a Go object file, followed by the
// package's fingerprint: "\x00go120ld" since Go 1.20.
var objectMagic = regexp.MustCompile(`\x00go1[0-9]+ld`)

// fingerprintSize is the size of a Go object file's fingerprint.
const fingerprintSize = 8

// archiveFingerprint returns the fingerprint of the Go package archive at
// name: what the linker compares with the one each importer of the package
// was compiled against. It returns nil when it cannot tell: no object
// member, or an object format it does not know.
func archiveFingerprint(name string) []byte {
	f, err := os.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	head, err := archiveMember(f, "_go_.o", 4096)
	if err != nil || head == nil {
		return nil
	}
	loc := objectMagic.FindIndex(head)
	if loc == nil || loc[1]+fingerprintSize > len(head) {
		return nil
	}
	return head[loc[1] : loc[1]+fingerprintSize]
}

// archiveMember returns the contents of the named member of the ar
// archive r, at most limit bytes of them unless limit is negative; nil if
// there is no such member or r is not an archive.
func archiveMember(r io.ReadSeeker, member string, limit int64) ([]byte, error) {
	br := bufio.NewReaderSize(r, arHeaderLen)
	magic := make([]byte, len(arMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != arMagic {
		return nil, nil
	}
	off := int64(len(arMagic))
	hdr := make([]byte, arHeaderLen)
	for {
		if _, err := r.Seek(off, io.SeekStart); err != nil {
			return nil, err
		}
		br.Reset(r)
		if _, err := io.ReadFull(br, hdr); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, nil
			}
			return nil, fmt.Errorf("reading archive header: %w", err)
		}
		size, err := strconv.ParseInt(strings.TrimSpace(string(hdr[48:58])), 10, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("malformed archive header %q", hdr)
		}
		if strings.TrimRight(strings.TrimSpace(string(hdr[:16])), "/") == member {
			if limit >= 0 {
				size = min(size, limit)
			}
			data := make([]byte, size)
			if _, err := io.ReadFull(br, data); err != nil {
				return nil, fmt.Errorf("reading archive member %s: %w", member, err)
			}
			return data, nil
		}
		off += arHeaderLen + size + size%2
	}
}
