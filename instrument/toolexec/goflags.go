package toolexec

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// goArgsEnv carries the go command's arguments from "overmind go" to the
// driver, for systems where the driver cannot read its parent's command
// line.
const goArgsEnv = "OVERMIND_GO_ARGS"

// goInvocation is the go command that runs the build: its working
// directory (after any -C) and its arguments after the program name.
type goInvocation struct {
	Dir  string
	Args []string
}

// buildingSubcommands are the go subcommands that compile.
var buildingSubcommands = map[string]bool{
	"build": true, "test": true, "run": true, "install": true, "vet": true, "list": true,
}

// parentGoInvocation finds the go command this tool runs under: on Linux
// from /proc (the nearest ancestor that is a go command), elsewhere from
// what "overmind go" left in the environment. The directory defaults to
// the current one, which cmd/go gives the compiler and the linker.
func parentGoInvocation() goInvocation {
	wd, _ := os.Getwd()
	if args, dir, ok := procGoInvocation(); ok {
		if dir == "" {
			dir = wd
		}
		return goInvocation{Dir: dir, Args: args}
	}
	var args []string
	if s := os.Getenv(goArgsEnv); s != "" {
		if err := json.Unmarshal([]byte(s), &args); err != nil {
			args = nil
		}
	}
	return goInvocation{Dir: wd, Args: args}
}

// procGoInvocation reads the command line and directory of the nearest
// ancestor process that is a go command, where /proc exists.
func procGoInvocation() (args []string, dir string, ok bool) {
	pid := os.Getppid()
	for range 4 {
		if pid <= 1 {
			return nil, "", false
		}
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if err != nil {
			return nil, "", false
		}
		argv := strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
		if isGoCommand(argv) {
			dir, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
			return argv[1:], dir, true
		}
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return nil, "", false
		}
		// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 2 {
			return nil, "", false
		}
		if pid, err = strconv.Atoi(fields[1]); err != nil {
			return nil, "", false
		}
	}
	return nil, "", false
}

// isGoCommand reports whether argv is a go command that builds.
func isGoCommand(argv []string) bool {
	if len(argv) < 2 || !isGoProgram(filepath.Base(argv[0])) {
		return false
	}
	sub, _ := splitGoArgs(argv[1:])
	return buildingSubcommands[sub]
}

// isGoProgram reports whether name is the go command's: "go", or a
// versioned one such as "go1.26.8" or "go1.27rc1".
func isGoProgram(name string) bool {
	name = strings.TrimSuffix(name, ".exe")
	if name == "go" {
		return true
	}
	v, ok := strings.CutPrefix(name, "go1")
	return ok && strings.Trim(v, "0123456789.rcbeta") == ""
}

// splitGoArgs returns the subcommand of go command arguments and the
// arguments after it, skipping a leading -C dir.
func splitGoArgs(args []string) (sub string, rest []string) {
	for len(args) > 0 {
		a := args[0]
		switch {
		case a == "-C" || a == "--C":
			if len(args) < 2 {
				return "", nil
			}
			args = args[2:]
			continue
		case strings.HasPrefix(a, "-C=") || strings.HasPrefix(a, "--C="):
			args = args[1:]
			continue
		}
		return a, args[1:]
	}
	return "", nil
}

// Build flags the go command takes. Those in mirroredBool and
// mirroredValue change what the compiler produces for a package, so the
// go command that resolves the runtime's export data must get them too.
var (
	mirroredBool = map[string]bool{
		"race": true, "msan": true, "asan": true, "trimpath": true,
		"linkshared": true, "modcacherw": true,
	}
	mirroredValue = map[string]bool{
		"tags": true, "gcflags": true, "asmflags": true, "mod": true, "modfile": true,
		"overlay": true, "buildmode": true, "compiler": true, "gccgoflags": true,
		"installsuffix": true, "pkgdir": true, "toolexec": true, "pgo": true,
	}
	coverValue = map[string]bool{"covermode": true, "coverpkg": true}
	// perPackage flags take "[pattern=]args"; without a pattern they apply
	// to the packages named on the go command line only.
	perPackage = map[string]bool{"gcflags": true, "asmflags": true, "gccgoflags": true}
	// otherValue lists the other flags of the building subcommands (and go
	// test's flags for the test binary) that take a separate value, so
	// that the value is not mistaken for a flag or a package.
	otherValue = map[string]bool{
		"o": true, "p": true, "ldflags": true, "exec": true, "vettool": true, "vet": true,
		"run": true, "skip": true, "bench": true, "benchtime": true, "count": true,
		"cpu": true, "parallel": true, "timeout": true, "list": true, "shuffle": true,
		"fuzz": true, "fuzztime": true, "fuzzminimizetime": true, "coverprofile": true,
		"cpuprofile": true, "memprofile": true, "memprofilerate": true,
		"blockprofile": true, "blockprofilerate": true, "mutexprofile": true,
		"mutexprofilefraction": true, "trace": true, "outputdir": true,
		"f": true, "debug-actiongraph": true, "debug-deprofile": true, "debug-trace": true,
	}
)

