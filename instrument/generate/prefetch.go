package generate

import (
	"bytes"
	"go/build"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/tools/go/packages"

	"github.com/overmind-core/overmind-go/rewrite"
)

// prefetch asks the go command for export data while the packages are
// still being listed: that of the packages imported by the directories
// that hold directives, read from the files themselves. The two go
// commands, each waiting on the file system much of the time, then run
// side by side rather than one after the other. Whatever it misses (a
// test variant, a package of the module without directives) the checker
// asks for as before; what it finds is the same export data, for the same
// build.
type prefetch struct {
	done chan struct{}
	// exports are the export data files found, by package path.
	exports map[string]string
}

// startPrefetch starts the prefetch, for package patterns that are
// directories of a module outside any workspace; it returns nil
// otherwise.
func startPrefetch(opts Options) *prefetch {
	dirs, ok := patternDirs(opts)
	if !ok {
		return nil
	}
	modPath, ok := mainModulePath(goDir(opts), getenv(opts, "GOWORK"))
	if !ok {
		return nil
	}
	p := &prefetch{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		paths := importsOfAnnotatedDirs(dirs, opts, modPath)
		if len(paths) == 0 {
			return
		}
		cfg := config(opts, packages.NeedName|packages.NeedExportFile)
		cfg.Tests = false
		pkgs, err := packages.Load(cfg, paths...)
		if err != nil {
			return
		}
		p.exports = map[string]string{}
		for _, pkg := range pkgs {
			if pkg.ExportFile != "" && len(pkg.Errors) == 0 {
				p.exports[pkg.ID] = pkg.ExportFile
			}
		}
	}()
	return p
}

// wait waits for the prefetch and returns what it found.
func (p *prefetch) wait() map[string]string {
	if p == nil {
		return nil
	}
	<-p.done
	return p.exports
}

// dirPattern is a directory a pattern names, and whether the pattern
// takes the directories below it too ("dir/...").
type dirPattern struct {
	dir       string
	recursive bool
}

// patternDirs returns the directories the patterns name, when each is a
// relative directory ("." or "./x", with or without "/...").
func patternDirs(opts Options) ([]dirPattern, bool) {
	var out []dirPattern
	for _, pat := range patterns(opts) {
		if pat != "." && pat != ".." && !strings.HasPrefix(pat, "./") && !strings.HasPrefix(pat, "../") {
			return nil, false
		}
		dir, recursive := strings.CutSuffix(pat, "/...")
		if strings.Contains(dir, "...") {
			return nil, false
		}
		out = append(out, dirPattern{filepath.Join(goDir(opts), filepath.FromSlash(dir)), recursive})
	}
	return out, true
}

// getenv is the value of an environment variable in the go command's
// environment.
func getenv(opts Options, key string) string {
	if opts.Env == nil {
		return os.Getenv(key)
	}
	value := ""
	for _, kv := range opts.Env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			value = v // the last one counts, as for exec.Cmd
		}
	}
	return value
}

// mainModulePath returns the path of the module dir belongs to, when it
// is in no workspace (gowork is $GOWORK).
func mainModulePath(dir, gowork string) (string, bool) {
	if gowork != "" && gowork != "off" {
		return "", false
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil && gowork != "off" {
			return "", false
		}
		if data, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			path := modfile.ModulePath(data)
			return path, path != ""
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

// importsOfAnnotatedDirs returns the import paths, outside the module
// modPath, of the Go files this build compiles in the directories under
// dirs that hold a file that may need a rewrite.
func importsOfAnnotatedDirs(dirs []dirPattern, opts Options, modPath string) []string {
	// The build the go command lists for; a difference would only make
	// the prefetch ask for more, or less, than the checker needs.
	ctxt := build.Default
	if opts.Tags != "" {
		ctxt.BuildTags = strings.Split(opts.Tags, ",")
	}
	if v := getenv(opts, "GOOS"); v != "" {
		ctxt.GOOS = v
	}
	if v := getenv(opts, "GOARCH"); v != "" {
		ctxt.GOARCH = v
	}
	if v := getenv(opts, "CGO_ENABLED"); v != "" {
		ctxt.CgoEnabled = v == "1"
	}
	seen := map[string]bool{}
	var out []string
	visit := func(dir string) {
		for _, path := range importsOfAnnotatedDir(&ctxt, dir, opts.Tests) {
			if !seen[path] && path != "C" && path != "unsafe" && path != modPath && !strings.HasPrefix(path, modPath+"/") {
				seen[path] = true
				out = append(out, path)
			}
		}
	}
	for _, d := range dirs {
		if !d.recursive {
			visit(d.dir)
			continue
		}
		filepath.WalkDir(d.dir, func(path string, e fs.DirEntry, err error) error {
			if err != nil || !e.IsDir() {
				return nil
			}
			name := e.Name()
			if path != d.dir && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if path != d.dir {
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			visit(path)
			return nil
		})
	}
	return out
}

// importsOfAnnotatedDir returns the imports of the Go files of dir that
// the build compiles, when one of them may need a rewrite.
func importsOfAnnotatedDir(ctxt *build.Context, dir string, tests bool) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var paths []string
	annotated := false
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || (!tests && strings.HasSuffix(name, "_test.go")) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		c := *ctxt
		c.OpenFile = func(string) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		if ok, err := c.MatchFile(dir, name); err != nil || !ok {
			continue
		}
		annotated = annotated || rewrite.MayNeedRewrite(data)
		f, err := parser.ParseFile(token.NewFileSet(), "", data, parser.ImportsOnly|parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		for _, imp := range f.Imports {
			if path, err := strconv.Unquote(imp.Path.Value); err == nil {
				paths = append(paths, path)
			}
		}
	}
	if !annotated {
		return nil
	}
	return paths
}
