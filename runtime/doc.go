// Package overmind is the Go runtime of the Overmind LLM tracing SDK.
//
// The import path is github.com/overmind-core/overmind-go/runtime and the
// package name is overmind, so code reads as in the Overmind tracing guide:
//
//	import "github.com/overmind-core/overmind-go/runtime"
//
//	func main() {
//		if err := overmind.Init(overmind.Config{ServiceName: "support-agent"}); err != nil {
//			log.Fatal(err)
//		}
//		defer overmind.Shutdown(context.Background())
//		...
//	}
//
// Functions annotated with //overmind: directives are expanded by the
// overmind command into calls to [EnterContext], [Enter] or [EnterRequest]
// and [Call.Exit]; that small API is meant for generated code. People call
// the rest: [Init], [StartSpan], [SetTag], [SetUser] and the other helpers.
//
// Until [Init] runs, every function in this package is a cheap no-op.
package overmind
