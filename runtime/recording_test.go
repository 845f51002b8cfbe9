package overmind

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// plantedKey is a credential planted in error texts: it must not reach
// any attribute or event of any span.
const plantedKey = "sk-proj-PLANTEDPLANTEDPLANTED01"

var plantedErr = errors.New("request failed: Authorization: Bearer " + plantedKey)

type fetchResult struct {
	Status int
	Err    error
}

// fetchBoth returns an error that is not its last result.
func fetchBoth(ctx context.Context, cause error) (failure error, n int) {
	ctx, om := EnterContext(ctx, SpanTypeTool, "fetch_both", "example.com/shop.fetchBoth", func(in *Values) { in.Add("cause", cause) })
	if om != nil {
		defer om.Leave(nil, func(out *Values) { out.Add("", failure); out.Add("", n) })
	}
	_ = ctx
	return cause, 1
}

// fetchStruct returns an error in a struct field.
func fetchStruct(ctx context.Context, cause error) (r fetchResult) {
	ctx, om := EnterContext(ctx, SpanTypeTool, "fetch_struct", "example.com/shop.fetchStruct", func(in *Values) { in.Add("in", fetchResult{Err: cause}) })
	if om != nil {
		defer om.Leave(nil, func(out *Values) { out.Add("", r) })
	}
	_ = ctx
	return fetchResult{Status: 502, Err: cause}
}

// spanTexts returns every string an exporter would send for s.
func spanTexts(s sdktrace.ReadOnlySpan) []string {
	texts := []string{s.Name(), s.Status().Description}
	for _, kv := range s.Attributes() {
		texts = append(texts, string(kv.Key)+"="+kv.Value.Emit())
	}
	for _, ev := range s.Events() {
		for _, kv := range ev.Attributes {
			texts = append(texts, ev.Name+":"+string(kv.Key)+"="+kv.Value.Emit())
		}
	}
	return texts
}

func TestErrorTextsScrubbedOnEverySpanPath(t *testing.T) {
	rec := recordForTest(t, Config{})
	ctx := context.Background()

	fetchBoth(ctx, plantedErr)
	fetchStruct(ctx, fmt.Errorf("wrapped: %w", plantedErr))
	func() {
		ctx, span := StartSpan(ctx, SpanTypeFunction, "tags_and_exceptions")
		defer span.End()
		SetTag(ctx, "last_error", plantedErr)
		SetTag(ctx, "result", fetchResult{Err: plantedErr})
		SetTag(ctx, "errors", []error{plantedErr})
		CaptureException(ctx, plantedErr)
		span.SetError(plantedErr)
	}()
	failWith(ctx, plantedErr, nil)
	func() {
		defer func() { _ = recover() }()
		failWith(ctx, nil, plantedErr)
	}()
	func() {
		defer func() { _ = recover() }()
		failWith(ctx, nil, "panicked with "+plantedErr.Error())
	}()

	spans := rec.Ended()
	if len(spans) != 6 {
		t.Fatalf("%d spans ended, want 6", len(spans))
	}
	redacted := 0
	for _, s := range spans {
		for _, text := range spanTexts(s) {
			if strings.Contains(text, "PLANTED") {
				t.Errorf("span %q leaks the planted key: %s", s.Name(), text)
			}
			if strings.Contains(text, "<redacted>") {
				redacted++
			}
		}
	}
	if redacted < 12 {
		t.Errorf("only %d texts carry <redacted>: the error texts did not reach the spans", redacted)
	}
}
