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
	"sync"
	"testing"
	"time"

	"github.com/overmind-core/overmind-go/internal/gentest"
)

// benchModule is the large real module the benchmarks instrument.
const benchModule = "golang.org/x/tools@v0.52.0"

// annotatedCopy copies benchModule out of the module cache and puts
// //overmind:function above every function with a body in its non-test,
// non-generated files. It returns the copy's root, its Go files outside
// tests and testdata (the tree both generators are given), and how many of
// them were annotated.
func annotatedCopy(b *testing.B) (string, []string, int) {
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
	var tree []string
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
			tree = append(tree, target)
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
	return dst, tree, annotated
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

// BenchmarkInstrumentXTools instruments every function of x/tools: listing,
// type-checking, rewriting and formatting, writing nothing, as
// overmind instrument -l ./... does. Compare with BenchmarkLoadXTools, the
// listing and type-checking alone.
//
// files/s counts the tree's Go files (outside tests and testdata) per
// second of wall-clock time; cpu-ms/file is the CPU time per file of this
// process and the go commands it runs, which is steadier on a busy
// machine; files is how many files hold directives and were rewritten;
// peak-MiB is the most memory the test process held at once (its maximum
// resident set size, the warm-up run and the copying of the tree
// included), which is what overmind instrument ./... needs on this tree.
//
// With GO_INSTRUMENT naming a go-instrument binary
// (github.com/nikolaydubina/go-instrument, which instruments one file per
// run from its syntax alone), each iteration also runs it over the same
// files, one process per file as its README does, in turns with overmind.
// ratio is then overmind's files/s over go-instrument's, cpu-ratio
// go-instrument's CPU time over overmind's: above 1, overmind is faster.
//
//	go mod download golang.org/x/tools@v0.52.0
//	go test ./instrument/generate -run '^$' -bench XTools -benchtime 3x
func BenchmarkInstrumentXTools(b *testing.B) {
	dir, tree, annotated := annotatedCopy(b)
	defer debug.SetGCPercent(debug.SetGCPercent(GCPercent)) // as the command runs
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(MemoryLimit))
	peer := os.Getenv("GO_INSTRUMENT")
	opts := Options{Dir: dir, Patterns: []string{"./..."}}
	// Warm the build cache: the first run compiles export data.
	if _, err := Run(opts); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var files int
	var ours, theirs gentest.Timing
	for i := 0; i < b.N; i++ {
		gentest.InTurns(i, func() {
			start, cpu := time.Now(), cpuTime()
			res, err := Run(opts)
			ours.Add(gentest.Timing{Wall: time.Since(start), CPU: cpuTime() - cpu})
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
		}, func() {
			if peer != "" {
				theirs.Add(goInstrument(b, peer, tree))
			}
		})
	}
	n := float64(len(tree) * b.N)
	b.ReportMetric(n/ours.Wall.Seconds(), "files/s")
	b.ReportMetric(float64(ours.CPU.Microseconds())/1000/n, "cpu-ms/file")
	b.ReportMetric(float64(files), "files")
	if rss := peakRSS(); rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "peak-MiB")
	}
	if peer != "" {
		b.ReportMetric(n/theirs.Wall.Seconds(), "go-instrument-files/s")
		b.ReportMetric(theirs.Wall.Seconds()/ours.Wall.Seconds(), "ratio")
		b.ReportMetric(theirs.CPU.Seconds()/ours.CPU.Seconds(), "cpu-ratio")
	}
}

// goInstrument runs the go-instrument binary over each file, one process
// per file, its output thrown away, and returns the time it took.
func goInstrument(b *testing.B, bin string, files []string) gentest.Timing {
	var t gentest.Timing
	start := time.Now()
	for _, name := range files {
		cmd := exec.Command(bin, "-filename", name) // stdout to the null device
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("%s -filename %s: %v\n%s", bin, name, err, stderr.Bytes())
		}
		t.CPU += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	t.Wall = time.Since(start)
	return t
}

// BenchmarkLoadXTools is the baseline of BenchmarkInstrumentXTools: the
// same listing, export data and type-checking, without rewriting.
func BenchmarkLoadXTools(b *testing.B) {
	dir, tree, _ := annotatedCopy(b)
	defer debug.SetGCPercent(debug.SetGCPercent(GCPercent))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(MemoryLimit))
	opts := Options{Dir: dir, Patterns: []string{"./..."}}
	if _, err := Run(opts); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var files int
	start, cpu := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		cands, _, err := findCandidates(opts, graphMode)
		if err != nil {
			b.Fatal(err)
		}
		chk := newChecker(opts, cands.files)
		if err := chk.prepare(cands.roots); err != nil {
			b.Fatal(err)
		}
		var mu sync.Mutex
		files = 0
		chk.run(func(u *unit) {
			n := 0
			for _, f := range u.pkg.Syntax {
				if src := cands.files[u.pkg.Fset.File(f.FileStart).Name()]; u.root && src != nil && src.relevant {
					n++
				}
			}
			u.pkg.Syntax, u.pkg.TypesInfo = nil, nil
			mu.Lock()
			files += n
			mu.Unlock()
		})
	}
	wall, used := time.Since(start), cpuTime()-cpu
	n := float64(len(tree) * b.N)
	b.ReportMetric(n/wall.Seconds(), "files/s")
	b.ReportMetric(float64(used.Microseconds())/1000/n, "cpu-ms/file")
	b.ReportMetric(float64(files), "files")
}
