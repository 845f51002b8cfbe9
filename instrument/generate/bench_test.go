package generate

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/go/packages"
)

// benchModule is the large real module the benchmarks instrument.
const benchModule = "golang.org/x/tools@v0.52.0"

// annotatedCopy copies benchModule out of the module cache and puts
// //overmind:function above every function with a body in its non-test,
// non-generated files. It returns the copy's root and the files annotated.
func annotatedCopy(b *testing.B) (string, int) {
	b.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		b.Skipf("go env GOMODCACHE: %v", err)
	}
	src := filepath.Join(strings.TrimSpace(string(out)), filepath.FromSlash(benchModule))
	if _, err := os.Stat(src); err != nil {
		b.Skipf("%s is not in the module cache (go mod download %s): %v", benchModule, benchModule, err)
	}
	dst := filepath.Join(b.TempDir(), "tools")
	annotated := 0
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") && !strings.Contains(rel, "testdata") {
			if a, ok := annotateAll(data); ok {
				data = a
				annotated++
			}
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		b.Fatal(err)
	}
	// The module's own dependencies, from the proxy or the cache.
	cmd := exec.Command("go", "mod", "download")
	cmd.Dir = dst
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Skipf("cannot download the dependencies of %s: %v\n%s", benchModule, err, out)
	}
	return dst, annotated
}

// annotateAll inserts a directive above every function with a body.
func annotateAll(src []byte) ([]byte, bool) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil || ast.IsGenerated(f) {
		return nil, false
	}
	var offsets []int
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
			p := fset.Position(fd.Pos())
			offsets = append(offsets, p.Offset-p.Column+1)
		}
	}
	if len(offsets) == 0 {
		return nil, false
	}
	var buf bytes.Buffer
	last := 0
	for _, off := range offsets {
		buf.Write(src[last:off])
		buf.WriteString("//overmind:function\n")
		last = off
	}
	buf.Write(src[last:])
	return buf.Bytes(), true
}

// BenchmarkInstrumentXTools instruments every function of x/tools: type
// loading, rewriting and formatting, writing nothing. Compare with
// BenchmarkLoadXTools, the type loading alone.
//
//	go test ./instrument -run '^$' -bench XTools -benchtime 3x
func BenchmarkInstrumentXTools(b *testing.B) {
	dir, annotated := annotatedCopy(b)
	defer debug.SetGCPercent(debug.SetGCPercent(GCPercent)) // as the command runs
	opts := Options{Dir: dir, Patterns: []string{"./..."}}
	// Warm the build cache: the first load compiles export data.
	if _, err := Run(opts); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var files int
	start, cpu := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		res, err := Run(opts)
		if err != nil {
			b.Fatal(err)
		}
		if res.HasErrors() {
			b.Fatalf("errors: %v", res.Diagnostics[:min(5, len(res.Diagnostics))])
		}
		files = res.Files
		if len(res.Changes) < annotated/2 {
			b.Fatalf("only %d of %d annotated files changed", len(res.Changes), annotated)
		}
	}
	report(b, files, time.Since(start), cpuTime()-cpu)
}

// report records throughput in wall-clock time, and the CPU time per file
// (this process and the go commands it ran), which is steadier on a busy
// machine.
func report(b *testing.B, files int, wall, cpu time.Duration) {
	b.ReportMetric(float64(files*b.N)/wall.Seconds(), "files/s")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(files*b.N), "cpu-ms/file")
	b.ReportMetric(float64(files), "files")
}

// BenchmarkLoadXTools is the baseline of BenchmarkInstrumentXTools: the same
// go/packages loads (listing, then syntax and types), without rewriting.
func BenchmarkLoadXTools(b *testing.B) {
	dir, _ := annotatedCopy(b)
	defer debug.SetGCPercent(debug.SetGCPercent(GCPercent))
	opts := Options{Dir: dir, Patterns: []string{"./..."}}
	if _, err := Run(opts); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var files int
	start, cpu := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		cands, _, err := findCandidates(opts)
		if err != nil {
			b.Fatal(err)
		}
		pkgs, _, err := loadFull(opts, cands.patterns)
		if err != nil {
			b.Fatal(err)
		}
		files = 0
		packages.Visit(pkgs, nil, func(p *packages.Package) {
			for _, f := range p.Syntax {
				if src := cands.files[p.Fset.File(f.FileStart).Name()]; src != nil && src.relevant {
					files++
				}
			}
		})
	}
	report(b, files, time.Since(start), cpuTime()-cpu)
}
