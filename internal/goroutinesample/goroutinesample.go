// Package goroutinesample describes what the sample program
// testdata/goroutines must do, for the end-to-end tests of both drivers:
// what it prints and the spans it exports.
package goroutinesample

import (
	"slices"
	"strings"
	"testing"

	"github.com/overmind-core/overmind-go/internal/otlptest"
)

// Output is what the sample program testdata/goroutines prints
// when it runs normally, instrumented or not.
const Output = "lookup user-7\nreport 10 20\nsquare 1\nsquare 4\nsquare 9\nsum 6\n"

// CheckSpans checks the spans the sample program
// testdata/goroutines exports: handle, and under it, in one trace, the
// spans its goroutines opened (Sum in a func literal, through the
// goroutine's current span; lookup in another, through the context it is
// passed; three squares in a worker), each carrying handle's labels
// (user=userID conversation=threadID).
func CheckSpans(t testing.TB, spans []otlptest.Span) {
	t.Helper()
	var root *otlptest.Span
	for i, s := range spans {
		if s.Name == "handle" {
			root = &spans[i]
		}
	}
	if root == nil {
		t.Fatalf("no handle span among:\n%s", otlptest.Tree(spans))
	}
	var children []string
	for _, s := range spans {
		if s.TraceID != root.TraceID {
			t.Errorf("span %s is in another trace than handle:\n%s", s.Name, otlptest.Tree(spans))
		}
		if s.SpanID != root.SpanID {
			if s.ParentSpanID != root.SpanID {
				t.Errorf("span %s is not a child of handle:\n%s", s.Name, otlptest.Tree(spans))
			}
			children = append(children, s.Name)
		}
		for key, want := range map[string]string{"user.id": "user-7", "conversation.id": "thread-9", "gen_ai.conversation.id": "thread-9"} {
			if got := s.Attrs[key]; got != want {
				t.Errorf("span %s: %s = %v, want %q", s.Name, key, got, want)
			}
		}
	}
	slices.Sort(children)
	if got, want := strings.Join(children, " "), "Sum lookup square square square"; got != want {
		t.Errorf("handle's children are %q, want %q", got, want)
	}
}
