package toolexec

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/overmind-core/overmind-go/rewrite"
)

// hostGOARCH is the architecture overmind runs on, the default target.
const hostGOARCH = runtime.GOARCH

// link handles one linker invocation. cmd/go's importcfg.link lists every
// package in the program as cmd/go sees it; when instrumented packages
// import the runtime and nothing else in the program does, the runtime
// and its dependencies are missing from it. The instrumented archives
// record the archives they were compiled against (see linkDeps); the link
// gets an importcfg with the missing ones added, after a check that those
// the program already has are the same packages, which the linker would
// otherwise reject with a fingerprint mismatch.
func (d *driver) link(ctx context.Context, inv *Invocation) int {
	cfgPath, ok := inv.Flag("importcfg")
	if !ok || cfgPath == "" {
		return d.passThrough(ctx, inv)
	}
	cfg, err := ReadImportConfig(cfgPath)
	if err != nil {
		return d.fail("link", err)
	}
	var main []string // the main package's archive comes last
	if n := len(inv.Args); n > 0 {
		main = inv.Args[n-1:]
	}
	recs, err := linkRecords(cfg, main)
	if err != nil {
		return d.fail("link", err)
	}
	if len(recs) == 0 {
		return d.passThrough(ctx, inv)
	}
	added, err := d.addRecorded(ctx, inv, cfg, recs)
	if err != nil {
		return d.fail("link", err)
	}
	if len(added) == 0 {
		return d.passThrough(ctx, inv)
	}
	newCfg := filepath.Join(filepath.Dir(cfgPath), rewrittenDir+"-"+filepath.Base(cfgPath))
	if err := writeFileAtomic(newCfg, cfg.Bytes()); err != nil {
		return d.fail("link", fmt.Errorf("writing importcfg: %w", err))
	}
	args, err := inv.WithFlag("importcfg", newCfg)
	if err == nil {
		args, err = inv.argsForTool(args, filepath.Join(filepath.Dir(cfgPath), rewrittenDir+"-link-args"))
	}
	if err != nil {
		return d.fail("link", err)
	}
	logf("link %s added %d package(s) for %s", inv.Args[len(inv.Args)-1], len(added), strings.Join(recordedImports(recs), ","))
	return d.passThrough(ctx, &Invocation{Path: inv.Path, Args: args})
}

// recorded is what one instrumented package of the program recorded for
// the link.
type recorded struct {
	pkg  string // its path in the link's importcfg, or its archive
	deps *linkDeps
}

// linkRecords collects what the instrumented packages among the archives in
// cfg and in the link's positional arguments recorded, in a stable order.
func linkRecords(cfg *ImportConfig, positional []string) ([]recorded, error) {
	var recs []recorded
	scan := func(pkg, archive string) error {
		deps, err := readDepsMember(archive)
		if err != nil {
			return fmt.Errorf("reading %s: %w", archive, err)
		}
		if deps != nil {
			recs = append(recs, recorded{pkg, deps})
		}
		return nil
	}
	paths := make([]string, 0, len(cfg.PackageFile))
	for p := range cfg.PackageFile {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := scan(p, cfg.PackageFile[p]); err != nil {
			return nil, err
		}
	}
	for _, a := range positional {
		if strings.HasSuffix(a, ".a") || strings.HasSuffix(a, ".o") {
			if err := scan(importPath("main"), a); err != nil {
				return nil, err
			}
		}
	}
	return recs, nil
}

