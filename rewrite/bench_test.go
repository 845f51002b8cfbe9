package rewrite_test

import (
	"os"
	"testing"

	"golang.org/x/tools/go/packages"

	"github.com/overmind-core/overmind-go/rewrite"
)

// benchPackages are the packages BenchmarkRewritePackage instruments: real
// code with every kind of function, and go statements (net/http's server,
// os/exec).
var benchPackages = []string{"net/http", "os/exec", "encoding/json", "go/types"}

// BenchmarkRewritePackage instruments every function with a body of a few
// standard library packages, loaded once with a directive above each: the
// rewrite and the printing of the files, without the loading. Compare
// builds of two versions on the same machine, interleaved:
//
//	go test ./rewrite -run '^$' -bench RewritePackage -count 5
func BenchmarkRewritePackage(b *testing.B) {
	pkgs := loadAnnotated(b)
	b.ReportAllocs()
	files := 0
	cpu := cpuSeconds()
	for b.Loop() {
		for _, p := range pkgs {
			res := rewrite.RewritePackage(p, rewrite.Options{Mode: rewrite.Instrument})
			if res.HasErrors() {
				b.Fatalf("%v", res.Diagnostics)
			}
			for _, f := range res.Files {
				if _, err := f.Result.Format(); err != nil {
					b.Fatal(err)
				}
				files++
			}
		}
	}
	b.ReportMetric(float64(files)/float64(b.N), "files/op")
	// On a busy machine the wall time per op says little; the CPU time the
	// process spent (the rewrite and its garbage collection) says more.
	b.ReportMetric((cpuSeconds()-cpu)*1000/float64(b.N), "cpu-ms/op")
}

// BenchmarkFormatLines is BenchmarkRewritePackage printing each file as
// toolexec mode compiles it, with the /*line*/ directives that keep every
// statement at its input line:
//
//	go test ./rewrite -run '^$' -bench FormatLines -count 5
func BenchmarkFormatLines(b *testing.B) {
	pkgs := loadAnnotated(b)
	b.ReportAllocs()
	cpu := cpuSeconds()
	for b.Loop() {
		for _, p := range pkgs {
			res := rewrite.RewritePackage(p, rewrite.Options{Mode: rewrite.Instrument})
			for _, f := range res.Files {
				if _, err := f.Result.FormatLines(p.Fset); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.ReportMetric((cpuSeconds()-cpu)*1000/float64(b.N), "cpu-ms/op")
}

// loadAnnotated loads benchPackages with a directive above every function
// with a body, through an overlay.
func loadAnnotated(b *testing.B) []*rewrite.Package {
	b.Helper()
	listed, err := packages.Load(&packages.Config{Mode: packages.NeedFiles}, benchPackages...)
	if err != nil {
		b.Fatal(err)
	}
	overlay := map[string][]byte{}
	for _, p := range listed {
		for _, name := range p.GoFiles {
			src, err := os.ReadFile(name)
			if err != nil {
				b.Fatal(err)
			}
			if a := annotate(src); a != nil {
				overlay[name] = a
			}
		}
	}
	loaded, err := packages.Load(&packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles | packages.NeedImports |
			packages.NeedTypes | packages.NeedTypesInfo | packages.NeedSyntax,
		Overlay: overlay,
	}, benchPackages...)
	if err != nil {
		b.Fatal(err)
	}
	var out []*rewrite.Package
	for _, p := range loaded {
		if len(p.Errors) > 0 {
			b.Fatalf("%s: %v", p.PkgPath, p.Errors)
		}
		out = append(out, &rewrite.Package{Fset: p.Fset, Files: p.Syntax, Filenames: p.CompiledGoFiles, Types: p.Types, Info: p.TypesInfo})
	}
	return out
}
