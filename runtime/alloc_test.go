package overmind

import (
	"context"
	"errors"
	"maps"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/overmind-core/overmind-go/runtime/internal/gls"
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

// The functions below take pointers, slices and variadic parameters,
// written exactly as the generator writes them: Values.Add must not make
// the caller's arguments escape to the heap.

type vec struct{ X, Y float64 }

//go:noinline
func instrumentedNorm(v *vec) (_omr0 float64) {
	_om := Enter(SpanTypeFunction, "Norm", "example.com/p.Norm", func(in *Values) { in.Add("v", v) })
	if _om != nil {
		defer func() { _om.Exit(recover(), nil, func(out *Values) { out.Add("", _omr0) }) }()
	}
	return v.X*v.X + v.Y*v.Y
}

//go:noinline
func instrumentedTotal(label string, xs ...int) (total int) {
	_om := Enter(SpanTypeFunction, "Total", "example.com/p.Total", func(in *Values) { in.Add("label", label); in.Add("xs", xs) })
	if _om != nil {
		defer func() { _om.Exit(recover(), nil, func(out *Values) { out.Add("total", total) }) }()
	}
	for _, x := range xs {
		total += x
	}
	return
}

//go:noinline
func instrumentedFirst(ctx context.Context, buf []byte) (_omr0 byte, _omr1 error) {
	ctx, _om := EnterContext(ctx, SpanTypeTool, "first", "example.com/p.First", func(in *Values) { in.Add("buf", buf) })
	if _om != nil {
		defer func() { _om.Exit(recover(), _omr1, func(out *Values) { out.Add("", _omr0) }) }()
	}
	_ = ctx
	if len(buf) == 0 {
		return 0, errors.New("empty")
	}
	return buf[0], nil
}

// instrumentedCopy returns a pointer and a slice, recorded as outputs.
//
//go:noinline
func instrumentedCopy(dst []int, src *[4]int) (_omr0 []int, _omr1 *[4]int) {
	_om := Enter(SpanTypeFunction, "Copy", "example.com/p.Copy", func(in *Values) { in.Add("dst", dst); in.Add("src", src) })
	if _om != nil {
		defer func() { _om.Exit(recover(), nil, func(out *Values) { out.Add("", _omr0); out.Add("", _omr1) }) }()
	}
	copy(dst, src[:])
	return dst, src
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
	// Pointers, slices and variadic arguments stay on the caller's stack
	// where the runtime can hide them from escape analysis.
	stackArgs := map[string]func(){
		"pointer parameter": func() {
			v := vec{X: 3, Y: 4}
			instrumentedNorm(&v)
		},
		"variadic parameter": func() { instrumentedTotal("sum", 1, 2, 3) },
		"slice parameter": func() {
			var buf [8]byte
			instrumentedFirst(ctx, buf[:])
		},
		"pointer and slice results": func() {
			var dst [4]int
			src := [4]int{1, 2, 3, 4}
			instrumentedCopy(dst[:], &src)
		},
		"SetTag pointer": func() {
			o := Order{ID: "x"}
			SetTag(ctx, "order", &o)
		},
		"SetTag slice": func() {
			ids := [3]int{1, 2, 3}
			SetTag(ctx, "ids", ids[:])
		},
	}
	if gls.HidesValues {
		maps.Copy(cases, stackArgs)
	}
	for name, f := range cases {
		if allocs := testing.AllocsPerRun(100, f); allocs != 0 {
			t.Errorf("%s: %v allocations per call before Init, want 0", name, allocs)
		}
	}
}
