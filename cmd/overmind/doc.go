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
	serve       receive traces over OTLP/HTTP, keep them, show them at http://127.0.0.1:4318/
	trace       print one trace from Overmind or overmind serve as a tree
	traces      list recent traces of overmind serve
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

# Serve

Usage:

	overmind serve [-addr host:port] [-db path] [-retain 7d] [-max-db-size 1GB] [-api-key key]

Serve receives traces over OTLP/HTTP (protobuf or JSON, on /v1/traces and
/api/v1/traces), keeps them in one SQLite file, answers the traces API
(GET /api/traces/{trace_id}/) and shows them on a page at /. It listens on
127.0.0.1:4318, the OTLP/HTTP port, so OTEL_EXPORTER_OTLP_ENDPOINT or
OVERMIND_API_URL set to http://127.0.0.1:4318 sends a program's spans there.
Listening beyond this machine requires -api-key. "overmind serve -h" lists
the flags; see package github.com/overmind-core/overmind-go/server.

# Trace

Usage:

	overmind trace [-json] [-color] [-url base] [-api-key key] TRACE_ID

Trace reads one trace through the traces API, from OVERMIND_API_URL
(Overmind by default, or overmind serve) with OVERMIND_API_KEY, and prints
it as the tree the runtime's debug output prints; -json prints the API's
response as it came.

# Traces

Usage:

	overmind traces [-n N] [-service name] [-status s] [-type t] [-q text] [-since d] [-url base] [-api-key key]

Traces lists the recent traces of overmind serve, newest first, with the
filters given.

# Version

Usage:

	overmind version

Version prints overmind's module version ("devel" for a build from a
checkout) and the Go release it was built with.
*/
package main
