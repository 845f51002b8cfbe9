package gls

import (
	"sync"
	"testing"
)

func TestSetNestsPerGoroutine(t *testing.T) {
	var s Set
	if s.Has() {
		t.Fatal("empty set has the goroutine")
	}
	s.Enter()
	s.Enter()
	var wg sync.WaitGroup
	wg.Go(func() {
		if s.Has() {
			t.Error("another goroutine is in the set")
		}
		s.Enter()
		if !s.Has() {
			t.Error("Enter did not put the other goroutine in the set")
		}
		s.Leave()
	})
	wg.Wait()
	s.Leave()
	if !s.Has() {
		t.Fatal("one Leave of two Enters left the set")
	}
	s.Leave()
	if s.Has() || s.members.Load() != 0 {
		t.Fatalf("still in the set after as many Leaves as Enters (members %d)", s.members.Load())
	}
}
