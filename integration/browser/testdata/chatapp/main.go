// Command chatapp is a small agent for the browser test: an entry point,
// a model call through the OpenAI HTTP API (to the test's fake server at
// $CHATAPP_OPENAI_URL), a tool the model asks for, and a tool that fails.
// Its functions carry //overmind: directives, expanded by `overmind
// instrument` (committed, as generated code usually is; the test checks it
// is current).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"

	overmind "github.com/overmind-core/overmind-go/runtime"
)

func main() {
	base := os.Getenv("CHATAPP_OPENAI_URL") + "/v1"
	if err := overmind.Init(overmind.Config{
		ServiceName:      "chatapp",
		ProviderBaseURLs: []overmind.ProviderBaseURL{{URL: base}},
	}); err != nil {
		log.Fatal(err)
	}
	defer overmind.Shutdown(context.Background())
	answer, err := PlanTrip(context.Background(), base, "Paris")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(answer)
}

// Message is a chat message in the OpenAI shape.
type Message struct {
	Role       string     `json:"role"`
	Content    string     `json:"content,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

// ToolCall is a function the model asks for.
type ToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// PlanTrip asks the model about a city, runs the tool it asks for, and
// returns its answer.
//
//overmind:entry_point plan_trip
func PlanTrip(ctx context.Context, base, city string) (_omr0 string, _omr1 error) {
	ctx, _om := overmind.EnterContext(ctx, overmind.SpanTypeEntryPoint, "plan_trip", "github.com/overmind-core/overmind-go/integration/browser/testdata/chatapp.PlanTrip", func(in *overmind.Values) { in.Add("base", base); in.Add("city", city) })
	if _om != nil {
		defer _om.Leave(&_omr1, func(out *overmind.Values) { out.Add("", _omr0) })
	}
	msgs := []Message{
		{Role: "system", Content: "You are a travel assistant. Use tools for live data."},
		{Role: "user", Content: "Should I pack an umbrella for " + city + "?"},
	}
	reply, err := Chat(ctx, base, msgs)
	if err != nil {
		return "", err
	}
	msgs = append(msgs, reply)
	for _, call := range reply.ToolCalls {
		forecast, err := GetWeather(ctx, city)
		if err != nil {
			return "", err
		}
		msgs = append(msgs, Message{Role: "tool", ToolCallID: call.ID, Content: forecast})
	}
	if _, err := BookHotel(ctx, city); err != nil {
		log.Printf("no hotel: %v", err)
	}
	final, err := Chat(ctx, base, msgs)
	return final.Content, err
}

// GetWeather is the tool the model calls.
//
//overmind:tool get_weather
func GetWeather(ctx context.Context, city string) (_omr0 string, _omr1 error) {
	ctx, _om := overmind.EnterContext(ctx, overmind.SpanTypeTool, "get_weather", "github.com/overmind-core/overmind-go/integration/browser/testdata/chatapp.GetWeather", func(in *overmind.Values) { in.Add("city", city) })
	if _om != nil {
		defer _om.Leave(&_omr1, func(out *overmind.Values) { out.Add("", _omr0) })
	}
	return `{"city":"` + city + `","forecast":"rain","high_c":14}`, nil
}

// BookHotel always fails, so the trace has an error to show.
//
//overmind:tool book_hotel
func BookHotel(ctx context.Context, city string) (_omr0 string, _omr1 error) {
	ctx, _om := overmind.EnterContext(ctx, overmind.SpanTypeTool, "book_hotel", "github.com/overmind-core/overmind-go/integration/browser/testdata/chatapp.BookHotel", func(in *overmind.Values) { in.Add("city", city) })
	if _om != nil {
		defer _om.Leave(&_omr1, func(out *overmind.Values) { out.Add("", _omr0) })
	}
	return "", errors.New("no rooms left in " + city)
}

// Chat sends one chat completion request; the runtime records it as an
// llm_call span with its messages.
func Chat(ctx context.Context, base string, msgs []Message) (Message, error) {
	body, _ := json.Marshal(map[string]any{"model": "gpt-4o-mini", "messages": msgs})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return Message{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Message{}, err
	}
	defer resp.Body.Close()
	var out struct {
		Choices []struct {
			Message Message `json:"message"`
		} `json:"choices"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Choices) == 0 {
		return Message{}, fmt.Errorf("chat: bad response (%v)", err)
	}
	return out.Choices[0].Message, nil
}
