// Command support is the customer-support agent of the Overmind tracing
// guide, written in Go: an entry point that handles a question, a workflow
// that gathers context, tools that look up an order and search a knowledge
// base, and a model call. The model is a canned stand-in, so the example
// runs offline and without an account.
//
// The functions carry //overmind: directives, and the go:generate line
// below expands them into spans. Run it with the span tree printed:
//
//	go generate ./examples/support
//	OVERMIND_DEBUG=1 go run ./examples/support
package main

//go:generate go run github.com/overmind-core/overmind-go/cmd/overmind instrument

import (
	"context"
	"fmt"
	"log"

	overmind "github.com/overmind-core/overmind-go/runtime"
)

func main() {
	if err := overmind.Init(overmind.Config{ServiceName: "customer-support"}); err != nil {
		log.Fatal(err)
	}
	defer overmind.Shutdown(context.Background())

	answer, err := HandleSupportQuery(context.Background(), "user-123", "Where is my order A-1001?")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(answer)
}
