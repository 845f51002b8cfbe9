package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	overmind "github.com/overmind-core/overmind-go/runtime"
)

// HandleSupportQuery answers a customer's question: the top of the trace.
//
//overmind:entry_point handle_support_query
func HandleSupportQuery(ctx context.Context, userID, question string) (_omr0 string, _omr1 error) {
	ctx, _om := overmind.EnterContext(ctx, overmind.SpanTypeEntryPoint, "handle_support_query", "github.com/overmind-core/overmind-go/examples/support.HandleSupportQuery", func(in *overmind.Values) { in.Add("userID", userID); in.Add("question", question) })
	if _om != nil {
		defer _om.Leave(&_omr1, func(out *overmind.Values) { out.Add("", _omr0) })
	}
	ctx = overmind.SetUser(ctx, overmind.User{ID: userID})
	overmind.SetTag(ctx, "workflow", "support")

	facts, err := GatherContext(ctx, question)
	if err != nil {
		return "", err
	}
	return Complete(ctx, []Message{
		{Role: "system", Content: "You are a helpful customer support agent."},
		{Role: "user", Content: question + "\n\n" + facts},
	})
}

// GatherContext collects what the model needs to answer.
//
//overmind:workflow gather_context
func GatherContext(ctx context.Context, question string) (_omr0 string, _omr1 error) {
	ctx, _om := overmind.EnterContext(ctx, overmind.SpanTypeWorkflow, "gather_context", "github.com/overmind-core/overmind-go/examples/support.GatherContext", func(in *overmind.Values) { in.Add("question", question) })
	if _om != nil {
		defer _om.Leave(&_omr1, func(out *overmind.Values) { out.Add("", _omr0) })
	}
	var facts []string
	if id := orderID.FindString(question); id != "" {
		order, err := LookupOrder(ctx, id)
		if err != nil {
			return "", fmt.Errorf("gather context: %w", err)
		}
		facts = append(facts, fmt.Sprintf("Order %s: %s, arriving %s.", order.ID, order.Status, order.ETA))
	}
	facts = append(facts, SearchKnowledgeBase(question)...)
	return strings.Join(facts, "\n"), nil
}

var orderID = regexp.MustCompile(`[A-Z]-\d+`)

// Order is what the order service knows about an order.
type Order struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	ETA    string `json:"eta"`
}

var errNoOrder = errors.New("no such order")

// LookupOrder asks the order service about an order.
//
//overmind:tool lookup_order
func LookupOrder(ctx context.Context, id string) (_omr0 Order, _omr1 error) {
	ctx, _om := overmind.EnterContext(ctx, overmind.SpanTypeTool, "lookup_order", "github.com/overmind-core/overmind-go/examples/support.LookupOrder", func(in *overmind.Values) { in.Add("id", id) })
	if _om != nil {
		defer _om.Leave(&_omr1, func(out *overmind.Values) { out.Add("", _omr0) })
	}
	if id != "A-1001" {
		return Order{}, errNoOrder
	}
	return Order{ID: id, Status: "shipped", ETA: "Thursday"}, nil
}

// SearchKnowledgeBase finds help articles. It takes no context: its span
// nests under the caller's through the goroutine's current span.
//
//overmind:tool search_kb
func SearchKnowledgeBase(query string) (_omr0 []string) {
	_om := overmind.Enter(overmind.SpanTypeTool, "search_kb", "github.com/overmind-core/overmind-go/examples/support.SearchKnowledgeBase", func(in *overmind.Values) { in.Add("query", query) })
	if _om != nil {
		defer _om.Leave(nil, func(out *overmind.Values) { out.Add("", _omr0) })
	}
	if strings.Contains(strings.ToLower(query), "order") {
		return []string{"Orders ship within 2 days; tracking links are emailed."}
	}
	return nil
}

// Message is one chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Complete stands in for a chat-completion call. A real application would
// call its provider here, whose SDK call the runtime traces by itself.
//
//overmind:llm chat_completion
func Complete(ctx context.Context, messages []Message) (_omr0 string, _omr1 error) {
	ctx, _om := overmind.EnterContext(ctx, overmind.SpanTypeLLM, "chat_completion", "github.com/overmind-core/overmind-go/examples/support.Complete", func(in *overmind.Values) { in.Add("messages", messages) })
	if _om != nil {
		defer _om.Leave(&_omr1, func(out *overmind.Values) { out.Add("", _omr0) })
	}
	last := messages[len(messages)-1].Content
	if i := strings.Index(last, "Order "); i >= 0 {
		line, _, _ := strings.Cut(last[i:], "\n")
		return "Good news! " + line, nil
	}
	return "I could not find your order; could you check the number?", nil
}
