package toolexec_test

import (
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/overmind-core/overmind-go/instrument/toolexec"
	"github.com/overmind-core/overmind-go/instrument/toolexec/internal/markrewrite"
)

// BenchmarkBuild compares "go build -toolexec" of the sample module with a
// plain "go build" of the same module whose source already holds the same
// instrumentation, in three situations: a cold build cache, a warm no-op
// build, and a build after a one-file edit. Each iteration times both
// builds, interleaved; the metrics are the toolexec build's seconds, the
// plain build's, and their ratio, in wall-clock time and in CPU time (user
// and system, of the go command and everything it runs). On a machine
// shared with other work, the CPU ratio is the steadier of the two.
//
//	go test -run '^$' -bench BenchmarkBuild -benchtime 3x ./instrument/toolexec
func BenchmarkBuild(b *testing.B) {
	if testing.Short() {
		b.Skip("builds the sample module many times")
	}
	bin, err := markBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("cold", func(b *testing.B) {
		plain, instr := benchModules(b)
		var tPlain, tInstr timing
		for i := range b.N {
			both(i, func() { tPlain.add(benchBuild(b, plain, freshCaches(b), "")) },
				func() { tInstr.add(benchBuild(b, instr, freshCaches(b), bin)) })
		}
		report(b, tInstr, tPlain)
	})
	b.Run("warm-noop", func(b *testing.B) {
		plain, instr := benchModules(b)
		caches := freshCaches(b)
		benchBuild(b, plain, caches, "")
		benchBuild(b, instr, caches, bin)
		var tPlain, tInstr timing
		for i := range b.N {
			both(i, func() { tPlain.add(benchBuild(b, plain, caches, "")) },
				func() { tInstr.add(benchBuild(b, instr, caches, bin)) })
		}
		report(b, tInstr, tPlain)
	})
	b.Run("edit", func(b *testing.B) {
		plain, instr := benchModules(b)
		caches := freshCaches(b)
		benchBuild(b, plain, caches, "")
		benchBuild(b, instr, caches, bin)
		var tPlain, tInstr timing
		for i := range b.N {
			both(i, func() {
				editGreeting(b, plain, i)
				tPlain.add(benchBuild(b, plain, caches, ""))
			}, func() {
				editGreeting(b, instr, i)
				tInstr.add(benchBuild(b, instr, caches, bin))
			})
		}
		report(b, tInstr, tPlain)
	})
}

// both runs f and g, in turns first f then first g, so that neither
// always runs on a machine the other just warmed.
func both(i int, f, g func()) {
	if i%2 == 1 {
		f, g = g, f
	}
	f()
	g()
}

// timing sums the wall-clock and CPU time of builds.
type timing struct{ wall, cpu time.Duration }

func (t *timing) add(u timing) {
	t.wall += u.wall
	t.cpu += u.cpu
}

func report(b *testing.B, instr, plain timing) {
	n := float64(b.N)
	b.ReportMetric(instr.wall.Seconds()/n, "toolexec-s/op")
	b.ReportMetric(plain.wall.Seconds()/n, "plain-s/op")
	b.ReportMetric(instr.wall.Seconds()/plain.wall.Seconds(), "ratio")
	b.ReportMetric(instr.cpu.Seconds()/n, "toolexec-cpu-s/op")
	b.ReportMetric(plain.cpu.Seconds()/n, "plain-cpu-s/op")
	b.ReportMetric(instr.cpu.Seconds()/plain.cpu.Seconds(), "cpu-ratio")
}

// benchModules returns two copies of the sample module: one as is, for
// the toolexec build, and one with the instrumentation written into its
// source, for the plain build.
func benchModules(b *testing.B) (plain, instr string) {
	instr = newSample(b, sampleOptions{})
	plain = newSample(b, sampleOptions{})
	instrumentSource(b, filepath.Join(plain, "lib"), "example.com/sample/lib")
	return plain, instr
}

// instrumentSource writes what the driver compiles into the source of
// the package in dir.
func instrumentSource(b *testing.B, dir, importPath string) {
	names, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	pkg := &toolexec.Package{ImportPath: importPath, Fset: token.NewFileSet()}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(pkg.Fset, name, nil, parser.ParseComments)
		if err != nil {
			b.Fatal(err)
		}
		pkg.Files = append(pkg.Files, f)
		pkg.Filenames = append(pkg.Filenames, name)
	}
	files, err := markrewrite.Rewrite(pkg)
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range files {
		if err := os.WriteFile(pkg.Filenames[f.Index], f.Source, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

type caches struct{ gocache, overmind string }

func freshCaches(b *testing.B) caches {
	return caches{gocache: b.TempDir(), overmind: b.TempDir()}
}

// benchBuild builds every package and command of the module in dir,
// through the driver in bin unless it is "", and returns how long it took.
func benchBuild(b *testing.B, dir string, c caches, bin string) timing {
	out := filepath.Join(dir, "bin") + string(filepath.Separator)
	args := []string{"build", "-o", out, "./..."}
	if bin != "" {
		args = []string{"build", "-toolexec=" + bin + " toolexec", "-o", out, "./..."}
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOCACHE="+c.gocache, "OVERMIND_CACHE="+c.overmind)
	start := time.Now()
	out2, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		b.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out2)
	}
	return timing{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
}

// editGreeting changes the greeting of lib.Greet, as a developer would.
func editGreeting(b *testing.B, dir string, i int) {
	name := filepath.Join(dir, "lib", "lib.go")
	data, err := os.ReadFile(name)
	if err != nil {
		b.Fatal(err)
	}
	s := string(data)
	start := strings.Index(s, `"hello`)
	end := strings.Index(s[start:], `, %s"`)
	if start < 0 || end < 0 {
		b.Fatalf("%s: no greeting to edit", name)
	}
	s = s[:start] + fmt.Sprintf(`"hello%d`, i) + s[start+end:]
	if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
		b.Fatal(err)
	}
}
