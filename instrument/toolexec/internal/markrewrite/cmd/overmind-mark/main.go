// Command overmind-mark is the overmind command's toolexec and go modes
// with the markrewrite stand-in for the rewrite, for the driver's
// end-to-end tests.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/overmind-core/overmind-go/instrument/toolexec"
	"github.com/overmind-core/overmind-go/instrument/toolexec/internal/markrewrite"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: overmind-mark toolexec TOOL ARGS... | go COMMAND ARGS...")
		os.Exit(2)
	}
	ctx := context.Background()
	switch os.Args[1] {
	case "toolexec":
		os.Exit(toolexec.Run(ctx, toolexec.Config{Rewrite: markrewrite.Rewrite, ReplaceProcess: true}, os.Args[2:]))
	case "go":
		os.Exit(toolexec.RunGo(ctx, toolexec.GoConfig{ReplaceProcess: true}, os.Args[2:]))
	}
	fmt.Fprintf(os.Stderr, "overmind-mark: unknown command %q\n", os.Args[1])
	os.Exit(2)
}
