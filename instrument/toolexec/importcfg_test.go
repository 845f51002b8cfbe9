package toolexec

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestImportConfig(t *testing.T) {
	text := "# import config\npackagefile fmt=/c/fmt.a\npackagefile example.com/dep=/w/b003/_pkg_.a\nimportmap golang.org/x/net/http2/hpack=vendor/golang.org/x/net/http2/hpack\npackagefile vendor/golang.org/x/net/http2/hpack=/c/hpack.a\nmodinfo \"x\"\n"
	cfg, err := ParseImportConfig([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.PackageFile["example.com/dep"]; got != "/w/b003/_pkg_.a" {
		t.Errorf("PackageFile[example.com/dep] = %q", got)
	}
	if got := cfg.Resolve("golang.org/x/net/http2/hpack"); got != "vendor/golang.org/x/net/http2/hpack" {
		t.Errorf("Resolve through importmap = %q", got)
	}
	missing := cfg.Missing([]string{"fmt", "unsafe", "golang.org/x/net/http2/hpack", "context", "github.com/x/y", "context"})
	if want := []string{"context", "github.com/x/y"}; !reflect.DeepEqual(missing, want) {
		t.Errorf("Missing = %q, want %q", missing, want)
	}
	if !cfg.Add("context", "/c/context.a") || cfg.Add("fmt", "/other/fmt.a") {
		t.Error("Add reported the wrong thing")
	}
	out := string(cfg.Bytes())
	if !strings.HasPrefix(out, text) || !strings.HasSuffix(out, "packagefile context=/c/context.a\n") || strings.Contains(out, "/other/fmt.a") {
		t.Errorf("Bytes() = %q", out)
	}
	again, err := ParseImportConfig(cfg.Bytes())
	if err != nil || again.PackageFile["context"] != "/c/context.a" || again.PackageFile["fmt"] != "/c/fmt.a" {
		t.Errorf("re-parsed config: %v, %v", again.PackageFile, err)
	}
}

func TestImportConfigErrors(t *testing.T) {
	if _, err := ParseImportConfig([]byte("packagefile fmt\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("malformed line: err = %v", err)
	}
	if _, err := ReadImportConfig(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("reading a missing file succeeded")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "f")
	for _, content := range []string{"one", "two"} {
		if err := writeFileAtomic(name, []byte(content)); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(name); string(got) != content {
			t.Errorf("file holds %q, want %q", got, content)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}
