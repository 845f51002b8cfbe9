package toolexec

import (
	"errors"
	"go/ast"
	"strings"

	"github.com/overmind-core/overmind-go/rewrite"
)

// Rewrite is the [Rewriter] of the overmind command: the rewrite package's
// instrumentation, the same as generate mode's, of each file that has a
// directive, printed with /*line*/ directives (see
// [rewrite.Result.FormatLines]) so that every statement of the user's keeps
// its file:line. Problems with directives come back all at once, as
// file:line:col diagnostics, like generate mode's.
func Rewrite(pkg *Package) (Instrumented, error) {
	var out Instrumented
	var errs []string
	for i, f := range pkg.Files {
		if !hasDirectiveComment(f.Comments) {
			continue
		}
		res, err := rewrite.File(rewrite.Input{Fset: pkg.Fset, File: f, Pkg: pkg.Types, Info: pkg.Info}, rewrite.Instrument)
		if err != nil {
			return Instrumented{}, err
		}
		for _, d := range res.Diagnostics {
			if d.Severity == rewrite.Error {
				errs = append(errs, d.String())
			} else {
				out.Warnings = append(out.Warnings, d.String())
			}
		}
		if rewrite.HasErrors(res.Diagnostics) || !res.Changed {
			continue
		}
		src, err := res.FormatLines(pkg.Fset)
		if err != nil {
			return Instrumented{}, err
		}
		out.Files = append(out.Files, RewrittenFile{Index: i, Source: src})
	}
	if len(errs) > 0 {
		return Instrumented{Warnings: out.Warnings}, errors.New(strings.Join(errs, "\n"))
	}
	return out, nil
}

// hasDirectiveComment reports whether a comment is a directive, or looks
// like one written with a space after the slashes ("// overmind:tool"),
// which the rewrite warns is ignored, as generate mode does.
func hasDirectiveComment(groups []*ast.CommentGroup) bool {
	for _, g := range groups {
		for _, c := range g.List {
			if strings.HasPrefix(c.Text, rewrite.Prefix) {
				return true
			}
			if rest, ok := strings.CutPrefix(c.Text, "//"); ok && strings.HasPrefix(strings.TrimLeft(rest, " \t"), "overmind:") {
				return true
			}
		}
	}
	return false
}
