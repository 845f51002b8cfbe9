// Package instrument holds the two drivers of the overmind code generator,
// siblings over one core:
//
//   - [github.com/overmind-core/overmind-go/instrument/generate] rewrites
//     source files in place (overmind instrument, usually from a
//     //go:generate line);
//   - [github.com/overmind-core/overmind-go/instrument/toolexec] rewrites a
//     copy of each annotated package while the compiler runs (go build
//     -toolexec="overmind toolexec", or overmind go build).
//
// Every decision about a package (which files are looked at, the
// generated-file and _test.go policy, the directive scan, the diagnostics
// and the rewrite itself) is made by the core,
// [github.com/overmind-core/overmind-go/rewrite.RewritePackage]. A driver
// only loads the package (go/packages for one, the compile's own files and
// export data for the other), calls the core, prints each changed file
// (gofmt'd, or with /*line*/ directives that keep every statement at its
// original file:line) and writes it (in place, or into the build's work
// directory). This package itself holds no code.
package instrument
