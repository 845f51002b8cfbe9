package toolexec

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ImportConfig is an importcfg file, as cmd/go writes it for the compiler
// ("importcfg") and the linker ("importcfg.link").
type ImportConfig struct {
	// PackageFile maps an import path to its compiled archive (the
	// "packagefile path=file" lines): export data for the compiler, the
	// object code for the linker.
	PackageFile map[string]string
	// ImportMap maps an import path as written in source to the real
	// package path (the "importmap old=new" lines, used for vendored
	// packages).
	ImportMap map[string]string

	raw []byte
}

// ReadImportConfig reads and parses an importcfg file.
func ReadImportConfig(name string) (*ImportConfig, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading importcfg: %w", err)
	}
	cfg, err := ParseImportConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return cfg, nil
}

// ParseImportConfig parses importcfg text. Lines it does not need
// (comments, packageshlib, modinfo) are kept verbatim for [ImportConfig.Bytes].
func ParseImportConfig(data []byte) (*ImportConfig, error) {
	cfg := &ImportConfig{
		PackageFile: map[string]string{},
		ImportMap:   map[string]string{},
		raw:         data,
	}
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		verb, args, _ := strings.Cut(line, " ")
		switch verb {
		case "packagefile", "importmap":
			before, after, ok := strings.Cut(args, "=")
			if !ok || before == "" || after == "" {
				return nil, fmt.Errorf("line %d: malformed %s line %q", n+1, verb, line)
			}
			if verb == "packagefile" {
				cfg.PackageFile[before] = after
			} else {
				cfg.ImportMap[before] = after
			}
		}
	}
	return cfg, nil
}

// Resolve maps an import path as written in source to the package path
// the build uses for it.
func (c *ImportConfig) Resolve(path string) string {
	if to, ok := c.ImportMap[path]; ok {
		return to
	}
	return path
}

// Missing returns the import paths, resolved and sorted, that have no
// packagefile line.
func (c *ImportConfig) Missing(paths []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range paths {
		p = c.Resolve(p)
		if p == "unsafe" || p == "C" || seen[p] {
			continue
		}
		seen[p] = true
		if _, ok := c.PackageFile[p]; !ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Bytes is the file's text with the packagefile lines added by
// [ImportConfig.Add] appended.
func (c *ImportConfig) Bytes() []byte {
	return c.raw
}

// Add records archive as the packagefile of path unless path already has
// one. It reports whether it added a line.
func (c *ImportConfig) Add(path, archive string) bool {
	if _, ok := c.PackageFile[path]; ok {
		return false
	}
	c.PackageFile[path] = archive
	var b bytes.Buffer
	b.Write(c.raw)
	if len(c.raw) > 0 && c.raw[len(c.raw)-1] != '\n' {
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "packagefile %s=%s\n", path, archive)
	c.raw = b.Bytes()
	return true
}

// writeFileAtomic writes data to name through a temporary file in the same
// directory, so that no reader ever sees a partial file.
func writeFileAtomic(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), name)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return werr
	}
	return nil
}
