// Command e2e is the sample program of the end-to-end test: annotated
// functions of every shape, called so that spans nest through contexts,
// through the goroutine's current span, and through HTTP requests, and so
// that they succeed, fail, panic and get cancelled. It prints the same
// whether it is instrumented or not.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	overmind "github.com/overmind-core/overmind-go/runtime"
)

func main() {
	if err := overmind.Init(overmind.Config{ServiceName: "e2e-sample"}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer overmind.Shutdown(context.Background())

	answer, err := HandleQuery(context.Background(), "user-1", "where is A-1001?")
	fmt.Printf("answer: %q, err: %v\n", answer, err)
	_, err = HandleQuery(context.Background(), "user-2", "where is missing?")
	fmt.Printf("err: %v\n", err)

	fmt.Printf("recovered: %v\n", SafeCall())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fmt.Printf("cancelled: %v\n", Wait(ctx))

	s := &Stack[string]{}
	s.Push("a")
	s.Push("b")
	v, ok := s.Pop()
	fmt.Printf("pop: %s %v, sum: %d\n", v, ok, Sum(1, 2, 3))

	rec := httptest.NewRecorder()
	ServeOrder(rec, httptest.NewRequest("GET", "/orders/A-1001", nil))
	fmt.Printf("http: %d %s\n", rec.Code, strings.TrimSpace(rec.Body.String()))

	fmt.Printf("login: %v\n", Login("ada", "hunter2"))

	fmt.Printf("positions: %s %s\n", Templated(), untemplated())
}

// Order is an order.
type Order struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// HandleQuery is the entry point of a support request.
//
//overmind:entry_point handle_query
func HandleQuery(ctx context.Context, userID, question string) (string, error) {
	return Research(ctx, question)
}

// Research looks things up and answers.
//
//overmind:workflow research
func Research(ctx context.Context, question string) (string, error) {
	hits := WebSearch(question)
	id := strings.TrimSuffix(strings.Fields(question)[2], "?")
	order, err := LookupOrder(ctx, id)
	if err != nil {
		return "", fmt.Errorf("research: %w", err)
	}
	return fmt.Sprintf("%s is %s (%d hits)", order.ID, order.Status, len(hits)), nil
}

// WebSearch has no context: it nests through the goroutine's current span.
//
//overmind:tool web_search
func WebSearch(query string) []string {
	return []string{"faq: " + query, "blog: " + query}
}

var errNotFound = errors.New("order not found")

// LookupOrder finds an order.
//
//overmind:tool lookup_order
func LookupOrder(ctx context.Context, orderID string) (Order, error) {
	if orderID != "A-1001" {
		return Order{}, errNotFound
	}
	return Order{ID: orderID, Status: "shipped"}, nil
}

// SafeCall recovers the panic of Explode.
func SafeCall() (r any) {
	defer func() { r = recover() }()
	Explode()
	return nil
}

// Explode panics.
//
//overmind:function
func Explode() {
	panic("boom")
}

// Wait returns the context's error.
//
//overmind:function
func Wait(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// Stack is a stack.
type Stack[T any] struct{ items []T }

// Push pushes.
//
//overmind:function
func (s *Stack[T]) Push(v T) { s.items = append(s.items, v) }

// Pop pops.
//
//overmind:function
func (s *Stack[T]) Pop() (T, bool) {
	var zero T
	if len(s.items) == 0 {
		return zero, false
	}
	v := s.items[len(s.items)-1]
	s.items = s.items[:len(s.items)-1]
	return v, true
}

// Sum adds.
//
//overmind:function
func Sum(xs ...int) (total int) {
	for _, x := range xs {
		total += x
	}
	return
}

// ServeOrder is an HTTP handler.
//
//overmind:entry_point serve_order
func ServeOrder(w http.ResponseWriter, r *http.Request) {
	order, err := LookupOrder(r.Context(), strings.TrimPrefix(r.URL.Path, "/orders/"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	fmt.Fprintln(w, order.Status)
}

// Login records nothing about its arguments.
//
//overmind:function login capture=none
func Login(user, password string) bool {
	return user == "ada" && password == "hunter2"
}

// The functions below report their own positions, which //line directives
// set, as in code generated from a template. They come last: a directive
// holds until the next one.

// Templated is instrumented.
//
//overmind:function
func Templated() string {
//line template.tmpl:42
	_, file, line, _ := runtime.Caller(0)
	return fmt.Sprintf("%s:%d", filepath.Base(file), line)
}

// untemplated is not.
func untemplated() string {
//line other.tmpl:7
	_, file, line, _ := runtime.Caller(0)
	return fmt.Sprintf("%s:%d", filepath.Base(file), line)
}
