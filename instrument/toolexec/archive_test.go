package toolexec

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
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
			t.Fatalf("%v: before appending: %q, %v", sizes, deps, err)
		}
		want := []string{RuntimePath, "context"}
		if err := appendDepsMember(name, want); err != nil {
			t.Fatal(err)
		}
		deps, err := readDepsMember(name)
		if err != nil || !reflect.DeepEqual(deps, want) {
			t.Errorf("%v: readDepsMember = %q, %v; want %q", sizes, deps, err, want)
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
		t.Errorf("readDepsMember(non-archive) = %q, %v", deps, err)
	}
	if err := appendDepsMember(name, []string{"x"}); err == nil {
		t.Error("appendDepsMember(non-archive) succeeded")
	}
	if _, err := readDepsMember(name + ".missing"); err == nil {
		t.Error("readDepsMember(missing) succeeded")
	}
}
