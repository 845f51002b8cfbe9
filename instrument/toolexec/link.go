package toolexec

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// hostGOARCH is the architecture overmind runs on, the default target.
const hostGOARCH = runtime.GOARCH

// link handles one linker invocation. cmd/go's importcfg.link lists every
// package in the program as cmd/go sees it; when instrumented packages
// import the runtime and nothing else in the program does, the runtime
// and its dependencies are missing from it. The instrumented archives name
// what they added (see appendDepsMember); the link gets an importcfg with
// those packages and all their dependencies added.
func (d *driver) link(ctx context.Context, inv *Invocation) int {
	cfgPath, ok := inv.Flag("importcfg")
	if !ok || cfgPath == "" {
		return d.passThrough(ctx, inv)
	}
	cfg, err := ReadImportConfig(cfgPath)
	if err != nil {
		fmt.Fprintf(d.stderr, "overmind: link: %v\n", err)
		return 2
	}
	var main []string // the main package's archive comes last
	if n := len(inv.Args); n > 0 {
		main = inv.Args[n-1:]
	}
	needed, err := linkDependencies(cfg, main)
	if err != nil {
		fmt.Fprintf(d.stderr, "overmind: link: %v\n", err)
		return 2
	}
	missing := cfg.Missing(needed)
	if len(missing) == 0 {
		return d.passThrough(ctx, inv)
	}
	archives, err := d.resolve(ctx, inv, missing)
	if err != nil {
		fmt.Fprintf(d.stderr, "overmind: link: %v\n", err)
		return 2
	}
	paths := make([]string, 0, len(archives))
	for p := range archives {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	added := 0
	for _, p := range paths {
		if archives[p] != "" && cfg.Add(p, archives[p]) {
			added++
		}
	}
	newCfg := filepath.Join(filepath.Dir(cfgPath), rewrittenDir+"-"+filepath.Base(cfgPath))
	if err := writeFileAtomic(newCfg, cfg.Bytes()); err != nil {
		fmt.Fprintf(d.stderr, "overmind: link: writing importcfg: %v\n", err)
		return 2
	}
	args, err := inv.WithFlag("importcfg", newCfg)
	if err == nil {
		args, err = inv.argsForTool(args, filepath.Join(filepath.Dir(cfgPath), rewrittenDir+"-link-args"))
	}
	if err != nil {
		fmt.Fprintf(d.stderr, "overmind: link: %v\n", err)
		return 2
	}
	logf("link %s added %d package(s) for %s", inv.Args[len(inv.Args)-1], added, strings.Join(missing, ","))
	return d.passThrough(ctx, &Invocation{Path: inv.Path, Args: args})
}

// linkDependencies collects the packages that instrumentation added to the
// archives in cfg and in the link's positional arguments.
func linkDependencies(cfg *ImportConfig, positional []string) ([]string, error) {
	seen := map[string]bool{}
	var needed []string
	scan := func(archive string) error {
		if seen[archive] {
			return nil
		}
		seen[archive] = true
		deps, err := readDepsMember(archive)
		if err != nil {
			return fmt.Errorf("reading %s: %w", archive, err)
		}
		needed = append(needed, deps...)
		return nil
	}
	for _, archive := range cfg.PackageFile {
		if err := scan(archive); err != nil {
			return nil, err
		}
	}
	for _, a := range positional {
		if strings.HasSuffix(a, ".a") || strings.HasSuffix(a, ".o") {
			if err := scan(a); err != nil {
				return nil, err
			}
		}
	}
	return needed, nil
}
