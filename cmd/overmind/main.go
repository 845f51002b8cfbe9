// The command's documentation, and its help text, is doc.go.

package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"runtime/debug"

	"github.com/overmind-core/overmind-go/instrument/generate"
	"github.com/overmind-core/overmind-go/instrument/toolexec"
	"github.com/overmind-core/overmind-go/internal/tracecmd"
	"github.com/overmind-core/overmind-go/rewrite"
	"github.com/overmind-core/overmind-go/server"
)

func main() {
	args := os.Args[1:]
	goHelp := len(args) == 2 && args[0] == "go" && isHelp(args[1])
	if len(args) > 0 && !goHelp && (args[0] == "toolexec" || args[0] == "go" || !isCommand(args[0]) && toolexec.IsTool(args[0])) {
		// Every tool of a build runs through here: pass-through replaces
		// this process with the tool.
		os.Exit(toolexecCmd(args, true, os.Stdout, os.Stderr))
	}
	debug.SetGCPercent(generate.GCPercent)
	os.Exit(run(args, os.Stdout, os.Stderr))
}

// isCommand reports whether name is one of run's commands.
func isCommand(name string) bool {
	switch name {
	case "instrument", "list", "serve", "trace", "traces", "version", "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// run executes one command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, help(""))
		return 2
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "instrument":
		return instrumentCmd(rest, stdout, stderr)
	case "list":
		return listCmd(rest, stdout, stderr)
	case "go":
		if len(rest) == 1 && isHelp(rest[0]) {
			fmt.Fprint(stdout, help("go"))
			return 0
		}
		return toolexecCmd(args, false, stdout, stderr)
	case "serve":
		return server.Command(context.Background(), rest, stdout, stderr)
	case "trace":
		return tracecmd.Trace(context.Background(), rest, stdout, stderr)
	case "traces":
		return tracecmd.Traces(context.Background(), rest, stdout, stderr)
	case "toolexec":
		return toolexecCmd(args, false, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "overmind %s %s\n", toolexec.Version(), goruntime.Version())
		return 0
	case "help", "-h", "-help", "--help":
		topic := ""
		if len(rest) > 0 {
			topic = rest[0]
		}
		text := help(topic)
		if text == "" {
			fmt.Fprintf(stderr, "overmind help: unknown command %q\n", topic)
			return 2
		}
		fmt.Fprint(stdout, text)
		return 0
	default:
		fmt.Fprintf(stderr, "overmind: unknown command %q\n\n%s", cmd, help(""))
		return 2
	}
}

// toolexecCmd runs "toolexec TOOL ARGS...", "go ARGS..." or, as
// -toolexec=/path/to/overmind gives it, "TOOL ARGS...". With replace,
// pass-through replaces the process.
func toolexecCmd(args []string, replace bool, stdout, stderr io.Writer) int {
	ctx := context.Background()
	switch args[0] {
	case "go":
		return toolexec.RunGo(ctx, toolexec.GoConfig{Stdout: stdout, Stderr: stderr, ReplaceProcess: replace}, args[1:])
	case "toolexec":
		args = args[1:]
	}
	return toolexec.Run(ctx, toolexec.Config{Stdout: stdout, Stderr: stderr, ReplaceProcess: replace}, args)
}

func instrumentCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("instrument", stdout, stderr)
	diff := fs.Bool("diff", false, "print a unified diff of the changes instead of writing them")
	list := fs.Bool("l", false, "list the files that would change, write nothing, and exit 1 if any would")
	remove := fs.Bool("remove", false, "remove all generated instrumentation")
	opts := commonFlags(fs)
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	opts.Patterns, opts.Remove = fs.Args(), *remove
	cwd, _ := os.Getwd()
	generate.LimitMemory()

	res, err := generate.Run(*opts)
	if err != nil {
		fmt.Fprintf(stderr, "overmind: %v\n", err)
		return 1
	}
	printDiagnostics(stderr, cwd, res.Diagnostics)
	if res.HasErrors() {
		return 2
	}
	if *diff {
		for _, c := range res.Changes {
			fmt.Fprint(stdout, generate.Diff(c, cwd))
		}
	}
	if *list {
		for _, c := range res.Changes {
			fmt.Fprintln(stdout, generate.RelPath(cwd, c.Path))
		}
		if len(res.Changes) > 0 {
			return 1
		}
	}
	if *diff || *list {
		return 0
	}
	if err := generate.Write(res.Changes); err != nil {
		fmt.Fprintf(stderr, "overmind: %v\n", err)
		return 1
	}
	return 0
}

func listCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("list", stdout, stderr)
	opts := commonFlags(fs)
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	opts.Patterns = fs.Args()
	cwd, _ := os.Getwd()

	dirs, diags, err := generate.List(*opts)
	if err != nil {
		fmt.Fprintf(stderr, "overmind: %v\n", err)
		return 1
	}
	printDiagnostics(stderr, cwd, diags)
	for _, d := range dirs {
		d.Pos.Filename = generate.RelPath(cwd, d.Pos.Filename)
		fmt.Fprintln(stdout, d)
	}
	if rewrite.HasErrors(diags) {
		return 2
	}
	return 0
}

// newFlagSet is the flag set of a command; parseFlags prints its help.
func newFlagSet(cmd string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses a command's flags. When it returns false the command
// stops with the code: 0 after printing to stdout the help that -h asked
// for, 2 after a bad flag.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (int, bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, help(fs.Name()))
		return 0, false
	case err != nil:
		fmt.Fprintf(fs.Output(), "run 'overmind help %s' for usage\n", fs.Name())
		return 2, false
	}
	return 0, true
}

// commonFlags registers the flags that choose packages.
func commonFlags(fs *flag.FlagSet) *generate.Options {
	opts := &generate.Options{}
	fs.StringVar(&opts.Tags, "tags", "", "comma-separated list of build tags, as for go build")
	fs.BoolVar(&opts.Tests, "test", false, "include _test.go files")
	return opts
}

func printDiagnostics(w io.Writer, cwd string, diags []rewrite.Diagnostic) {
	for _, d := range diags {
		d.Pos.Filename = generate.RelPath(cwd, d.Pos.Filename)
		fmt.Fprintln(w, d)
	}
}
