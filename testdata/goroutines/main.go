// Command goroutines is the sample program of the end-to-end tests of go
// statements: an instrumented function starts goroutines (a func literal,
// a worker, a function whose arguments have side effects) whose spans
// must nest under its own, carrying its labels, and the program must
// print the same whether it is instrumented or not. Run with the argument
// "crash literal" or "crash worker", it dies of a panic in a goroutine
// started by an instrumented function, which must read as the plain
// program's.
package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	overmind "github.com/overmind-core/overmind-go/runtime"
)

func main() {
	if err := overmind.Init(overmind.Config{ServiceName: "goroutines-sample"}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer overmind.Shutdown(context.Background())
	if len(os.Args) > 2 && os.Args[1] == "crash" {
		Crash(os.Args[2])
		return
	}
	fmt.Println(Handle(context.Background(), "user-7", "thread-9", []int{1, 2, 3}))
}

// Handle starts goroutines and collects what they report.
//
//overmind:entry_point handle user=userID conversation=threadID
func Handle(ctx context.Context, userID, threadID string, xs []int) string {
	var wg sync.WaitGroup
	results := make(chan string, 16)

	wg.Add(1)
	go func() {
		defer wg.Done()
		results <- fmt.Sprint("sum ", Sum(xs...))
	}()

	jobs := make(chan int, len(xs))
	for _, x := range xs {
		jobs <- x
	}
	close(jobs)
	wg.Add(1)
	go worker(jobs, results, &wg)

	wg.Add(1)
	go func(ctx context.Context) {
		defer wg.Done()
		results <- Lookup(ctx, userID)
	}(ctx)

	n := 0
	next := func() int { n++; return n * 10 }
	wg.Add(1)
	go report(results, &wg, next(), next())

	wg.Wait()
	close(results)
	var lines []string
	for r := range results {
		lines = append(lines, r)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// Sum adds.
//
//overmind:function
func Sum(xs ...int) int {
	total := 0
	for _, x := range xs {
		total += x
	}
	return total
}

// Lookup takes a context: its span's parent comes through it.
//
//overmind:tool lookup
func Lookup(ctx context.Context, id string) string {
	return "lookup " + id
}

func worker(jobs <-chan int, results chan<- string, wg *sync.WaitGroup) {
	defer wg.Done()
	for j := range jobs {
		results <- fmt.Sprint("square ", Square(j))
	}
}

// Square squares.
//
//overmind:tool square
func Square(x int) int { return x * x }

func report(results chan<- string, wg *sync.WaitGroup, a, b int) {
	defer wg.Done()
	results <- fmt.Sprint("report ", a, " ", b)
}

// Crash dies of a panic in a goroutine it starts: a func literal, or a
// function. It captures nothing: the closures that record inputs and
// outputs would come before its own func literal, whose name in a
// traceback (main.Crash.func1) counts the function's literals.
//
//overmind:function capture=none
func Crash(kind string) {
	block := make(chan struct{})
	if kind == "literal" {
		go func() {
			panic("boom in a literal")
		}()
	} else {
		go explode(kind)
	}
	<-block
}

func explode(kind string) {
	panic("boom in " + kind)
}
