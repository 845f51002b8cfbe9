package overmind

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

// A github.com/pkg/errors-like chain, every method instrumented as the
// overmind command instruments it: Error's result is its output; Unwrap's
// and Cause's error result is their value (an output), not a failure.

type chainRoot struct{ msg string }

func (f *chainRoot) Error() (msg string) {
	om := Enter(SpanTypeFunction, "chainRoot.Error", "example.com/errs.chainRoot.Error", nil)
	if om != nil {
		defer om.Leave(nil, func(out *Values) { out.Add("", msg) })
	}
	return f.msg
}

type chainLink struct {
	cause error
	msg   string
}

func (w *chainLink) Error() (msg string) {
	om := Enter(SpanTypeFunction, "chainLink.Error", "example.com/errs.chainLink.Error", nil)
	if om != nil {
		defer om.Leave(nil, func(out *Values) { out.Add("", msg) })
	}
	return w.msg + ": " + w.cause.Error()
}

func (w *chainLink) Unwrap() (inner error) {
	om := Enter(SpanTypeFunction, "chainLink.Unwrap", "example.com/errs.chainLink.Unwrap", nil)
	if om != nil {
		defer om.Leave(nil, func(out *Values) { out.Add("", inner) })
	}
	return w.cause
}

// chain builds an error wrapped depth times.
func chain(depth int) error {
	var err error = &chainRoot{"root cause"}
	for i := range depth {
		err = &chainLink{cause: err, msg: fmt.Sprintf("layer %d", i)}
	}
	return err
}

// failWithChain returns err as its failure.
func failWithChain(err error) (e error) {
	om := Enter(SpanTypeFunction, "failWithChain", "example.com/errs.failWithChain", nil)
	if om != nil {
		defer om.Leave(&e, nil)
	}
	return err
}

// TestUnwrapOfDeepChainIsOneSpan: one errors.Unwrap of a 12-deep chain is
// one span, a success whose output is the wrapped error. Recording that
// output calls the chain's Error methods, which open nothing.
func TestUnwrapOfDeepChainIsOneSpan(t *testing.T) {
	err := chain(12)
	rec := recordForTest(t, Config{})
	inner := errors.Unwrap(err)
	s := onlySpan(t, rec.Ended())
	if s.Name() != "chainLink.Unwrap" {
		t.Fatalf("span %s", s.Name())
	}
	wantAttr(t, s, "overmind.status", "success")
	out, _ := json.Marshal(inner.Error())
	wantAttr(t, s, "outputs", string(out))
}

// TestRecordingAFailureOpensNoSpans: ending a span failed by a deep chain
// reads the chain's message, type and cancellation (Error, Unwrap and
// Is through every link), and none of those calls is traced.
func TestRecordingAFailureOpensNoSpans(t *testing.T) {
	err := chain(12)
	rec := recordForTest(t, Config{})
	failWithChain(err)
	s := onlySpan(t, rec.Ended())
	wantAttr(t, s, "overmind.status", "failed")
	wantAttr(t, s, "overmind.error.type", "*overmind.chainLink")
}

// marshalsItself is an input whose MarshalJSON is instrumented.
type marshalsItself struct{ n int }

func (m marshalsItself) MarshalJSON() (b []byte, err error) {
	om := Enter(SpanTypeFunction, "marshalsItself.MarshalJSON", "example.com/errs.marshalsItself.MarshalJSON", nil)
	if om != nil {
		defer om.Leave(&err, func(out *Values) { out.Add("", b) })
	}
	return json.Marshal(m.n)
}

func takesMarshaler(m marshalsItself) (same marshalsItself) {
	om := Enter(SpanTypeFunction, "takesMarshaler", "example.com/errs.takesMarshaler", func(in *Values) { in.Add("m", m) })
	if om != nil {
		defer om.Leave(nil, func(out *Values) { out.Add("", same) })
	}
	return m
}

// TestSerializingOpensNoSpans: the serializer's calls of an input's and an
// output's instrumented MarshalJSON are not traced; the program's own
// calls are.
func TestSerializingOpensNoSpans(t *testing.T) {
	rec := recordForTest(t, Config{})
	takesMarshaler(marshalsItself{7})
	s := onlySpan(t, rec.Ended())
	wantAttr(t, s, "inputs", `{"m":7}`)
	wantAttr(t, s, "outputs", "7")

	json.Marshal(marshalsItself{8})
	if n := len(rec.Ended()); n != 2 {
		t.Fatalf("%d spans after the program's own MarshalJSON call, want 2", n)
	}
}

// TestHelpersOpenNoSpansWhileRecording: SetTag serializes a value whose
// MarshalJSON is instrumented without tracing it.
func TestHelpersOpenNoSpansWhileRecording(t *testing.T) {
	rec := recordForTest(t, Config{})
	ctx, span := StartSpan(t.Context(), SpanTypeFunction, "block")
	SetTag(ctx, "value", marshalsItself{9})
	span.End()
	s := onlySpan(t, rec.Ended())
	wantAttr(t, s, "value", "9")
}

// BenchmarkUnwrapDeepChain: one errors.Unwrap of a 12-deep chain whose
// methods are instrumented, tracing on (one span), against the same
// with tracing off:
//
//	go test -run '^$' -bench UnwrapDeepChain -benchmem ./runtime/
func BenchmarkUnwrapDeepChain(b *testing.B) {
	err := chain(12)
	b.Run("ratio", func(b *testing.B) {
		initBench(b)
		on := active.Load()
		benchRatioN(b, 20,
			func() { active.Store(on); _ = errors.Unwrap(err) },
			func() { active.Store(nil); _ = errors.Unwrap(err) })
		active.Store(on)
	})
	b.Run("on", func(b *testing.B) {
		initBench(b)
		b.ReportAllocs()
		for b.Loop() {
			_ = errors.Unwrap(err)
		}
	})
}

// TestMarshalRecordingOpensNoSpans: the serializer the verbs and the
// provider capture use marks the goroutine as recording too.
func TestMarshalRecordingOpensNoSpans(t *testing.T) {
	rec := recordForTest(t, Config{})
	if got := marshalRecording(marshalsItself{3}, active.Load().jsonOpts); got != "3" {
		t.Fatalf("encoded %q", got)
	}
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("%d spans opened while recording", n)
	}
}
