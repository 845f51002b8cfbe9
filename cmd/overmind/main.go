// Command overmind instruments Go functions annotated with //overmind:
// directives so that they open typed OpenTelemetry spans.
//
// Usage:
//
//	overmind instrument [-diff] [-l] [-remove] [-tags list] [-test] [packages]
//	overmind list [-tags list] [-test] [packages]
//
// instrument rewrites the annotated functions of the packages (default ".")
// in place; run it from a //go:generate line or by hand (in a module that
// has it as a tool, "go tool overmind instrument"). -diff prints a
// unified diff instead of writing, -l lists the files that would change and
// exits 1 if there are any, -remove takes all generated code out again.
// list prints every directive as "file:line:col kind name".
//
// Problems in the input are printed as file:line:col: message, all at
// once, and exit with status 2 without writing anything.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/overmind-core/overmind-go/instrument"
	"github.com/overmind-core/overmind-go/rewrite"
)

const usage = `usage: overmind <command> [arguments]

commands:
  instrument [-diff] [-l] [-remove] [-tags list] [-test] [packages]
        rewrite the functions annotated with //overmind: directives
  list [-tags list] [-test] [packages]
        print each directive as file:line:col kind name

Packages default to ".". Run "overmind <command> -h" for its flags.
`

func main() {
	debug.SetGCPercent(instrument.GCPercent)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
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
		// Reserved for compile-time instrumentation (go build -toolexec).
		fmt.Fprintf(stderr, "overmind %s: not implemented yet; use overmind instrument\n", cmd)
		return 2
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "overmind: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
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

	res, err := instrument.Run(*opts)
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
			fmt.Fprint(stdout, instrument.Diff(c, cwd))
		}
	}
	if *list {
		for _, c := range res.Changes {
			fmt.Fprintln(stdout, instrument.RelPath(cwd, c.Path))
		}
		if len(res.Changes) > 0 {
			return 1
		}
	}
	if *diff || *list {
		return 0
	}
	if err := instrument.Write(res.Changes); err != nil {
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

	dirs, diags, err := instrument.List(*opts)
	if err != nil {
		fmt.Fprintf(stderr, "overmind: %v\n", err)
		return 1
	}
	printDiagnostics(stderr, cwd, diags)
	for _, d := range dirs {
		d.Pos.Filename = instrument.RelPath(cwd, d.Pos.Filename)
		fmt.Fprintln(stdout, d)
	}
	if rewrite.HasErrors(diags) {
		return 2
	}
	return 0
}

// commonFlags registers the flags that choose packages.
func commonFlags(fs *flag.FlagSet) *instrument.Options {
	opts := &instrument.Options{}
	fs.StringVar(&opts.Tags, "tags", "", "comma-separated list of build tags, as for go build")
	fs.BoolVar(&opts.Tests, "test", false, "include _test.go files")
	return opts
}

func printDiagnostics(w io.Writer, cwd string, diags []rewrite.Diagnostic) {
	for _, d := range diags {
		d.Pos.Filename = instrument.RelPath(cwd, d.Pos.Filename)
		fmt.Fprintln(w, d)
	}
}
