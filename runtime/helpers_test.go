package overmind

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

type tier string

type point struct{ X, Y int }

type level int

func (l level) MarshalText() ([]byte, error) { return []byte("level-" + string(rune('0'+l))), nil }

func TestSetTag(t *testing.T) {
	rec := recordForTest(t, Config{})
	ctx, span := StartSpan(context.Background(), SpanTypeFunction, "tagged")
	SetTag(ctx, "workflow", "order-processing")
	SetTag(ctx, "retry.count", 2)
	SetTag(ctx, "big", int64(1)<<40)
	SetTag(ctx, "score", 85.2)
	SetTag(ctx, "ok", true)
	SetTag(ctx, "names", []string{"a", "b"})
	SetTag(ctx, "tier", tier("gold"))
	SetTag(ctx, "port", uint16(8080))
	SetTag(ctx, "timeout", 2*time.Second)
	SetTag(ctx, "point", point{1, 2})
	SetTag(ctx, "meta", map[string]any{"k": "v", "api_key": "x"})
	SetTag(ctx, "level", level(3))
	SetTag(ctx, "session_token", "abc")
	SetTag(ctx, "", "ignored")
	span.End()

	s := onlySpan(t, rec.Ended())
	a := attrsOf(s)
	want := map[string]attribute.Value{
		"workflow":      attribute.StringValue("order-processing"),
		"retry.count":   attribute.IntValue(2),
		"big":           attribute.Int64Value(1 << 40),
		"score":         attribute.Float64Value(85.2),
		"ok":            attribute.BoolValue(true),
		"names":         attribute.StringSliceValue([]string{"a", "b"}),
		"tier":          attribute.StringValue("gold"),
		"port":          attribute.Int64Value(8080),
		"timeout":       attribute.Int64Value(int64(2 * time.Second)),
		"point":         attribute.StringValue(`{"X":1,"Y":2}`),
		"meta":          attribute.StringValue(`{"api_key":"<redacted>","k":"v"}`),
		"level":         attribute.StringValue(`"level-3"`),
		"session_token": attribute.StringValue("<redacted>"),
	}
	for k, v := range want {
		if a[k] != v {
			t.Errorf("%s = %v (%v), want %v (%v)", k, a[k].Emit(), a[k].Type(), v.Emit(), v.Type())
		}
	}
	if _, ok := a[""]; ok {
		t.Error("empty key recorded")
	}
}

func TestHelpersFallBackToGoroutineSpan(t *testing.T) {
	rec := recordForTest(t, Config{})
	func() {
		om := Enter(SpanTypeTool, "tool", "p.tool", nil)
		if om != nil {
			defer func() { om.Exit(recover(), nil, nil) }()
		}
		SetTag(context.Background(), "from", "goroutine") // no span in ctx
		SetTag(nil, "nil_ctx", 1)                         //nolint:staticcheck // a nil context is tolerated
	}()
	s := onlySpan(t, rec.Ended())
	wantAttr(t, s, "from", "goroutine")
	wantAttr(t, s, "nil_ctx", 1)
}

func TestHelpersWithoutSpanDoNothing(t *testing.T) {
	rec := recordForTest(t, Config{})
	SetTag(context.Background(), "k", "v")
	CaptureException(context.Background(), errors.New("x"))
	SetUser(context.Background(), User{ID: "u"})
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("%d spans", n)
	}
}

func TestCaptureException(t *testing.T) {
	rec := recordForTest(t, Config{})
	func() {
		om := Enter(SpanTypeFunction, "handled", "p.handled", nil)
		if om != nil {
			defer func() { om.Exit(recover(), nil, nil) }() // returns normally
		}
		CaptureException(context.Background(), errors.New("rate limited; retrying"))
		CaptureException(context.Background(), nil)
	}()
	s := onlySpan(t, rec.Ended())
	wantAttr(t, s, "overmind.status", "failed")
	wantAttr(t, s, "overmind.error.type", "*errors.errorString")
	wantAttr(t, s, "overmind.error.message", "rate limited; retrying")
	if s.Status().Code != codes.Error {
		t.Errorf("OTel status = %v", s.Status())
	}
	if len(s.Events()) != 1 || s.Events()[0].Name != "exception" {
		t.Errorf("events = %+v", s.Events())
	}
}

