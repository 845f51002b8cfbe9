package toolexec

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/overmind-core/overmind-go/rewrite"
)

// Files in $WORK/overmind, shared by the compiles and links of one build.
const (
	resolveLockFile = "resolve.lock" // held while resolving
	resolvingMarker = "resolving"    // exists while resolving
)

// exportCache is what the build resolved so far with one set of flags:
// for each package asked for, its transitive dependencies, and the archive
// of every package seen; and the packages that failed to resolve, with the
// error.
type exportCache struct {
	Deps   map[string][]string `json:"deps"`
	Export map[string]string   `json:"export"`
	Failed map[string]string   `json:"failed,omitempty"`
}

// resolveWithGoList finds the archives (export data and object code) of
// paths and of all their dependencies, as the running build compiles them:
// it runs "go list -deps -export" with the build's code-changing flags, in
// the build's directory, through the same -toolexec, so that what it
// compiles lands in the build cache under the keys the build itself uses.
// Results are kept in the build's work directory, under a lock, since
// compiles run in parallel: each package is resolved once per build and
// set of flags. They are also kept across builds (see persistKey), so that
// a build that recompiles only a few packages does not run go list at all.
func (d *driver) resolveWithGoList(ctx context.Context, inv *Invocation, paths []string) (map[string]string, error) {
	work := inv.workDir()
	if work == "" {
		return nil, errors.New("cannot locate the build's work directory (no -importcfg)")
	}
	parent := d.parent()
	if pkg := versionedPackage(parent.Args); pkg != "" {
		return nil, versionedPackageError(parent, pkg, paths)
	}
	flags := d.resolveFlags(inv)
	dir := filepath.Join(work, rewrittenDir)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	unlock, err := lockFile(filepath.Join(dir, resolveLockFile), true)
	if err != nil {
		return nil, fmt.Errorf("locking: %w", err)
	}
	defer unlock()

	cacheName := filepath.Join(dir, "exports-"+shortHash(fmt.Sprintf("%q", flags))+".json")
	cache, err := readExportCache(cacheName)
	if err != nil {
		return nil, err
	}
	todo, err := cache.todo(paths)
	if err != nil {
		return nil, err
	}
	if len(todo) > 0 {
		err := d.resolveMissing(ctx, inv, parent, flags, dir, cache, todo)
		if werr := cache.write(cacheName); werr != nil && err == nil {
			err = werr
		}
		if err != nil {
			return nil, err
		}
	}
	return cache.archives(paths)
}

// resolveFlags are the flags the export data of packages that inv's
// instrumentation adds is resolved with (see goListFlags).
func (d *driver) resolveFlags(inv *Invocation) []string {
	return goListFlags(d.parent().Args, os.Getenv("GOFLAGS"), toolBuildFlags(inv))
}

// versionedPackageError explains why the packages in paths cannot be added
// to "go install pkg@version" or "go run pkg@version".
func versionedPackageError(parent goInvocation, pkg string, paths []string) error {
	sub := parseGoCommandLine(parent.Args).Sub
	return fmt.Errorf("instrumented code imports %s, which toolexec mode cannot add to go %s %s: the go command builds that module apart from the current directory's, and does not say which version of %s it requires. Run go %s in a checkout of the module instead (overmind go %s ./path/to/cmd)", strings.Join(paths, ", "), sub, pkg, ModulePath, sub, sub)
}

// shortHash is a short hex hash of s, for file names.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// readExportCache reads the build's export cache file, or returns an empty
// cache if there is none yet.
func readExportCache(name string) (*exportCache, error) {
	cache := &exportCache{Deps: map[string][]string{}, Export: map[string]string{}, Failed: map[string]string{}}
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return cache, nil
	}
	if err == nil {
		err = json.Unmarshal(data, cache)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return cache, nil
}

