package generate

import (
	"go/ast"
	"go/build"
	"go/build/constraint"
	"os"
	"slices"
	"strings"
)

func readFile(name string) ([]byte, error) { return os.ReadFile(name) }

// knownOS and knownArch are the GOOS and GOARCH values a file name can end
// with (go tool dist list).
var (
	knownOS = []string{"aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js",
		"linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos"}
	knownArch = []string{"386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le", "mipsle",
		"ppc64", "ppc64le", "riscv64", "s390x", "wasm"}
	unixOS = []string{"aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios",
		"linux", "netbsd", "openbsd", "solaris"}
)

// buildHow says why a file is left out of a build, and the command line
// that would include it ("" when no build does).
type buildHow struct{ why, run string }

// buildFor finds a build that includes the file named base, whose syntax
// up to the package clause is f, changing as little as it can of the
// current one: GOOS, GOARCH and -tags (tags are the -tags already given).
func buildFor(base string, f *ast.File, tags string) buildHow {
	expr, line := buildConstraint(f)
	nameOS, nameArch := fileNameOSArch(base)
	var why []string
	if line != "" {
		why = append(why, line)
	}
	if nameOS != "" || nameArch != "" {
		why = append(why, "its name, "+base)
	}
	given := strings.FieldsFunc(tags, func(r rune) bool { return r == ',' || r == ' ' })
	goos := tryValues(build.Default.GOOS, nameOS, expr, knownOS)
	goarch := tryValues(build.Default.GOARCH, nameArch, expr, knownArch)
	extra := extraTags(expr)
	for _, os := range goos {
		for _, arch := range goarch {
			for mask := 0; mask < 1<<len(extra); mask++ {
				var set []string
				for i, t := range extra {
					if mask&(1<<i) != 0 {
						set = append(set, t)
					}
				}
				if expr != nil && !expr.Eval(func(tag string) bool { return tagHolds(tag, os, arch, append(set, given...)) }) {
					continue
				}
				return buildHow{why: strings.Join(why, ", "), run: commandFor(os, arch, append(given, set...))}
			}
		}
	}
	return buildHow{why: strings.Join(why, ", ")}
}

// commandFor is the overmind instrument command line of a build for os,
// arch and tags.
func commandFor(os, arch string, tags []string) string {
	var b strings.Builder
	if os != build.Default.GOOS {
		b.WriteString("GOOS=" + os + " ")
	}
	if arch != build.Default.GOARCH {
		b.WriteString("GOARCH=" + arch + " ")
	}
	b.WriteString("overmind instrument")
	if len(tags) > 0 {
		b.WriteString(" -tags=" + strings.Join(tags, ","))
	}
	return b.String()
}

// buildConstraint is the file's build constraint and its text: its
// //go:build line, or else, as the go command reads a file without one,
// all its // +build lines, which must all hold.
func buildConstraint(f *ast.File) (constraint.Expr, string) {
	var plus constraint.Expr
	var plusLines []string
	for _, g := range f.Comments {
		if g.Pos() > f.Package {
			break
		}
		for _, c := range g.List {
			expr, err := constraint.Parse(c.Text)
			switch {
			case err != nil:
			case constraint.IsGoBuild(c.Text):
				return expr, c.Text
			case plus == nil:
				plus, plusLines = expr, []string{c.Text}
			default:
				plus, plusLines = &constraint.AndExpr{X: plus, Y: expr}, append(plusLines, c.Text)
			}
		}
	}
	return plus, strings.Join(plusLines, ", ")
}

// fileNameOSArch is the GOOS and GOARCH a file name restricts it to, as
// in name_GOOS_GOARCH.go, name_GOOS.go or name_GOARCH.go.
func fileNameOSArch(base string) (goos, goarch string) {
	name := strings.TrimSuffix(strings.TrimSuffix(base, ".go"), "_test")
	parts := strings.Split(name, "_")
	if len(parts) < 2 {
		return "", ""
	}
	last := parts[len(parts)-1]
	if len(parts) >= 3 && slices.Contains(knownOS, parts[len(parts)-2]) && slices.Contains(knownArch, last) {
		return parts[len(parts)-2], last
	}
	switch {
	case slices.Contains(knownOS, last):
		return last, ""
	case slices.Contains(knownArch, last):
		return "", last
	}
	return "", ""
}

// tryValues lists the values to try for GOOS or GOARCH: the one the file
// name requires, else the current one and then those the constraint names.
func tryValues(current, fromName string, expr constraint.Expr, known []string) []string {
	if fromName != "" {
		return []string{fromName}
	}
	out := []string{current}
	for _, tag := range exprTags(expr) {
		if slices.Contains(known, tag) && !slices.Contains(out, tag) {
			out = append(out, tag)
		}
	}
	return out
}

// extraTags are the tags a constraint names that -tags could set: not an
// operating system, an architecture, a release or a toolchain tag, and at
// most a few (their combinations are tried).
func extraTags(expr constraint.Expr) []string {
	var out []string
	for _, tag := range exprTags(expr) {
		switch {
		case slices.Contains(knownOS, tag), slices.Contains(knownArch, tag), strings.HasPrefix(tag, "go1."),
			tag == "unix", tag == "cgo", tag == "gc", tag == "gccgo", tag == "ignore", slices.Contains(out, tag):
			continue
		}
		out = append(out, tag)
	}
	if len(out) > 6 {
		out = out[:6]
	}
	return out
}

// exprTags lists the tags of a constraint in the order written.
func exprTags(expr constraint.Expr) []string {
	var out []string
	var walk func(constraint.Expr)
	walk = func(e constraint.Expr) {
		switch e := e.(type) {
		case *constraint.TagExpr:
			out = append(out, e.Tag)
		case *constraint.NotExpr:
			walk(e.X)
		case *constraint.AndExpr:
			walk(e.X)
			walk(e.Y)
		case *constraint.OrExpr:
			walk(e.X)
			walk(e.Y)
		}
	}
	if expr != nil {
		walk(expr)
	}
	return out
}

// tagHolds reports whether a build tag is satisfied in a build for os and
// arch with the given -tags, as the go command decides it.
func tagHolds(tag, os, arch string, tags []string) bool {
	switch {
	case tag == os || tag == arch || slices.Contains(tags, tag):
		return true
	case tag == "unix":
		return slices.Contains(unixOS, os)
	case tag == "gc":
		return true
	case tag == "cgo":
		return build.Default.CgoEnabled
	case strings.HasPrefix(tag, "go1."):
		return slices.Contains(build.Default.ReleaseTags, tag)
	case os == "android" && tag == "linux", os == "illumos" && tag == "solaris", os == "ios" && tag == "darwin":
		return true
	}
	return false
}