func TestStartSpan(t *testing.T) {
	rec := recordForTest(t, Config{})
	ctx, outer := StartSpan(context.Background(), SpanTypeWorkflow, "batch")
	for i := range 3 {
		_, span := StartSpan(ctx, "", "process_document", attribute.Int("doc.index", i))
		webSearch("doc") // no context: nests under the block's span
		if i == 1 {
			span.SetError(errors.New("bad document"))
		}
		span.End()
		span.End() // twice is harmless
	}
	outer.End()

	spans := rec.Ended()
	want := "batch\n  process_document\n    web_search\n  process_document\n    web_search\n  process_document\n    web_search\n"
	if got := tree(spans); got != want {
		t.Fatalf("tree:\n%s\nwant:\n%s", got, want)
	}
	var docs []string
	for _, s := range spans {
		if s.Name() == "process_document" {
			a := attrsOf(s)
			docs = append(docs, a["doc.index"].Emit()+":"+a["overmind.status"].AsString()+":"+a["overmind.span.type"].AsString())
			wantNoAttr(t, s, "inputs")
		}
	}
	if got := strings.Join(docs, " "); got != "0:success:function 1:failed:function 2:success:function" {
		t.Fatalf("documents: %s", got)
	}
}

func TestStartSpanRecordsPanicWhenDeferred(t *testing.T) {
	rec := recordForTest(t, Config{})
	func() {
		defer func() {
			if r := recover(); r != "kaput" {
				t.Errorf("recovered %v", r)
			}
		}()
		_, span := StartSpan(context.Background(), SpanTypeFunction, "block")
		defer span.End()
		panic("kaput")
	}()
	s := onlySpan(t, rec.Ended())
	wantAttr(t, s, "overmind.status", "failed")
	wantAttr(t, s, "overmind.error.type", "panic")
	wantAttr(t, s, "overmind.error.message", "kaput")
}

func TestStartSpanEndedOnAnotherGoroutine(t *testing.T) {
	rec := recordForTest(t, Config{})
	_, span := StartSpan(context.Background(), SpanTypeFunction, "async")
	done := make(chan struct{})
	go func() { defer close(done); span.End() }()
	<-done
	webSearch("after") // the ended span is no longer this goroutine's current one
	if got := tree(rec.Ended()); got != "async\nweb_search\n" {
		t.Fatalf("tree:\n%s", got)
	}
}

func TestTracerNestsUnderGoroutineSpan(t *testing.T) {
	tracer := Tracer() // obtained before Init
	resetForTest()
	if _, s := tracer.Start(context.Background(), "before"); s.IsRecording() {
		t.Fatal("span recording before Init")
	}
	rec := recordForTest(t, Config{})
	func() {
		om := Enter(SpanTypeWorkflow, "outer", "p.outer", nil)
		if om != nil {
			defer func() { om.Exit(recover(), nil, nil) }()
		}
		_, raw := tracer.Start(context.Background(), "manual_step")
		raw.End()
	}()
	if got := tree(rec.Ended()); got != "outer\n  manual_step\n" {
		t.Fatalf("tree:\n%s", got)
	}
}

func TestLabelsReachSpansBelow(t *testing.T) {
	rec := recordForTest(t, Config{})
	func() {
		om := Enter(SpanTypeEntryPoint, "handle", "p.handle", nil)
		if om != nil {
			defer func() { om.Exit(recover(), nil, nil) }()
		}
		SetUser(context.Background(), User{ID: "user-123", Email: "u@example.com"})
		SetWorkflowName(context.Background(), "support")
		SetConversationID(context.Background(), "conv-9")
		research("topic") // nested via the goroutine
		func() {
			ctx := SetAgentName(context.Background(), "greeter")
			_, raw := Tracer().Start(ctx, "llm_call") // as the provider capture starts spans
			raw.End()
		}()
	}()
	for _, s := range rec.Ended() {
		wantAttr(t, s, "user.id", "user-123")
		wantAttr(t, s, "user.email", "u@example.com")
		wantAttr(t, s, "traceloop.workflow.name", "support")
		wantAttr(t, s, "conversation.id", "conv-9")
		if s.Name() == "llm_call" || s.Name() == "handle" {
			wantAttr(t, s, "gen_ai.agent.name", "greeter")
		} else {
			wantNoAttr(t, s, "gen_ai.agent.name")
		}
	}
	if len(rec.Ended()) != 4 {
		t.Fatalf("%d spans", len(rec.Ended()))
	}
}

func TestLabelsCarriedByContextBeforeAnySpan(t *testing.T) {
	rec := recordForTest(t, Config{})
	ctx := SetUser(context.Background(), User{ID: "u1", Username: "ann"}) // middleware, no span yet
	ctx = SetWorkflowName(ctx, "checkout")
	handleRequestCtx(ctx, "q")
	for _, s := range rec.Ended() {
		wantAttr(t, s, "user.id", "u1")
		wantAttr(t, s, "user.username", "ann")
		wantAttr(t, s, "traceloop.workflow.name", "checkout")
	}
	// Spans outside that context are not labelled.
	webSearch("other")
	last := rec.Ended()[len(rec.Ended())-1]
	wantNoAttr(t, last, "user.id")
}

