/*
Overmind instruments Go functions annotated with //overmind: directives so
that they open typed OpenTelemetry spans.

Usage:

	overmind <command> [arguments]

The commands are:

	instrument  rewrite the annotated functions in the source (generate mode)
	list        print every directive as file:line:col kind name
	go          run the go command with compile-time instrumentation (toolexec mode)
	toolexec    the compile-time instrumentation, for go build -toolexec="overmind toolexec"
	version     print overmind's version
	help        print this text, or a command's: overmind help instrument

Packages default to ".". Problems in the input are printed as
file:line:col: message, all at once, and exit with status 2 without
writing anything.

# Instrument

Usage:

	overmind instrument [-diff] [-l] [-remove] [-tags list] [-test] [packages]

Instrument rewrites the annotated functions of the packages in place. Run
it from a //go:generate line or by hand (in a module that has it as a tool,
"go tool overmind instrument"). Running it again changes nothing; edit or
delete a directive and run it again to update the code.

	-diff     print a unified diff instead of writing
	-l        list the files that would change, write nothing, exit 1 if any would
	-remove   take all generated code out again
	-tags     comma-separated build tags, as for go build
	-test     include _test.go files

Files are written all at once or not at all, atomically, keeping their
permissions; a read-only file stops the run. Files the build leaves out
(build constraints, _GOOS file names) get a warning naming the command
line that would include them.

# List

Usage:

	overmind list [-tags list] [-test] [packages]

List prints every directive of the packages as "file:line:col kind name",
reading syntax only.

# Go

Usage:

	overmind go build|test|run|install|vet [arguments]

Go runs the go command with -toolexec="overmind toolexec" added after the
subcommand, so that the packages with //overmind: directives are
instrumented as they are compiled; the source is not touched. Every other
flag, -C dir, GOFLAGS and the environment are kept. The same as

	go build -toolexec="overmind toolexec" [arguments]

# Toolexec

Usage:

	go build -toolexec="overmind toolexec" [arguments]

Toolexec is what the go command runs for every tool of a build (compile,
asm, link, ...): it rewrites a copy of each annotated package as it is
compiled and passes everything else through. See package
github.com/overmind-core/overmind-go/instrument/toolexec.

# Version

Usage:

	overmind version

Version prints overmind's module version ("devel" for a build from a
checkout) and the Go release it was built with.
*/
package main
