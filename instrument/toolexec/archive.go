package toolexec

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// An instrumented package's archive carries one extra member, depsMember,
// listing the packages the instrumentation imports that the package's own
// imports do not bring in. The linker skips archive members whose short
// names do not end in .o or .syso; the link step reads this one to add the
// runtime to the link when cmd/go did not put it there.
const (
	depsMember = "overmind.deps"
	depsHeader = "overmind.deps v1"
)

const (
	arMagic     = "!<arch>\n"
	arHeaderLen = 60
)

// appendDepsMember appends the depsMember listing imports to the Go
// archive at name.
func appendDepsMember(name string, imports []string) error {
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
	body := depsHeader + "\n" + strings.Join(imports, "\n") + "\n"
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

// readDepsMember returns the imports listed in the depsMember of the Go
// archive at name, or nil if it has none. Only member headers are read.
func readDepsMember(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := archiveMember(f, depsMember)
	if err != nil || data == nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if lines[0] != depsHeader {
		return nil, fmt.Errorf("%s: unknown %s format %q", name, depsMember, lines[0])
	}
	return lines[1:], nil
}

// archiveMember returns the contents of the named member of the ar
// archive r, nil if there is none or r is not an archive.
func archiveMember(r io.ReadSeeker, member string) ([]byte, error) {
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
			data := make([]byte, size)
			if _, err := io.ReadFull(br, data); err != nil {
				return nil, fmt.Errorf("reading archive member %s: %w", member, err)
			}
			return data, nil
		}
		off += arHeaderLen + size + size%2
	}
}