// write saves the cache to name.
func (c *exportCache) write(name string) error {
	data, err := json.Marshal(c)
	if err == nil {
		err = writeFileAtomic(name, data)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

// todo returns the paths the cache has not resolved yet, or the error of
// one that failed to resolve.
func (c *exportCache) todo(paths []string) ([]string, error) {
	var todo []string
	for _, p := range paths {
		if msg, ok := c.Failed[p]; ok {
			return nil, errors.New(msg)
		}
		if _, ok := c.Deps[p]; !ok {
			todo = append(todo, p)
		}
	}
	return todo, nil
}

// archives returns the archive of each of paths and of their dependencies.
func (c *exportCache) archives(paths []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range paths {
		deps, ok := c.Deps[p]
		if !ok {
			return nil, fmt.Errorf("go list did not report %s", p)
		}
		for _, q := range append([]string{p}, deps...) {
			if a, ok := c.Export[q]; ok {
				out[q] = a
			}
		}
	}
	return out, nil
}

// resolveMissing resolves roots into cache: from the resolutions kept
// across builds where it can, else with go list.
func (d *driver) resolveMissing(ctx context.Context, inv *Invocation, parent goInvocation, flags []string, dir string, cache *exportCache, roots []string) error {
	key := d.persistKey(inv, parent, flags)
	var todo []string
	for _, root := range roots {
		if rec, ok := loadPersisted(key, root); ok {
			cache.Deps[root] = rec.Deps
			maps.Copy(cache.Export, rec.Export)
			logf("resolve %s: from the cache", root)
			continue
		}
		todo = append(todo, root)
	}
	if len(todo) == 0 {
		return nil
	}
	if err := d.listInto(ctx, inv, parent, flags, dir, cache, todo); err != nil {
		return err
	}
	for _, root := range todo {
		if rec, ok := cache.record(root); ok {
			storePersisted(key, root, rec)
		}
	}
	return nil
}

// listInto runs go list for roots and records what it reports in cache,
// or the failure. While it runs, a marker in dir tells the build's other
// compiles to wait (see waitForResolution).
func (d *driver) listInto(ctx context.Context, inv *Invocation, parent goInvocation, flags []string, dir string, cache *exportCache, roots []string) error {
	marker := filepath.Join(dir, resolvingMarker)
	if f, err := os.Create(marker); err == nil {
		f.Close()
	}
	logf("resolving %s", strings.Join(roots, ","))
	pkgs, err := d.goList(ctx, inv, parent, flags, roots)
	os.Remove(marker)
	if err != nil {
		for _, root := range roots {
			cache.Failed[root] = err.Error()
		}
		return err
	}
	for _, p := range pkgs {
		if p.Export != "" {
			cache.Export[p.ImportPath] = p.Export
		}
		if _, ok := cache.Deps[p.ImportPath]; !ok {
			cache.Deps[p.ImportPath] = p.Deps
		}
	}
	logf("resolve %s: %d package(s)", strings.Join(roots, ","), len(pkgs))
	return nil
}

// record is what is kept across builds of the resolution of root.
func (c *exportCache) record(root string) (persisted, bool) {
	deps, ok := c.Deps[root]
	if !ok {
		return persisted{}, false
	}
	rec := persisted{Deps: deps, Export: map[string]string{}}
	for _, q := range append([]string{root}, deps...) {
		if a, ok := c.Export[q]; ok {
			rec.Export[q] = a
		}
	}
	return rec, true
}

// waitForResolution blocks while another process of the build in work
// resolves export data (see resolveWithGoList). It costs one stat when
// nothing is being resolved.
func waitForResolution(work string) {
	dir := filepath.Join(work, rewrittenDir)
	if _, err := os.Stat(filepath.Join(dir, resolvingMarker)); err != nil {
		return
	}
	if unlock, err := lockFile(filepath.Join(dir, resolveLockFile), false); err == nil {
		unlock()
	}
}

// listedPackage is what the driver reads of "go list -json" output.
type listedPackage struct {
	ImportPath string
	Export     string
	Deps       []string
	Error      *struct{ Err string }
}

// goListFlags are the flags of the go list command that resolves export
// data: the build's code-changing flags, from the go command's arguments
// and, for those the tool's own arguments show (see toolBuildFlags), from
// there; and -mod=readonly where the build lets the go command edit
// go.mod, so that resolving never does (the build has brought go.mod up to
// date for itself before compiling).
func goListFlags(goArgs []string, goflags string, fromTool []string) []string {
	flags := mirroredBuildFlags(goArgs)
	for _, f := range fromTool {
		if !slices.ContainsFunc(flags, func(g string) bool { return flagName(g) == flagName(f) }) {
			flags = append(flags, f)
		}
	}
	mod := ""
	for _, f := range append(strings.Fields(goflags), flags...) {
		if name, value, ok := strings.Cut(strings.TrimLeft(f, "-"), "="); ok && name == "mod" {
			mod = value
		}
	}
	if mod == "mod" {
		flags = append(flags, "-mod=readonly")
	}
	return flags
}

// flagName is the name of a "-name" or "-name=value" flag.
func flagName(flag string) string {
	name, _, _ := strings.Cut(strings.TrimLeft(flag, "-"), "=")
	return name
}

// goListExport runs "go list -deps -export" for roots.
func (d *driver) goListExport(ctx context.Context, inv *Invocation, parent goInvocation, flags, roots []string) ([]listedPackage, error) {
	args := []string{"list", "-deps", "-export", "-json=ImportPath,Export,Deps,Error"}
	args = append(args, flags...)
	args = append(args, roots...)
	cmd := exec.CommandContext(ctx, goCommand(inv), args...)
	cmd.Dir = parent.Dir
	cmd.Env = append(withoutEnv(os.Environ(), "TOOLEXEC_IMPORTPATH"), childEnv+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, d.explainGoListFailure(roots, stderr.String()+listedErrors(stdout.Bytes()), err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(&stdout)
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading go list output: %w", err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("resolving %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// listedErrors are the errors go list reported in its JSON output, where
// it puts those of the packages it could list: a missing go.sum entry, for
// one, is there and not on its stderr.
func listedErrors(out []byte) string {
	var b strings.Builder
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if dec.Decode(&p) != nil {
			return b.String()
		}
		if p.Error != nil {
			fmt.Fprintf(&b, "%s: %s\n", p.ImportPath, p.Error.Err)
		}
	}
}

// explainGoListFailure turns a failed "go list" into an error that says
// what to do about it.
func (d *driver) explainGoListFailure(roots []string, stderr string, err error) error {
	what := strings.Join(roots, ", ")
	needsRuntime := false
	for _, r := range roots {
		if r == ModulePath || strings.HasPrefix(r, ModulePath+"/") {
			needsRuntime = true
		}
	}
	getLine := "go get " + ModulePath + "@" + d.goGetVersion()
	vendored := strings.Contains(stderr, "-mod=vendor") || strings.Contains(stderr, "vendor/modules.txt")
	switch {
	case needsRuntime && (strings.Contains(stderr, "no required module provides package") ||
		!vendored && strings.Contains(stderr, "cannot find module providing package")):
		return fmt.Errorf("instrumented code imports %s, but the main module does not require %s. Add it with:\n\t%s\nand import the runtime from your code (overmind.Init in main), so that go mod tidy keeps it", rewrite.RuntimePath, ModulePath, getLine)
	case needsRuntime && vendored:
		return fmt.Errorf("instrumented code imports %s, which is not vendored. Require it (%s), import it from your code (overmind.Init in main), and run go mod vendor", rewrite.RuntimePath, getLine)
	case strings.Contains(stderr, "go.mod file not found"):
		return fmt.Errorf("toolexec mode needs a Go module: %s", strings.TrimSpace(stderr))
	}
	return fmt.Errorf("resolving %s with go list: %v\n%s", what, err, strings.TrimSpace(stderr))
}

// goGetVersion is the version to put in a "go get" line: overmind's own,
// or latest for a development build.
func (d *driver) goGetVersion() string {
	if d.version == "" || d.version == "devel" {
		return "latest"
	}
	return d.version
}

// goCommand is the go command of the toolchain the tool belongs to.
func goCommand(inv *Invocation) string {
	root := inv.GOROOT()
	if root == "" {
		root = os.Getenv("GOROOT")
	}
	if root != "" {
		for _, name := range []string{"go", "go.exe"} {
			p := filepath.Join(root, "bin", name)
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	return "go"
}

// withoutEnv returns env without the variables named.
func withoutEnv(env []string, names ...string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			if name == n {
				drop = true
			}
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}
