// Command withinit calls instrumented code after overmind.Init.
package main

import (
	"context"
	"fmt"
	"os"

	overmind "github.com/overmind-core/overmind-go/runtime"

	"example.com/sample/lib"
)

func main() {
	if err := overmind.Init(overmind.Config{ServiceName: "sample"}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer overmind.Shutdown(context.Background())
	fmt.Println(lib.Greet("init"))
	var c lib.Counter
	fmt.Println(c.Add(2), lib.Map([]int{1}, func(i int) int { return i * 2 }))
}
