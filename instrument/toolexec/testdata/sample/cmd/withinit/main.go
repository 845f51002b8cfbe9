// Command withinit imports the runtime itself.
package main

import (
	"fmt"

	overmind "github.com/overmind-core/overmind-go/runtime"

	"example.com/sample/lib"
)

func main() {
	fmt.Println(lib.Greet("init"), overmind.SpanTypeTool)
}
