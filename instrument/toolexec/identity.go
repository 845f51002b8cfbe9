package toolexec

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

// runtimeIdentity names the runtime that instrumented code in the module
// around dir compiles against. It goes into the compiler's -V=full answer,
// because cmd/go cannot see that an instrumented package depends on the
// runtime: without it, upgrading the runtime module (or editing a local
// copy of it) would leave instrumented packages cached against the old
// runtime, and the link would fail on a fingerprint mismatch.
//
// It is computed from files only, cheaply, on every build: the version (or
// replacement) of the runtime module the main module's go.mod (or go.work)
// selects, the versions it selects for the modules the runtime module
// requires, and for a runtime in a local directory, the names, sizes and
// times of its files.
func runtimeIdentity(dir string) string {
	h := sha256.New()
	if err := writeRuntimeIdentity(h, dir); err != nil {
		fmt.Fprintf(h, "error:%v", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

type writer interface{ Write([]byte) (int, error) }

// writeRuntimeIdentity writes to h what identifies the runtime that the
// module or workspace around dir selects (see runtimeIdentity).
func writeRuntimeIdentity(h writer, dir string) error {
	gowork := os.Getenv("GOWORK")
	if gowork == "" {
		gowork = findUp(dir, "go.work")
	}
	if gowork != "" && gowork != "off" {
		return writeWorkspaceIdentity(h, gowork)
	}
	gomod := findUp(dir, "go.mod")
	if gomod == "" {
		_, err := h.Write([]byte("no module"))
		return err
	}
	data, err := os.ReadFile(gomod)
	if err != nil {
		return err
	}
	mf, err := modfile.Parse(gomod, data, nil) // ParseLax would skip replace directives
	if err != nil {
		return err
	}
	if mf.Module != nil && mf.Module.Mod.Path == ModulePath {
		fmt.Fprintf(h, "main module\n")
		return writeDirIdentity(h, filepath.Dir(gomod))
	}
	return writeRequiredIdentity(h, mf, filepath.Dir(gomod))
}

// writeRequiredIdentity writes what identifies the runtime module that
// the main module's go.mod, mf, in modDir, requires: its version, its
// replacement (for a directory, the files), and the versions selected for
// its own requirements.
func writeRequiredIdentity(h writer, mf *modfile.File, modDir string) error {
	var version string
	for _, r := range mf.Require {
		if r.Mod.Path == ModulePath {
			version = r.Mod.Version
		}
	}
	if version == "" {
		_, err := h.Write([]byte("not required"))
		return err
	}
	fmt.Fprintf(h, "require %s\n", version)
	var runtimeMod []byte
	for _, r := range mf.Replace {
		if r.Old.Path != ModulePath || (r.Old.Version != "" && r.Old.Version != version) {
			continue
		}
		fmt.Fprintf(h, "replace %s %s\n", r.New.Path, r.New.Version)
		if r.New.Version != "" {
			runtimeMod = readCachedGoMod(r.New.Path, r.New.Version)
			continue
		}
		local := r.New.Path // a directory
		if !filepath.IsAbs(local) {
			local = filepath.Join(modDir, local)
		}
		if err := writeDirIdentity(h, local); err != nil {
			return err
		}
		runtimeMod, _ = os.ReadFile(filepath.Join(local, "go.mod"))
	}
	if runtimeMod == nil {
		runtimeMod = readCachedGoMod(ModulePath, version)
	}
	return writeDependencyVersions(h, mf, runtimeMod)
}

// commandOnlyModules are modules the runtime module requires for the
// overmind command, its server and its tests, which no package the
// runtime package imports comes from, on any platform (a test checks it).
// Their versions do not change the compiled runtime, so they stay out of
// its identity: a module set up with the command as a tool (go get -tool),
// which lists them, then shares the build cache with one that is not, and
// upgrading one of them does not recompile every package in toolexec mode.
// A module missing from this list only costs such a recompile.
var commandOnlyModules = map[string]bool{
	"github.com/aymanbagabas/go-udiff":          true,
	"github.com/dave/dst":                       true,
	"github.com/dustin/go-humanize":             true,
	"github.com/grpc-ecosystem/grpc-gateway/v2": true,
	"github.com/mattn/go-isatty":                true,
	"github.com/ncruces/go-strftime":            true,
	"github.com/remyoudompheng/bigfft":          true,
	"go.opentelemetry.io/proto/otlp":            true,
	"golang.org/x/mod":                          true,
	"golang.org/x/net":                          true,
	"golang.org/x/sync":                         true,
	"golang.org/x/text":                         true,
	"golang.org/x/tools":                        true,
	"google.golang.org/genproto/googleapis/api": true,
	"google.golang.org/genproto/googleapis/rpc": true,
	"google.golang.org/grpc":                    true,
	"modernc.org/libc":                          true,
	"modernc.org/mathutil":                      true,
	"modernc.org/memory":                        true,
	"modernc.org/sqlite":                        true,
}

// writeDependencyVersions records the versions the main module selects for
// the modules the runtime module requires, but for commandOnlyModules;
// with the runtime module's go.mod unknown, every requirement of the main
// module.
func writeDependencyVersions(h writer, main *modfile.File, runtimeMod []byte) error {
	needed := map[string]bool{}
	all := runtimeMod == nil
	if !all {
		rf, err := modfile.ParseLax("go.mod", runtimeMod, nil)
		if err != nil {
			all = true
		} else {
			for _, r := range rf.Require {
				needed[r.Mod.Path] = !commandOnlyModules[r.Mod.Path]
			}
		}
	}
	var lines []string
	for _, r := range main.Require {
		if all || needed[r.Mod.Path] {
			lines = append(lines, r.Mod.Path+"@"+r.Mod.Version)
		}
	}
	for _, r := range main.Replace {
		if all || needed[r.Old.Path] {
			lines = append(lines, "replace "+r.Old.String()+" => "+r.New.String())
		}
	}
	sort.Strings(lines)
	_, err := h.Write([]byte(strings.Join(lines, "\n")))
	return err
}

// writeWorkspaceIdentity records a go.work file, the go.mod of each module
// it uses, and the files of the runtime module if it is one of them.
func writeWorkspaceIdentity(h writer, gowork string) error {
	data, err := os.ReadFile(gowork)
	if err != nil {
		return err
	}
	h.Write(data)
	wf, err := modfile.ParseWork(gowork, data, nil)
	if err != nil {
		return err
	}
	for _, u := range wf.Use {
		dir := u.Path
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(filepath.Dir(gowork), dir)
		}
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err != nil {
			continue
		}
		h.Write(mod)
		if modfile.ModulePath(mod) == ModulePath {
			if err := writeDirIdentity(h, dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeDirIdentity records the go.mod and the runtime package's source
// files (names, sizes and modification times) of a runtime module in a
// local directory, so that editing it invalidates instrumented packages.
func writeDirIdentity(h writer, modDir string) error {
	if mod, err := os.ReadFile(filepath.Join(modDir, "go.mod")); err == nil {
		h.Write(mod)
	}
	root := filepath.Join(modDir, "runtime")
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return nil
			}
			return err
		}
		if d.IsDir() {
			if d.Name() == "testdata" || (path != root && strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		if strings.HasSuffix(name, "_test.go") {
			return nil
		}
		switch filepath.Ext(name) {
		case ".go", ".s", ".c", ".h", ".syso":
		default:
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		fmt.Fprintf(h, "%s %d %d\n", filepath.ToSlash(rel), info.Size(), info.ModTime().UnixNano())
		return nil
	})
}

// readCachedGoMod reads a module version's go.mod from the module
// download cache, or returns nil.
func readCachedGoMod(path, version string) []byte {
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil
			}
			gopath = filepath.Join(home, "go")
		}
		cache = filepath.Join(filepath.SplitList(gopath)[0], "pkg", "mod")
	}
	epath, err := module.EscapePath(path)
	if err != nil {
		return nil
	}
	ever, err := module.EscapeVersion(version)
	if err != nil {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(cache, "cache", "download", epath, "@v", ever+".mod"))
	if err != nil {
		return nil
	}
	return data
}

// findUp returns the path of the first file called name in dir or one of
// its parents, or "".
func findUp(dir, name string) string {
	for {
		p := filepath.Join(dir, name)
		if info, err := os.Stat(p); err == nil && !info.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
