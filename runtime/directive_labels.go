package overmind

import (
	"fmt"
	"reflect"
	"strconv"
)

// Label labels the span of an instrumented function, and every span
// started below it (through a context or through the goroutine's current
// span, in goroutines started below it too), with the value of one of the
// function's parameters. It is what a directive option such as
// user=userID generates, right after the function's prologue:
//
//	//overmind:entry_point handle user=userID conversation=threadID
//	func Handle(ctx context.Context, userID, threadID string) error {
//		ctx, _om := overmind.EnterContext(ctx, ...)
//		if _om != nil {
//			defer _om.Leave(&err, nil)
//		}
//		overmind.Label(_om, "user", userID)
//		overmind.Label(_om, "conversation", threadID)
//		...
//
// key is the option: "user" (user.id, as [SetUser] records it),
// "session" (session.id), "conversation" (conversation.id and
// gen_ai.conversation.id, as [SetConversationID]), "workflow"
// (traceloop.workflow.name and gen_ai.workflow.name, as
// [SetWorkflowName]) or "agent" (gen_ai.agent.name, as [SetAgentName]).
// value is a string, an integer, or a fmt.Stringer, written as its String
// method gives it; an empty string labels nothing. A String method that
// panics labels nothing either.
//
// With a nil c (tracing off) it does nothing, and costs a comparison.
func Label[T any](c *Call, key string, value T) {
	if c == nil {
		return
	}
	c.label(key, value)
}

// label is Label once tracing is on.
func (c *Call) label(key string, value any) {
	if !c.span.IsRecording() {
		return
	}
	text, ok := labelText(value)
	if !ok || text == "" {
		return
	}
	var l labels
	switch key {
	case "user":
		l.userID = text
	case "session":
		l.session = text
	case "conversation":
		l.conversation = text
	case "workflow":
		l.workflow = text
	case "agent":
		l.agent = text
	default:
		return
	}
	labelsUsed.Store(true)
	id := c.span.SpanContext().SpanID()
	setSpanLabels(id, labelsOfSpan(id).merge(&l))
	c.span.SetAttributes(l.attributes()...)
}

// labelText writes a label's value: a string as it is, a fmt.Stringer by
// its String method, an integer in decimal. ok is false for other values
// and when String panics.
func labelText(v any) (text string, ok bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case fmt.Stringer:
		defer func() {
			if recover() != nil {
				text, ok = "", false
			}
		}()
		return v.String(), true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return rv.String(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(rv.Uint(), 10), true
	}
	return "", false
}
