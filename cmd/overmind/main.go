// Command overmind instruments Go functions annotated with //overmind:
// directives so that they open typed OpenTelemetry spans.
//
// Usage:
//
//	overmind instrument [-diff] [-l] [-remove] [-tags list] [-test] [packages]
//	overmind list [-tags list] [-test] [packages]
//	overmind go build|test|run|install|vet [arguments]
//	go build -toolexec="overmind toolexec" [arguments]
//	overmind serve [-addr host:port] [-db path] [-retain 7d] [-max-db-size 1GB] [-api-key key]
//	overmind trace [-json] [-color] TRACE_ID
//	overmind traces [-n N] [-service name] [-status s] [-type t] [-q text]
//
// instrument rewrites the annotated functions of the packages (default ".")
// in place; run it from a //go:generate line or by hand (in a module that
// has it as a tool, "go tool overmind instrument"). -diff prints a
// unified diff instead of writing, -l lists the files that would change and
// exits 1 if there are any, -remove takes all generated code out again.
// list prints every directive as "file:line:col kind name".
//
// toolexec mode instruments at compile time instead, leaving the source
// untouched: go build -toolexec="overmind toolexec" (or GOFLAGS carrying
// it) runs every tool of the build through the command, which rewrites a
// copy of each annotated package as it is compiled. "overmind go build
// ..." is the same with the flag added for you. See package
// github.com/overmind-core/overmind-go/instrument/toolexec.
//
// serve receives OpenTelemetry traces over OTLP/HTTP, stores them and
// shows them on a page (package github.com/overmind-core/overmind-go/server).
// trace prints one trace as the debug output's tree, read through the
// traces API from OVERMIND_API_URL (Overmind, or overmind serve); traces
// lists recent ones.
//
// Problems in the input are printed as file:line:col: message, all at
// once, and exit with status 2 without writing anything.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/overmind-core/overmind-go/instrument/generate"
	"github.com/overmind-core/overmind-go/instrument/toolexec"
	"github.com/overmind-core/overmind-go/internal/tracecmd"
	"github.com/overmind-core/overmind-go/rewrite"
	"github.com/overmind-core/overmind-go/server"
)

const usage = `usage: overmind <command> [arguments]

commands:
  instrument [-diff] [-l] [-remove] [-tags list] [-test] [packages]
        rewrite the functions annotated with //overmind: directives
  list [-tags list] [-test] [packages]
        print each directive as file:line:col kind name
  go build|test|run|install|vet [arguments]
        run the go command with compile-time instrumentation
  toolexec TOOL [ARGS...]
        the compile-time instrumentation, for go build -toolexec="overmind toolexec"
  serve [-addr host:port] [-db path] [-retain 7d] [-max-db-size 1GB] [-api-key key]
        receive traces over OTLP/HTTP, store them, and show them at http://127.0.0.1:4318/
  trace [-json] TRACE_ID
        print a trace from OVERMIND_API_URL (Overmind or overmind serve) as a tree
  traces [-n N] [-service name] [-status s] [-type t] [-q text]
        list recent traces of overmind serve

Packages default to ".". Run "overmind <command> -h" for its flags.
`

func main() {
	args := os.Args[1:]
	if len(args) > 0 && (args[0] == "toolexec" || args[0] == "go" || !isCommand(args[0]) && toolexec.IsTool(args[0])) {
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
	case "instrument", "list", "serve", "trace", "traces", "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// run executes one command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "instrument":
		return instrumentCmd(rest, stdout, stderr)
	case "list":
		return listCmd(rest, stdout, stderr)
	case "toolexec", "go":
		return toolexecCmd(args, false, stdout, stderr)
	case "serve":
		return server.Command(context.Background(), rest, stdout, stderr)
	case "trace":
		return tracecmd.Trace(context.Background(), rest, stdout, stderr)
	case "traces":
		return tracecmd.Traces(context.Background(), rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "overmind: unknown command %q\n\n%s", cmd, usage)
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
	fs := flag.NewFlagSet("overmind instrument", flag.ContinueOnError)
	fs.SetOutput(stderr)
	diff := fs.Bool("diff", false, "print a unified diff of the changes instead of writing them")
	list := fs.Bool("l", false, "list the files that would change, write nothing, and exit 1 if any would")
	remove := fs.Bool("remove", false, "remove all generated instrumentation")
	opts := commonFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	opts.Patterns, opts.Remove = fs.Args(), *remove
	cwd, _ := os.Getwd()

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
	fs := flag.NewFlagSet("overmind list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := commonFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
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
