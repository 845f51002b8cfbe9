package overmind

import (
	"context"
	"testing"

	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
)

// TestLabelKeysMatchSemconv checks the standard keys the runtime spells
// out against the semantic conventions package they come from.
func TestLabelKeysMatchSemconv(t *testing.T) {
	for got, want := range map[string]string{
		attrGenAIWorkflowName:   string(semconv.GenAIWorkflowNameKey),
		attrGenAIConversationID: string(semconv.GenAIConversationIDKey),
		attrAgentName:           string(semconv.GenAIAgentNameKey),
		attrSemconvUserName:     string(semconv.UserNameKey),
		attrUserID:              string(semconv.UserIDKey),
		attrUserEmail:           string(semconv.UserEmailKey),
		attrSessionID:           string(semconv.SessionIDKey),
	} {
		if got != want {
			t.Errorf("key %q, semconv says %q", got, want)
		}
	}
}

// TestStandardKeysBesideOvermindKeys: each label is written under the key
// Overmind reads and under the conventions' key.
func TestStandardKeysBesideOvermindKeys(t *testing.T) {
	rec := recordForTest(t, Config{})
	ctx, span := StartSpan(context.Background(), SpanTypeWorkflow, "labelled")
	SetWorkflowName(ctx, "refunds")
	SetConversationID(ctx, "thread-1")
	SetUser(ctx, User{ID: "u-1", Email: "a@example.com", Username: "ada"})
	span.End()
	s := onlySpan(t, rec.Ended())
	for key, want := range map[string]string{
		"traceloop.workflow.name": "refunds", "gen_ai.workflow.name": "refunds",
		"conversation.id": "thread-1", "gen_ai.conversation.id": "thread-1",
		"user.username": "ada", "user.name": "ada",
		"user.id": "u-1", "user.email": "a@example.com",
	} {
		wantAttr(t, s, key, want)
	}
}