func TestPromptString(t *testing.T) {
	tmpl := "You are {role}. Your name is {agent_name}; {{literal}} {missing} {n}"
	kwargs := map[string]any{"agent_name": "Astra", "role": "a support agent", "n": 3, "api_key": "x"}

	resetForTest()
	want := "You are a support agent. Your name is Astra; {literal} {missing} 3"
	if got := PromptString("greeter_v1", tmpl, kwargs); got != want {
		t.Fatalf("before Init: %q", got)
	}
	if _, ok := lookupPrompt(want); ok {
		t.Fatal("prompt remembered before Init")
	}

	recordForTest(t, Config{})
	if got := PromptString("greeter_v1", tmpl, kwargs); got != want {
		t.Fatalf("PromptString = %q", got)
	}
	p, ok := lookupPrompt(want)
	if !ok {
		t.Fatal("rendered prompt not found")
	}
	if p.ID != "greeter_v1" || p.Template != tmpl || len(p.Hash) != 64 || p.Hash != promptHash(tmpl) {
		t.Fatalf("prompt info %+v", p)
	}
	if p.Kwargs != `{"agent_name":"Astra","api_key":"<redacted>","n":3,"role":"a support agent"}` {
		t.Fatalf("kwargs %s", p.Kwargs)
	}
	if PromptString("other", "x {a}", map[string]any{"a": 1}); promptHash("x {a}") == p.Hash {
		t.Fatal("different templates, same hash")
	}
	attrs := p.attributes()
	if len(attrs) != 4 || attrs[1].Key != "overmind.prompt.hash" {
		t.Fatalf("attributes %v", attrs)
	}
}

func TestPromptRegistryBounded(t *testing.T) {
	var r promptRegistry
	for i := range maxPrompts + 10 {
		r.add(strings.Repeat("x", i+1), promptInfo{ID: "p"})
	}
	if len(r.byText) != maxPrompts {
		t.Fatalf("%d prompts kept", len(r.byText))
	}
	if _, ok := r.lookup("x"); ok {
		t.Fatal("oldest prompt not evicted")
	}
}

func TestSpanParentGlue(t *testing.T) {
	resetForTest()
	if activeTracer() != nil {
		t.Fatal("tracer before Init")
	}
	if ctx := spanParent(nil); ctx == nil || trace.SpanContextFromContext(ctx).IsValid() { //nolint:staticcheck // nil tolerated
		t.Fatal("spanParent(nil) before Init")
	}
	recordForTest(t, Config{})
	om := Enter(SpanTypeFunction, "current", "p.current", nil)
	got := trace.SpanContextFromContext(spanParent(context.Background()))
	if !got.Equal(om.span.SpanContext()) {
		t.Fatal("spanParent does not return the goroutine's span")
	}
	om.Exit(nil, nil, nil)
	if serialize(map[string]string{"password": "x"}) != `{"password":"<redacted>"}` {
		t.Fatal("serialize does not redact")
	}
	if serializeObject([]string{"a"}, []any{1}) != `{"a":1}` {
		t.Fatal("serializeObject")
	}
}

func TestProviders(t *testing.T) {
	resetForTest()
	var seen []providerSet
	providerHooksMu.Lock()
	saved := providerHooks
	providerHooksMu.Unlock()
	t.Cleanup(func() {
		providerHooksMu.Lock()
		providerHooks = saved
		providerHooksMu.Unlock()
	})
	onProvidersEnabled(func(s providerSet) { seen = append(seen, s) })

	initForTest(t, Config{Providers: []string{"OpenAI"}})
	if err := Init(Config{Providers: []string{"gemini"}}); err != nil {
		t.Fatal(err)
	}
	openAI, google := providerNamed(t, "openai"), providerNamed(t, "google")
	if got := enabledProviders(); got != openAI|google {
		t.Fatalf("enabled = %v", got)
	}
	if len(seen) != 2 || seen[0] != openAI || seen[1] != openAI|google {
		t.Fatalf("hook saw %v", seen)
	}
	if err := Init(Config{Providers: []string{"agno", "cohere"}}); err == nil || !strings.Contains(err.Error(), `"agno", "cohere"`) {
		t.Fatalf("unknown providers: err = %v", err)
	}
	if got := enabledProviders(); got != openAI|google {
		t.Fatalf("a failed Init changed providers: %v", got)
	}
	resetForTest()
	initForTest(t, Config{})
	if enabledProviders() != allProviders {
		t.Fatal("empty Providers should enable all")
	}
}

