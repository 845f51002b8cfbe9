// Command app calls instrumented code; it does not import the runtime, so
// the runtime reaches its link only through the instrumentation.
package main

import (
	"fmt"
	"os"
	"strconv"

	"example.com/sample/lib"
)

func main() {
	fmt.Println(lib.Greet("world"))
	fmt.Println(lib.Map([]int{1, 2, 3}, strconv.Itoa))
	var c lib.Counter
	fmt.Println(c.Add(4))
	if len(os.Args) > 1 && os.Args[1] == "boom" {
		lib.Boom(1)
	}
}
