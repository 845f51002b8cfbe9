package overmind

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/overmind-core/overmind-go/runtime/internal/jsonvalue"
)

// walk is shaped like generated code: a recursion whose input, the path
// walked so far, grows by one step at each level.
func walk(path []string, n int) (steps int) {
	om := Enter(SpanTypeFunction, "walk", "example.com/rec.walk", func(in *Values) { in.Add("path", path) })
	if om != nil {
		defer om.Leave(nil, func(out *Values) { out.Add("", steps) })
	}
	if n == 0 {
		return len(path)
	}
	return walk(append(path, strings.Repeat("s", 100)), n-1)
}

// TestRecursionRecordsWithinBudget: the inputs a deep recursion records
// add up to the goroutine's budget plus a small bound per level, however
// much its inputs grow, instead of the square of its depth.
func TestRecursionRecordsWithinBudget(t *testing.T) {
	rec := recordForTest(t, Config{})
	const depth = 300
	walk(nil, depth)
	spans := rec.Ended()
	if len(spans) != depth+1 {
		t.Fatalf("%d spans", len(spans))
	}
	total, cut := 0, 0
	for _, s := range spans {
		in := attrsOf(s)["inputs"].AsString()
		total += len(in)
		if strings.HasSuffix(in, jsonvalue.TruncationMark) {
			cut++
		}
	}
	limit := budgetAttributes*jsonvalue.DefaultMaxBytes + (depth+1)*(minRecordBytes+len(jsonvalue.TruncationMark)+8)
	if total > limit {
		t.Errorf("the recursion recorded %d bytes of inputs, want at most %d", total, limit)
	}
	// The outermost levels, whose paths are short, are recorded whole.
	for _, s := range spans[len(spans)-5:] {
		if in := attrsOf(s)["inputs"].AsString(); strings.HasSuffix(in, jsonvalue.TruncationMark) {
			t.Errorf("an outer level was cut: %.80s...", in)
		}
	}
	if cut == 0 {
		t.Error("nothing was cut: the test proves nothing")
	}
}

// TestBudgetIsPerGoroutineStack: once the calls that used the budget have
// ended, the next call records in full again.
func TestBudgetIsPerGoroutineStack(t *testing.T) {
	rec := recordForTest(t, Config{MaxAttributeBytes: 1024})
	walk(nil, 100)
	big := make([]string, 0, 200)
	for range 200 {
		big = append(big, strings.Repeat("s", 100))
	}
	walk(big[:9], 0) // about 1 KiB: within the cap
	spans := rec.Ended()
	last := attrsOf(spans[len(spans)-1])["inputs"].AsString()
	if strings.HasSuffix(last, jsonvalue.TruncationMark) || len(last) < 900 {
		t.Errorf("a call after the recursion ended was cut to %d bytes", len(last))
	}
}

// sizedItem encodes as about 100 bytes of JSON.
type sizedItem struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Notes string `json:"notes"`
}

// itemsOfSize returns items whose JSON is about n bytes.
func itemsOfSize(n int) []sizedItem {
	items := make([]sizedItem, n/100)
	for i := range items {
		items[i] = sizedItem{ID: i, Name: "item", Notes: strings.Repeat("n", 60)}
	}
	return items
}

func countItems(items []sizedItem) (n int) {
	om := Enter(SpanTypeTool, "count_items", "example.com/shop.countItems", func(in *Values) { in.Add("items", items) })
	if om != nil {
		defer om.Leave(nil, func(out *Values) { out.Add("", n) })
	}
	return len(items)
}

// manualCountItems records what countItems records by hand, with the
// OpenTelemetry API and encoding/json, which encodes the input whole.
func manualCountItems(tracer trace.Tracer, items []sizedItem) (n int) {
	_, span := tracer.Start(context.Background(), "count_items")
	in, _ := json.Marshal(map[string]any{"items": items})
	span.SetAttributes(attribute.String("inputs", string(in)))
	defer func() {
		span.SetAttributes(attribute.Int("outputs", n), attribute.String("overmind.status", "success"))
		span.End()
	}()
	return len(items)
}

// BenchmarkCallInputSize: one instrumented call recording an input of 1
// KB, 32 KB and 1 MB of JSON, against a hand-written OpenTelemetry span
// that encodes the same input with encoding/json, in the same run. The
// attribute cap (32 KiB) bounds what one call serializes, so the cost
// (subject-ns/op) stops growing with the input; 1MB÷32KB measures the
// instrumented call on both inputs, interleaved:
//
//	go test -run '^$' -bench CallInputSize -benchmem ./runtime/
func BenchmarkCallInputSize(b *testing.B) {
	b.Run("1MB÷32KB", func(b *testing.B) {
		big, small := itemsOfSize(1<<20), itemsOfSize(32<<10)
		initBench(b)
		benchRatioN(b, 10, func() { countItems(big) }, func() { countItems(small) })
	})
	for _, size := range []struct {
		name string
		n    int
	}{{"1KB", 1 << 10}, {"32KB", 32 << 10}, {"1MB", 1 << 20}} {
		items := itemsOfSize(size.n)
		b.Run(size.name+"÷hand-written", func(b *testing.B) {
			initBench(b)
			tracer := active.Load().tp.Tracer("bench")
			benchRatioN(b, 10,
				func() { countItems(items) },
				func() { manualCountItems(tracer, items) })
		})
	}
}
