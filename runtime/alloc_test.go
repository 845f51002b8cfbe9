package overmind

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

// instrumentedNoop is shaped like generated code around an empty body.
func instrumentedNoop(ctx context.Context, id string, n int) (out int, err error) {
	ctx, om := EnterContext(ctx, SpanTypeTool, "noop", "example.com/p.noop", func(in *Values) { in.Add("id", id); in.Add("n", n) })
	if om != nil {
		defer func() { om.Exit(recover(), err, func(v *Values) { v.Add("", out) }) }()
	}
	_ = ctx
	return n + 1, nil
}

func instrumentedNoCtx(id string) (out string) {
	om := Enter(SpanTypeFunction, "noctx", "example.com/p.noctx", func(in *Values) { in.Add("id", id) })
	if om != nil {
		defer func() { om.Exit(recover(), nil, func(v *Values) { v.Add("", out) }) }()
	}
	return id
}

// TestNoAllocationsBeforeInit checks the promise that, before Init, the
// generated-code API and the helpers allocate nothing.
func TestNoAllocationsBeforeInit(t *testing.T) {
	resetForTest()
	ctx := context.Background()
	errX := errors.New("x")
	n := 1000
	cases := map[string]func(){
		"EnterContext+Exit": func() { instrumentedNoop(ctx, "A-1", n) },
		"Enter+Exit":        func() { instrumentedNoCtx("A-1") },
		"StartSpan+End": func() {
			_, s := StartSpan(ctx, SpanTypeFunction, "block", attribute.Int("i", n))
			s.SetError(errX)
			s.End()
		},
		"SetTag int":        func() { SetTag(ctx, "retry.count", n) },
		"SetTag string":     func() { SetTag(ctx, "tenant", "acme") },
		"SetTag struct":     func() { SetTag(ctx, "order", Order{ID: "x"}) },
		"SetUser":           func() { SetUser(ctx, User{ID: "u", Email: "e"}) },
		"SetWorkflowName":   func() { SetWorkflowName(ctx, "w") },
		"SetAgentName":      func() { SetAgentName(ctx, "a") },
		"SetConversationID": func() { SetConversationID(ctx, "c") },
		"CaptureException":  func() { CaptureException(ctx, errX) },
		"Tracer().Start": func() {
			_, s := Tracer().Start(ctx, "raw")
			s.End()
		},
		"ForceFlush": func() { ForceFlush(ctx) },
	}
	for name, f := range cases {
		if allocs := testing.AllocsPerRun(100, f); allocs != 0 {
			t.Errorf("%s: %v allocations per call before Init, want 0", name, allocs)
		}
	}
}
