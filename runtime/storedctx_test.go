package overmind

import (
	"context"
	"testing"
)

// entry is like logrus's Entry, whose WithContext stores its context.
type entry struct{ ctx context.Context }

// withContext is shaped like the code generated for a function that
// stores its context parameter: the span's context is not assigned back.
func (e *entry) withContext(ctx context.Context) *entry {
	_, om := EnterContext(ctx, SpanTypeFunction, "withContext", "example.com/log.entry.withContext", nil)
	if om != nil {
		defer om.Leave(nil, nil)
	}
	lookup(ctx) // a callee given the caller's context
	viaGoroutine(ctx)
	return &entry{ctx: ctx}
}

// viaGoroutine has no context of its own: it nests through the goroutine,
// and passes on the context it was handed.
func viaGoroutine(ctx context.Context) {
	om := Enter(SpanTypeFunction, "viaGoroutine", "example.com/log.viaGoroutine", nil)
	if om != nil {
		defer om.Leave(nil, nil)
	}
	lookup(ctx)
}

func lookup(ctx context.Context) {
	ctx, om := EnterContext(ctx, SpanTypeTool, "lookup", "example.com/log.lookup", nil)
	if om != nil {
		defer om.Leave(nil, nil)
	}
	_ = ctx
}

// TestStoredContextKeepsNesting: a function that keeps its caller's
// context stores exactly that context, and the callees it passes it to
// still nest under its span, directly and through a call that nests by
// the goroutine; a call made with the same context after it returned
// nests under the context's span again.
func TestStoredContextKeepsNesting(t *testing.T) {
	rec := recordForTest(t, Config{})
	ctx, root := StartSpan(context.Background(), SpanTypeEntryPoint, "root")
	e := (&entry{}).withContext(ctx)
	if e.ctx != ctx {
		t.Error("the stored context is not the caller's")
	}
	lookup(ctx)
	root.End()
	want := `root
  withContext
    lookup
    viaGoroutine
      lookup
  lookup
`
	if got := tree(rec.Ended()); got != want {
		t.Fatalf("tree:\n%s\nwant:\n%s", got, want)
	}
}
