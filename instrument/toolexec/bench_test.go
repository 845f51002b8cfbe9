package toolexec_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/overmind-core/overmind-go/internal/gentest"
)

// BenchmarkBuild compares "go build -toolexec" of a module with a plain
// "go build" of the same module whose source overmind instrument has
// instrumented (generate mode), in three situations: a cold build cache, a
// warm no-op build, and a build after a one-file edit. The modules are
// generate mode's end-to-end sample (e2e: one main package that imports the
// runtime) and this package's (sample: an instrumented library that does
// not, so the driver adds the runtime to its compile and link). Each iteration times both
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
	bin, err := overmindBinary()
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range benchModuleKinds {
		b.Run(m.name, func(b *testing.B) { benchmarkModule(b, bin, m) })
	}
}

// benchModule is a module to benchmark and the edit a developer makes.
type benchModule struct {
	name string
	src  string
	file string // the file to edit
	from string // the text to edit
}

var benchModuleKinds = []benchModule{
	{"e2e", e2eSource, "main.go", `"faq`},
	{"sample", "", "lib/lib.go", `"hello`},
}

func benchmarkModule(b *testing.B, bin string, m benchModule) {
	b.Run("cold", func(b *testing.B) {
		plain, instr := benchModules(b, bin, m)
		var tPlain, tInstr gentest.Timing
		for i := range b.N {
			gentest.InTurns(i, func() { tPlain.Add(benchBuild(b, plain, freshCaches(b), "")) },
				func() { tInstr.Add(benchBuild(b, instr, freshCaches(b), bin)) })
		}
		report(b, tInstr, tPlain)
	})
	b.Run("warm-noop", func(b *testing.B) {
		plain, instr := benchModules(b, bin, m)
		caches := freshCaches(b)
		benchBuild(b, plain, caches, "")
		benchBuild(b, instr, caches, bin)
		var tPlain, tInstr gentest.Timing
		for i := range b.N {
			gentest.InTurns(i, func() { tPlain.Add(benchBuild(b, plain, caches, "")) },
				func() { tInstr.Add(benchBuild(b, instr, caches, bin)) })
		}
		report(b, tInstr, tPlain)
	})
	b.Run("edit", func(b *testing.B) {
		plain, instr := benchModules(b, bin, m)
		caches := freshCaches(b)
		benchBuild(b, plain, caches, "")
		benchBuild(b, instr, caches, bin)
		var tPlain, tInstr gentest.Timing
		for i := range b.N {
			gentest.InTurns(i, func() {
				edit(b, plain, m, i)
				tPlain.Add(benchBuild(b, plain, caches, ""))
			}, func() {
				edit(b, instr, m, i)
				tInstr.Add(benchBuild(b, instr, caches, bin))
			})
		}
		report(b, tInstr, tPlain)
	})
}

func report(b *testing.B, instr, plain gentest.Timing) {
	n := float64(b.N)
	b.ReportMetric(instr.Wall.Seconds()/n, "toolexec-s/op")
	b.ReportMetric(plain.Wall.Seconds()/n, "plain-s/op")
	b.ReportMetric(instr.Wall.Seconds()/plain.Wall.Seconds(), "ratio")
	b.ReportMetric(instr.CPU.Seconds()/n, "toolexec-cpu-s/op")
	b.ReportMetric(plain.CPU.Seconds()/n, "plain-cpu-s/op")
	b.ReportMetric(instr.CPU.Seconds()/plain.CPU.Seconds(), "cpu-ratio")
}

// benchModules returns two copies of the module: one as is, for the
// toolexec build, and one instrumented by overmind instrument, for the
// plain build.
func benchModules(b *testing.B, bin string, m benchModule) (plain, instr string) {
	instr = newSample(b, sampleOptions{src: m.src})
	plain = newSample(b, sampleOptions{src: m.src})
	run := exec.Command(bin, "instrument", "./...")
	run.Dir = plain
	if out, err := run.CombinedOutput(); err != nil {
		b.Fatalf("overmind instrument: %v\n%s", err, out)
	}
	return plain, instr
}

type caches struct{ gocache, overmind string }

func freshCaches(b *testing.B) caches {
	return caches{gocache: b.TempDir(), overmind: b.TempDir()}
}

// benchBuild builds every package and command of the module in dir,
// through the driver in bin unless it is "", and returns how long it took.
func benchBuild(b *testing.B, dir string, c caches, bin string) gentest.Timing {
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
	return gentest.Timing{Wall: wall, CPU: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
}

// edit changes a string in a function body, as a developer would.
func edit(b *testing.B, dir string, m benchModule, i int) {
	name := filepath.Join(dir, filepath.FromSlash(m.file))
	data, err := os.ReadFile(name)
	if err != nil {
		b.Fatal(err)
	}
	s := string(data)
	start := strings.Index(s, m.from)
	if start < 0 {
		b.Fatalf("%s: no %s to edit", name, m.from)
	}
	end := start + len(m.from)
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	s = s[:start] + m.from + fmt.Sprint(i) + s[end:]
	if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
		b.Fatal(err)
	}
}
