package overmind

import (
	"context"
	"sync"
	"testing"
)

type ticket int

func (t ticket) String() string { return "T-" + string(rune('0'+int(t))) }

type badStringer struct{ p *int }

func (b badStringer) String() string { return string(rune(*b.p)) }

type accountID string

// labelledEntry is what the overmind command generates for
//
//	//overmind:entry_point handle user=user conversation=thread session=session agent=agent
func labelledEntry(ctx context.Context, user accountID, thread ticket, session uint16, agent badStringer, child func(context.Context)) {
	ctx, om := EnterContext(ctx, SpanTypeEntryPoint, "handle", "p.handle", nil)
	if om != nil {
		defer om.Leave(nil, nil)
	}
	Label(om, "user", user)
	Label(om, "conversation", thread)
	Label(om, "session", session)
	Label(om, "agent", agent)
	Label(om, "workflow", "")
	child(ctx)
}

// TestLabelReachesChildren: the labels of a directive's options are on the
// function's span and on every span below it: started through its context,
// through the goroutine's current span, and in a goroutine it starts.
func TestLabelReachesChildren(t *testing.T) {
	rec := recordForTest(t, Config{})
	var wg sync.WaitGroup
	labelledEntry(context.Background(), "acct-7", 3, 42, badStringer{}, func(ctx context.Context) {
		webSearchCtx(ctx, "through the context")
		webSearch("through the goroutine")
		wg.Add(1)
		go Adopting0(func() { defer wg.Done(); traced("in a goroutine") })()
		wg.Wait()
	})
	want := map[string]string{"user.id": "acct-7", "conversation.id": "T-3", "gen_ai.conversation.id": "T-3", "session.id": "42"}
	seen := 0
	for _, s := range rec.Ended() {
		seen++
		attrs := attrsOf(s)
		for k, v := range want {
			if got := attrs[k].Emit(); got != v {
				t.Errorf("span %s: %s = %q, want %q", s.Name(), k, got, v)
			}
		}
		for _, k := range []string{"gen_ai.agent.name", "traceloop.workflow.name"} {
			if _, ok := attrs[k]; ok {
				t.Errorf("span %s has %s from a panicking String or an empty string", s.Name(), k)
			}
		}
	}
	if seen != 4 {
		t.Errorf("%d spans, want 4", seen)
	}
}

// TestLabelOff: with tracing off Label does nothing and allocates nothing.
func TestLabelOff(t *testing.T) {
	resetForTest()
	var om *Call
	if allocs := testing.AllocsPerRun(100, func() {
		Label(om, "user", "u-1")
		Label(om, "session", 12345)
	}); allocs != 0 {
		t.Errorf("Label before Init allocates %v times", allocs)
	}
}