// goCommandLine is a go command's arguments, parsed.
type goCommandLine struct {
	// Sub is the subcommand ("build", "test", ...).
	Sub string
	// Flags are the flags, in order, each without its dashes.
	Flags []goFlag
	// Positional are the other arguments: packages or files, and for go
	// run the program's arguments after them.
	Positional []string
}

// goFlag is one flag of a go command line.
type goFlag struct {
	Name, Value string
	HasValue    bool
}

// parseGoCommandLine parses a go command's arguments (after the program
// name).
func parseGoCommandLine(goArgs []string) goCommandLine {
	sub, args := splitGoArgs(goArgs)
	cl := goCommandLine{Sub: sub}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || (sub == "test" && (a == "-args" || a == "--args")) {
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if sub == "test" {
				cl.Positional = append(cl.Positional, a) // go test takes flags after the packages too
				continue
			}
			cl.Positional = append(cl.Positional, args[i:]...)
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		takesValue := mirroredValue[name] || coverValue[name] || otherValue[name]
		if !hasValue && takesValue && i+1 < len(args) {
			value, hasValue = args[i+1], true
			i++
		}
		cl.Flags = append(cl.Flags, goFlag{name, value, hasValue})
	}
	return cl
}

// mirroredBuildFlags extracts, from a go command's arguments (after the
// program name), the build flags that change compiled code, each as one
// "-name=value" or "-name" argument. Coverage flags are kept only with
// -coverpkg: without it only the packages named on the command line are
// instrumented for coverage, and the runtime is not among them.
func mirroredBuildFlags(goArgs []string) []string {
	var out, cover []string
	hasCoverpkg := false
	for _, f := range parseGoCommandLine(goArgs).Flags {
		flag := "-" + f.Name
		if f.HasValue {
			flag += "=" + f.Value
		}
		switch {
		case mirroredBool[f.Name] || mirroredValue[f.Name]:
			if f.Name == "pgo" && (f.Value == "auto" || f.Value == "") {
				continue
			}
			if perPackage[f.Name] && (f.Value == "" || strings.HasPrefix(f.Value, "-")) {
				continue // no pattern: only for the packages named on the command line
			}
			out = append(out, flag)
		case f.Name == "cover" || coverValue[f.Name]:
			hasCoverpkg = hasCoverpkg || f.Name == "coverpkg"
			cover = append(cover, flag)
		}
	}
	if hasCoverpkg {
		out = append(out, cover...)
	}
	return out
}

// versionedPackage returns the package@version argument of a "go install"
// or "go run" command line, which builds a module outside the main module
// (in module-aware mode, ignoring the current directory's go.mod), or ""
// if there is none.
func versionedPackage(goArgs []string) string {
	cl := parseGoCommandLine(goArgs)
	pkgs := cl.Positional
	switch cl.Sub {
	case "install":
	case "run":
		pkgs = pkgs[:min(len(pkgs), 1)] // then the program's arguments
	default:
		return ""
	}
	for _, p := range pkgs {
		if strings.Contains(p, "@") && !strings.HasSuffix(p, ".go") {
			return p
		}
	}
	return ""
}

// toolBuildFlags are the go command flags that a compile's or a link's own
// arguments show: -race, -msan and -asan, which cmd/go passes on to both,
// and -trimpath, which turns the compiler's -trimpath value from "the
// object directory" into "DIR=>IMPORTPATH;...". They hold on every system,
// whatever the driver knows of the go command itself.
func toolBuildFlags(inv *Invocation) []string {
	var out []string
	for _, name := range []string{"race", "msan", "asan"} {
		if inv.HasFlag(name) {
			out = append(out, "-"+name)
		}
	}
	if v, ok := inv.Flag("trimpath"); ok && trimpathFromGo(v) {
		out = append(out, "-trimpath")
	}
	return out
}

// trimpathFromGo reports whether a compiler's -trimpath value is what
// cmd/go gives under its -trimpath flag: a rewrite of a directory to an
// import path (relative), where without the flag cmd/go only removes the
// object directory and maps overlaid files to absolute paths.
func trimpathFromGo(value string) bool {
	for _, rule := range strings.Split(value, ";") {
		if _, to, ok := strings.Cut(rule, "=>"); ok && to != "" && !filepath.IsAbs(to) {
			return true
		}
	}
	return false
}

// goArgsForEnv encodes go command arguments for goArgsEnv.
func goArgsForEnv(args []string) string {
	data, err := json.Marshal(args)
	if err != nil {
		panic(fmt.Sprintf("encoding arguments: %v", err)) // []string always encodes
	}
	return string(data)
}