// providerNamed is the set of the one provider name stands for.
func providerNamed(t *testing.T, name string) providerSet {
	t.Helper()
	set, err := parseProviders([]string{name})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// helperCallingProcessor calls the helpers from inside span processing, as
// a user's processor might.
type helperCallingProcessor struct{}

func (helperCallingProcessor) OnStart(ctx context.Context, s sdktrace.ReadWriteSpan) {
	SetTag(context.Background(), "processor.saw_start", s.Name())
}
func (helperCallingProcessor) OnEnd(sdktrace.ReadOnlySpan)      { currentCall() }
func (helperCallingProcessor) Shutdown(context.Context) error   { return nil }
func (helperCallingProcessor) ForceFlush(context.Context) error { return nil }

func TestHelpersInsideSpanProcessors(t *testing.T) {
	rec := recordForTest(t, Config{SpanProcessors: []sdktrace.SpanProcessor{helperCallingProcessor{}}})
	handleRequest("q")
	spans := endedByName(t, rec.Ended())
	// While a span starts, the goroutine's current span is still its parent.
	wantAttr(t, spans["handle_request"], "processor.saw_start", "research")
	wantAttr(t, spans["research"], "processor.saw_start", "web_search")
}

func TestCaptureExceptionCancellation(t *testing.T) {
	rec := recordForTest(t, Config{})
	func() {
		om := Enter(SpanTypeFunction, "cancelled", "p.cancelled", nil)
		if om != nil {
			defer func() { om.Exit(recover(), nil, nil) }() // returns normally
		}
		CaptureException(context.Background(), fmt.Errorf("waiting: %w", context.Canceled))
	}()
	func() {
		om := Enter(SpanTypeFunction, "failed_then_cancelled", "p.failed", nil)
		if om != nil {
			defer func() { om.Exit(recover(), nil, nil) }()
		}
		CaptureException(context.Background(), errors.New("upstream 500"))
		CaptureException(context.Background(), context.DeadlineExceeded) // does not undo the failure
	}()
	spans := endedByName(t, rec.Ended())
	s := spans["cancelled"]
	wantAttr(t, s, "overmind.status", "cancelled") // as for a function returning the error
	wantAttr(t, s, "overmind.error.message", "waiting: context canceled")
	if s.Status().Code == codes.Error || len(s.Events()) != 0 {
		t.Errorf("a cancellation made the span an OTel error: status %+v, events %+v", s.Status(), s.Events())
	}
	f := spans["failed_then_cancelled"]
	wantAttr(t, f, "overmind.status", "failed")
	wantAttr(t, f, "overmind.error.message", "upstream 500")
	if f.Status().Code != codes.Error {
		t.Errorf("OTel status = %+v", f.Status())
	}
}

// brokenError's Error method panics.
type brokenError struct{}

func (*brokenError) Error() string { panic("broken Error") }

// No public entry point panics on odd input: nil contexts, nil and broken
// errors, empty names, nil processors.
func TestOddInputsDoNotPanic(t *testing.T) {
	var nilErr *brokenError // a typed nil error: its Error panics too
	rec := recordForTest(t, Config{SpanProcessors: []sdktrace.SpanProcessor{nil}})
	if err := Init(Config{SpanProcessors: []sdktrace.SpanProcessor{nil}}); err != nil {
		t.Fatal(err)
	}
	//nolint:staticcheck // nil contexts are the point
	func() {
		ctx, c := EnterContext(nil, "", "", "", nil)
		_ = ctx
		c.Exit(nil, &brokenError{}, func(*Values) {})
		_, c = EnterContext(context.Background(), "", "", ".", func(in *Values) { in.Add("", nil) })
		c.Exit(nil, nilErr, nil)
		_, s := StartSpan(nil, "", "")
		SetTag[any](nil, "nil", nil)
		SetTag(nil, "nilptr", (*Order)(nil))
		SetTag(nil, "err", error(&brokenError{}))
		CaptureException(nil, &brokenError{})
		CaptureException(nil, nilErr)
		CaptureException(nil, nil)
		SetUser(nil, User{})
		SetWorkflowName(nil, "")
		_, raw := Tracer().Start(nil, "")
		raw.End()
		s.SetError(&brokenError{})
		s.End()
		s.End()
		PromptString("", "{x} {", map[string]any{"x": nilErr})
		PromptString("", "", nil)
		if err := ForceFlush(nil); err != nil {
			t.Error(err)
		}
	}()
	if n := len(rec.Ended()); n != 4 {
		t.Errorf("%d spans ended, want 4", n)
	}
	if err := Shutdown(nil); err != nil { //nolint:staticcheck
		t.Error(err)
	}
}
