package overmind

import (
	"context"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys of the values the context helpers stamp on spans. Where
// Overmind reads a key of its own (or of an older convention), the
// OpenTelemetry semantic conventions' key (semconv v1.41.0) is written
// beside it with the same value. They are spelled out rather than taken
// from the semconv package, which would add a 690 KB package to the
// runtime's build for six strings; TestLabelKeysMatchSemconv checks them.
const (
	// attrWorkflowName is the key the Python SDK stamps for
	// set_workflow_name, so both SDKs' traces group the same way;
	// attrGenAIWorkflowName is the conventions' key.
	attrWorkflowName      = "traceloop.workflow.name"
	attrGenAIWorkflowName = "gen_ai.workflow.name"
	// attrAgentName is the OpenTelemetry GenAI convention's agent name.
	attrAgentName             = "gen_ai.agent.name"
	attrConversationID        = "conversation.id"
	attrGenAIConversationID   = "gen_ai.conversation.id"
	attrUserID                = "user.id"
	attrUserEmail             = "user.email"
	attrUserName              = "user.username"
	attrSemconvUserName       = "user.name"
	attrSessionID             = "session.id"
	attrTraceExternalID       = "overmind.trace.external_id"
	attrTraceInvalidRequested = "overmind.trace.invalid_id"
)

// labels are the values stamped on a span and every span started below
// it: workflow, agent and conversation from the Set helpers, the user
// from SetUser, and the identity of a trace StartTrace opened. A labels
// value is immutable once shared.
type labels struct {
	workflow, agent, conversation string
	userID, userEmail, userName   string
	session, externalID           string
	// extra are StartTrace's TraceOptions.Attributes.
	extra []attribute.KeyValue
	// root is the span StartTrace opened, which RecordTraceMessage
	// records on.
	root trace.Span
	// attrs caches attributes(); set before the labels are shared.
	attrs []attribute.KeyValue
}

// stringFields lists the string fields of l and of over, pairwise.
func (l *labels) stringFields(over *labels) [8][2]*string {
	return [8][2]*string{
		{&l.workflow, &over.workflow}, {&l.agent, &over.agent}, {&l.conversation, &over.conversation},
		{&l.userID, &over.userID}, {&l.userEmail, &over.userEmail}, {&l.userName, &over.userName},
		{&l.session, &over.session}, {&l.externalID, &over.externalID},
	}
}

// adds reports whether merging over into l would change l.
func (l *labels) adds(over *labels) bool {
	for _, f := range l.stringFields(over) {
		if *f[1] != "" && *f[1] != *f[0] {
			return true
		}
	}
	if over.root != nil && over.root != l.root {
		return true
	}
	return len(over.extra) > 0 && !sameAttributes(l.extra, over.extra)
}

// sameAttributes reports whether a and b are the same slice.
func sameAttributes(a, b []attribute.KeyValue) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// merge returns l with the non-empty fields of over on top (over's extra
// attributes replace l's), ready to share. Either may be nil. It returns
// l itself when over changes nothing, so that spans below a labelled
// context share one value.
func (l *labels) merge(over *labels) *labels {
	switch {
	case over == nil:
		return l
	case l == nil && over.attrs != nil:
		return over // shared already
	case l == nil:
		m := *over
		m.attrs = m.build()
		return &m
	case !l.adds(over):
		return l
	}
	m := *l
	for _, f := range m.stringFields(over) {
		if *f[1] != "" {
			*f[0] = *f[1]
		}
	}
	if over.root != nil {
		m.root = over.root
	}
	if len(over.extra) > 0 {
		m.extra = over.extra
	}
	m.attrs = m.build()
	return &m
}

// attributes are the attributes l stamps on a span.
func (l *labels) attributes() []attribute.KeyValue {
	if l.attrs != nil {
		return l.attrs
	}
	return l.build()
}

func (l *labels) build() []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 12+len(l.extra))
	add := func(value string, keys ...string) {
		if value == "" {
			return
		}
		for _, key := range keys {
			attrs = append(attrs, attribute.String(key, value))
		}
	}
	add(l.workflow, attrWorkflowName, attrGenAIWorkflowName)
	add(l.agent, attrAgentName)
	add(l.conversation, attrConversationID, attrGenAIConversationID)
	add(l.userID, attrUserID)
	add(l.userEmail, attrUserEmail)
	add(l.userName, attrUserName, attrSemconvUserName)
	add(l.session, attrSessionID)
	add(l.externalID, attrTraceExternalID)
	return append(attrs, l.extra...)
}

type labelsKey struct{}

var (
	// labelsUsed is set by the first Set helper call, so that spans skip
	// all label work in programs that never use them.
	labelsUsed atomic.Bool
	// spanLabels maps the ID of every open span that has labels to them;
	// entries are deleted when the span ends.
	spanLabels      sync.Map // trace.SpanID -> *labels
	spanLabelsCount atomic.Int64
)

func labelsOfSpan(id trace.SpanID) *labels {
	if spanLabelsCount.Load() == 0 {
		return nil
	}
	if l, ok := spanLabels.Load(id); ok {
		return l.(*labels)
	}
	return nil
}

