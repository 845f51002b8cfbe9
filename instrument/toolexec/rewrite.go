package toolexec

import (
	"fmt"
	"os"

	"github.com/overmind-core/overmind-go/rewrite"
)

// Rewrite is the [Rewriter] of the overmind command: the core both modes
// share ([rewrite.RewritePackage], with the same file policy and
// diagnostics as generate mode), test files included since a test build
// compiles them, each changed file printed with /*line*/ directives (see
// [rewrite.Result.FormatLines]) so that every statement of the user's
// keeps its file:line.
func Rewrite(pkg *Package) (Instrumented, error) {
	var all []int
	for i, f := range pkg.Files {
		if rewrite.LooksAt(f) {
			all = append(all, i)
		}
	}
	outcomes, err := rewriteFiles(pkg, all)
	if err != nil {
		return Instrumented{}, err
	}
	byIndex := make([]fileOutcome, len(pkg.Files))
	for k, i := range all {
		byIndex[i] = outcomes[k]
	}
	return merge(byIndex), nil
}

// rewriteFiles is what [Rewrite] makes of each of the files of pkg at the
// indexes given, each on its own: the rewrite of a file depends on the
// others only through the package's types.
func rewriteFiles(pkg *Package, indexes []int) ([]fileOutcome, error) {
	in := &rewrite.Package{
		Fset:              pkg.Fset,
		Files:             pkg.Files,
		Filenames:         pkg.Filenames,
		Types:             pkg.Types,
		Info:              pkg.Info,
		RuntimeDependency: os.Getenv(childEnv) != "",
	}
	out := make([]fileOutcome, len(indexes))
	for k, i := range indexes {
		res := rewrite.RewritePackage(in, rewrite.Options{Mode: rewrite.Instrument, Tests: true, Files: []int{i}})
		out[k].Diagnostics = res.Diagnostics
		for _, fr := range res.Files {
			src, err := fr.Result.FormatLines(pkg.Fset)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", pkg.Filenames[fr.Index], err)
			}
			out[k].Source = src
		}
	}
	return out, nil
}

// merge is the package's outcome from each file's, by index: every
// file's diagnostics, sorted, and the rewritten files unless one of them
// is an error.
func merge(outcomes []fileOutcome) Instrumented {
	var res Instrumented
	for i, o := range outcomes {
		res.Diagnostics = append(res.Diagnostics, o.Diagnostics...)
		if o.Source != nil {
			res.Files = append(res.Files, RewrittenFile{Index: i, Source: o.Source})
		}
	}
	res.Diagnostics = rewrite.SortDiagnostics(res.Diagnostics)
	if rewrite.HasErrors(res.Diagnostics) {
		res.Files = nil
	}
	return res
}
