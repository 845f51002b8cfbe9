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
	in := &rewrite.Package{
		Fset:              pkg.Fset,
		Files:             pkg.Files,
		Filenames:         pkg.Filenames,
		Types:             pkg.Types,
		Info:              pkg.Info,
		RuntimeDependency: os.Getenv(childEnv) != "",
	}
	res := rewrite.RewritePackage(in, rewrite.Options{Mode: rewrite.Instrument, Tests: true})
	out := Instrumented{Diagnostics: res.Diagnostics}
	for _, fr := range res.Files {
		src, err := fr.Result.FormatLines(pkg.Fset)
		if err != nil {
			return Instrumented{}, fmt.Errorf("%s: %w", pkg.Filenames[fr.Index], err)
		}
		out.Files = append(out.Files, RewrittenFile{Index: fr.Index, Source: src})
	}
	return out, nil
}