func setSpanLabels(id trace.SpanID, l *labels) {
	if _, loaded := spanLabels.Swap(id, l); !loaded {
		spanLabelsCount.Add(1)
	}
}

func deleteSpanLabels(id trace.SpanID) {
	if spanLabelsCount.Load() == 0 {
		return
	}
	if _, loaded := spanLabels.LoadAndDelete(id); loaded {
		spanLabelsCount.Add(-1)
	}
}

// labelProcessor stamps labels on every span as it starts, whoever starts
// it (generated code, StartSpan, Tracer(), or the provider capture): the
// labels of its parent span, overlaid with those its parent context
// carries. It runs first among the tracer provider's processors. When a
// span ends it forgets the span's labels, CaptureException's mark and
// what the verbs kept about it.
type labelProcessor struct{}

func (labelProcessor) OnStart(parent context.Context, s sdktrace.ReadWriteSpan) {
	if !labelsUsed.Load() {
		return
	}
	var l *labels
	if psc := trace.SpanContextFromContext(parent); psc.IsValid() {
		l = labelsOfSpan(psc.SpanID())
	}
	if l == nil {
		// The parent may be another goroutine's span, adopted, which has
		// ended since: its labels were kept for its adopters.
		if span, ok := spanOf(parent); ok {
			if a, ok := span.(adoptedSpan); ok {
				l = a.labels
			}
		}
	}
	if cl, _ := carriedLabels(parent); cl != nil {
		l = l.merge(cl)
	}
	if l == nil {
		return
	}
	s.SetAttributes(l.attributes()...)
	setSpanLabels(s.SpanContext().SpanID(), l)
}

func (labelProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	deleteSpanLabels(s.SpanContext().SpanID())
	forgetCancelled(s.SpanContext().SpanID())
	forgetSpanData(s.SpanContext().SpanID())
}

func (labelProcessor) Shutdown(context.Context) error   { return nil }
func (labelProcessor) ForceFlush(context.Context) error { return nil }

// setLabels is the Set helpers' implementation: l is stamped on the
// current span (ctx's, else the goroutine's) and every span started below
// it, and the returned context carries l for spans started from it.
func setLabels(ctx context.Context, l labels) context.Context {
	if active.Load() == nil {
		return ctx
	}
	return applyLabels(ctx, l)
}

// applyLabels is setLabels once tracing is on. It is kept out of line so
// that l, whose address escapes here, is not moved to the heap by calls
// made before Init.
//
//go:noinline
func applyLabels(ctx context.Context, l labels) context.Context {
	labelsUsed.Store(true)
	if ctx == nil {
		ctx = context.Background()
	}
	// A context whose Value panics is given back as it is; the labels
	// still go on the goroutine's span.
	if carried, ok := carriedLabels(ctx); ok {
		ctx = context.WithValue(ctx, labelsKey{}, carried.merge(&l))
	}
	if span := targetSpan(ctx); span != nil && span.IsRecording() {
		id := span.SpanContext().SpanID()
		setSpanLabels(id, labelsOfSpan(id).merge(&l))
		span.SetAttributes(l.attributes()...)
	}
	return ctx
}

// carriedLabels returns the labels ctx carries; ok is false when ctx's
// Value method panics.
func carriedLabels(ctx context.Context) (l *labels, ok bool) {
	defer func() {
		if recover() != nil {
			l, ok = nil, false
		}
	}()
	l, _ = ctx.Value(labelsKey{}).(*labels)
	return l, true
}

// SetWorkflowName labels the current span, and every span started below
// it, with a workflow name (the traceloop.workflow.name attribute, as the
// Python SDK records it, and the conventions' gen_ai.workflow.name). The current span is ctx's if it carries one,
// else the goroutine's current span. The returned context carries the name
// to spans started from it, even with no span open yet: use it in
// middleware that runs before the first span.
func SetWorkflowName(ctx context.Context, name string) context.Context {
	return setLabels(ctx, labels{workflow: name})
}

// SetAgentName labels the current span, and every span started below it,
// with the name of the agent doing the work (gen_ai.agent.name). It works
// like [SetWorkflowName].
func SetAgentName(ctx context.Context, name string) context.Context {
	return setLabels(ctx, labels{agent: name})
}

// SetConversationID groups traces into one conversation: it labels the
// current span, and every span started below it, with conversation.id and
// the conventions' gen_ai.conversation.id. It works like
// [SetWorkflowName].
func SetConversationID(ctx context.Context, id string) context.Context {
	return setLabels(ctx, labels{conversation: id})
}

// User identifies the user a trace works for. Only ID is required.
type User struct {
	ID       string
	Email    string
	Username string
}

// SetUser tags the current span, and every span started below it, with the
// user's identity (user.id, user.email, and the username as user.username
// and the conventions' user.name). Call it once per
// request, in middleware, and pass the returned context on:
//
//	ctx := overmind.SetUser(r.Context(), overmind.User{ID: session.UserID})
//	next.ServeHTTP(w, r.WithContext(ctx))
func SetUser(ctx context.Context, u User) context.Context {
	return setLabels(ctx, labels{userID: u.ID, userEmail: u.Email, userName: u.Username})
}
