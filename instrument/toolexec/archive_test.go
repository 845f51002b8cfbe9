package toolexec

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/overmind-core/overmind-go/rewrite"
)

// fakeArchive writes an ar archive with members of the given sizes.
func fakeArchive(t *testing.T, sizes ...int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(arMagic)
	for i, n := range sizes {
		fmt.Fprintf(&b, "%-16s%-12d%-6d%-6d%-8o%-10d`\n", fmt.Sprintf("m%d", i), 0, 0, 0, 0o644, n)
		b.WriteString(strings.Repeat("x", n))
		if n%2 == 1 {
			b.WriteByte('\n')
		}
	}
	name := filepath.Join(t.TempDir(), "_pkg_.a")
	if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestDepsMember(t *testing.T) {
	for _, sizes := range [][]int{{10}, {7}, {7, 3}, {}} {
		name := fakeArchive(t, sizes...)
		if deps, err := readDepsMember(name); err != nil || deps != nil {
			t.Fatalf("%v: before appending: %v, %v", sizes, deps, err)
		}
		want := &linkDeps{Imports: []string{rewrite.RuntimePath}, Archives: map[string]string{rewrite.RuntimePath: "/c/rt-d", "context": "/c/ctx-d"}, Flags: []string{"-race"}, Profile: true}
		if err := appendDepsMember(name, want); err != nil {
			t.Fatal(err)
		}
		deps, err := readDepsMember(name)
		if err != nil || !reflect.DeepEqual(deps, want) {
			t.Errorf("%v: readDepsMember = %+v, %v; want %+v", sizes, deps, err, want)
		}
		data, _ := os.ReadFile(name)
		if len(data)%2 != 0 {
			t.Errorf("%v: archive has odd length %d", sizes, len(data))
		}
	}
}

func TestDepsMemberNotArchive(t *testing.T) {
	name := filepath.Join(t.TempDir(), "x.o")
	os.WriteFile(name, []byte("\x7fELF not an archive"), 0o644)
	if deps, err := readDepsMember(name); err != nil || deps != nil {
		t.Errorf("readDepsMember(non-archive) = %v, %v", deps, err)
	}
	if err := appendDepsMember(name, &linkDeps{}); err == nil {
		t.Error("appendDepsMember(non-archive) succeeded")
	}
	if _, err := readDepsMember(name + ".missing"); err == nil {
		t.Error("readDepsMember(missing) succeeded")
	}
}

// objectArchive writes an archive whose object member has the given
// fingerprint, laid out as the compiler writes it.
func objectArchive(t *testing.T, fingerprint string) string {
	t.Helper()
	obj := "go object linux amd64 go1.26.8\nbuild id \"x/y\"\n\n!\n\x00go120ld" + fingerprint + "\x00\x00\x00\x00rest"
	var b strings.Builder
	b.WriteString(arMagic)
	fmt.Fprintf(&b, "%-16s%-12d%-6d%-6d%-8o%-10d`\n", "__.PKGDEF", 0, 0, 0, 0o644, 4)
	b.WriteString("defs")
	fmt.Fprintf(&b, "%-16s%-12d%-6d%-6d%-8o%-10d`\n", "_go_.o", 0, 0, 0, 0o644, len(obj))
	b.WriteString(obj)
	name := filepath.Join(t.TempDir(), "_pkg_.a")
	if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestArchiveFingerprint(t *testing.T) {
	if got := archiveFingerprint(objectArchive(t, "ABCDEFGH")); string(got) != "ABCDEFGH" {
		t.Errorf("fingerprint = %q", got)
	}
	if got := archiveFingerprint(fakeArchive(t, 10)); got != nil {
		t.Errorf("archive without an object: fingerprint %q", got)
	}
	// Real archives: each package has one, and two packages differ.
	exp := mustExports(t)
	rt, ctx := archiveFingerprint(exp[rewrite.RuntimePath]), archiveFingerprint(exp["context"])
	if len(rt) != fingerprintSize || len(ctx) != fingerprintSize || string(rt) == string(ctx) {
		t.Errorf("fingerprints of the runtime and context: %x, %x", rt, ctx)
	}
	fps := fingerprints{}
	if fps.differ(exp[rewrite.RuntimePath], exp[rewrite.RuntimePath]) || !fps.differ(exp[rewrite.RuntimePath], exp["context"]) || fps.differ(exp[rewrite.RuntimePath], fakeArchive(t, 2)) {
		t.Error("fingerprints.differ is wrong")
	}
}