// recordedImports are the packages the instrumentation imports, for the log.
func recordedImports(recs []recorded) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range recs {
		for _, p := range r.deps.Imports {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// addRecorded adds to cfg the recorded packages it lacks, and returns
// their paths. It fails, naming the cause, where the program already has
// a different build of a package that recorded code was compiled against:
// the linker would reject the program.
func (d *driver) addRecorded(ctx context.Context, inv *Invocation, cfg *ImportConfig, recs []recorded) ([]string, error) {
	fps := fingerprints{}
	// The packages the instrumentation imports: the instrumented code was
	// compiled against the recorded ones.
	for _, r := range recs {
		for _, p := range r.deps.Imports {
			if have, ok := cfg.PackageFile[p]; ok && fps.differ(have, r.deps.Archives[p]) {
				return nil, mismatchError(r, p, have)
			}
		}
	}
	want, err := missingRecorded(cfg, recs, fps)
	if err != nil || len(want) == 0 {
		return nil, err
	}
	// The recorded packages added were compiled against the recorded
	// builds of their dependencies, which the program may already have.
	for _, r := range recs {
		for p, a := range r.deps.Archives {
			if have, ok := cfg.PackageFile[p]; ok && fps.differ(have, a) {
				return nil, mismatchError(r, p, have)
			}
		}
	}
	if err := d.replaceTrimmed(ctx, inv, want); err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(want))
	for p := range want {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		cfg.Add(p, want[p])
	}
	return paths, nil
}

// missingRecorded returns the recorded packages cfg lacks, with their
// archives. Two instrumented packages compiled against different builds
// of one package cannot be linked together.
func missingRecorded(cfg *ImportConfig, recs []recorded, fps fingerprints) (map[string]string, error) {
	want := map[string]string{}
	owner := map[string]recorded{}
	for _, r := range recs {
		for p, a := range r.deps.Archives {
			if _, ok := cfg.PackageFile[p]; ok {
				continue
			}
			if prev, ok := want[p]; ok {
				if fps.differ(prev, a) {
					return nil, fmt.Errorf("%s and %s were compiled against different builds of %s (%s and %s), which cannot be linked together; rebuild with -a", owner[p].pkg, r.pkg, p, prev, a)
				}
				continue
			}
			want[p], owner[p] = a, r
		}
	}
	return want, nil
}

// replaceTrimmed resolves again the packages of want whose recorded
// archive is gone (cmd/go trims archives unused for days from its cache,
// and nothing else of the build uses these), and marks the others as used.
func (d *driver) replaceTrimmed(ctx context.Context, inv *Invocation, want map[string]string) error {
	var gone []string
	for p, a := range want {
		if !touchArchive(a) {
			gone = append(gone, p)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	sort.Strings(gone)
	archives, err := d.resolve(ctx, inv, gone)
	if err != nil {
		return err
	}
	for _, p := range gone {
		a, ok := archives[p]
		if !ok {
			return fmt.Errorf("no export data found for %s", p)
		}
		want[p] = a
	}
	return nil
}

// archiveUsedInterval is how stale an archive's modification time may be
// before touchArchive refreshes it; cmd/go's cache uses the same hour.
const archiveUsedInterval = time.Hour

// touchArchive reports whether the archive at name exists, and marks it
// as used, as cmd/go marks the cache entries it uses, so that trimming
// the cache keeps it.
func touchArchive(name string) bool {
	info, err := os.Stat(name)
	if err != nil {
		return false
	}
	if now := time.Now(); now.Sub(info.ModTime()) > archiveUsedInterval {
		os.Chtimes(name, now, now)
	}
	return true
}

// mismatchError explains why the program cannot link: r's package was
// compiled against the recorded build of pkg, and the program has another
// one, have.
func mismatchError(r recorded, pkg, have string) error {
	var cause string
	if r.deps.Profile {
		cause = fmt.Sprintf("%s was compiled with a PGO profile (-pgo=auto finds a default.pgo), which the go command applies to its own build of %s as well, but which overmind cannot see to apply to the one it resolves: give the profile with -pgo=path/to/default.pgo", r.pkg, pkg)
	} else {
		flags := "no flags"
		if len(r.deps.Flags) > 0 {
			flags = strings.Join(r.deps.Flags, " ")
		}
		cause = fmt.Sprintf("the go command builds it with code-changing flags that overmind could not see (it resolved it with %s). Where overmind cannot read the go command's arguments (systems other than Linux), it sees only -race, -msan, -asan and -trimpath: run the build through overmind go, or put the other flags (-tags, -gcflags=all=..., ...) in GOFLAGS", flags)
	}
	return fmt.Errorf("%s was instrumented against a build of %s (%s) other than the one this program links (%s), so the linker would reject it with a fingerprint mismatch. Cause: %s. Importing %s in %s also avoids this", r.pkg, pkg, r.deps.Archives[pkg], have, cause, rewrite.RuntimePath, r.pkg)
}

// fingerprints caches the fingerprints of archives.
type fingerprints map[string][]byte

// differ reports whether the archives a and b are different builds of a
// package: their fingerprints differ. Archives it cannot read are taken to
// be the same, leaving the decision to the linker.
func (f fingerprints) differ(a, b string) bool {
	if a == b || a == "" || b == "" {
		return false
	}
	fa, fb := f.get(a), f.get(b)
	return fa != nil && fb != nil && !bytes.Equal(fa, fb)
}

func (f fingerprints) get(name string) []byte {
	fp, ok := f[name]
	if !ok {
		fp = archiveFingerprint(name)
		f[name] = fp
	}
	return fp
}
