package gls

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

type entry struct {
	name string
	dead bool
}

func live(e *entry) bool { return !e.dead }

func node(name string) *Node[*entry] { return &Node[*entry]{Value: &entry{name: name}} }

func TestIDStableAndDistinct(t *testing.T) {
	const n = 64
	ids := make(chan uintptr, n)
	var ready, release sync.WaitGroup
	ready.Add(n)
	release.Add(1)
	for range n {
		go func() {
			id := ID()
			ready.Done()
			release.Wait() // all n goroutines are alive at once
			if ID() != id {
				t.Error("ID changed within a goroutine")
			}
			ids <- id
		}()
	}
	ready.Wait()
	release.Done()
	seen := map[uintptr]bool{}
	for range n {
		id := <-ids
		if seen[id] {
			t.Fatalf("two live goroutines share ID %#x", id)
		}
		seen[id] = true
	}
	if ID() == 0 {
		t.Fatal("ID() = 0")
	}
}

func TestPushTopRemove(t *testing.T) {
	var s Stacks[*entry]
	if s.Top(live) != nil {
		t.Fatal("empty stack has a top")
	}
	a, b, c := node("a"), node("b"), node("c")
	if below := s.Push(a, live); below != nil {
		t.Fatalf("below first push = %v", below.Value.name)
	}
	if below := s.Push(b, live); below != a {
		t.Fatal("b not pushed on a")
	}
	s.Push(c, live)
	if top := s.Top(live); top != c {
		t.Fatalf("top = %s, want c", top.Value.name)
	}
	// Out of order: remove the middle one.
	s.Remove(b)
	s.Remove(b) // twice is harmless
	if top := s.Top(live); top != c {
		t.Fatalf("top = %s, want c", top.Value.name)
	}
	s.Remove(c)
	if top := s.Top(live); top != a {
		t.Fatalf("after removing c, top = %v, want a", top)
	}
	s.Remove(a)
	if s.Top(live) != nil || s.Len() != 0 {
		t.Fatalf("stack not empty: Len = %d", s.Len())
	}
}

func TestDeadNodesSkipped(t *testing.T) {
	var s Stacks[*entry]
	a, b := node("a"), node("b")
	s.Push(a, live)
	s.Push(b, live)
	b.Value.dead = true // ended without being removed
	if top := s.Top(live); top != a {
		t.Fatalf("top = %v, want a", top)
	}
	a.Value.dead = true
	c := node("c")
	if below := s.Push(c, live); below != nil {
		t.Fatalf("c pushed on dead node %s", below.Value.name)
	}
	s.Remove(c)
	s.Remove(a) // already dropped: harmless
	s.Remove(b)
	if s.Len() != 0 {
		t.Fatalf("Len = %d after all removed", s.Len())
	}
}

func TestRemoveFromAnotherGoroutine(t *testing.T) {
	var s Stacks[*entry]
	a, b := node("a"), node("b")
	s.Push(a, live)
	s.Push(b, live)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if s.Top(live) != nil {
			t.Error("another goroutine sees this goroutine's stack")
		}
		s.Remove(a)
	}()
	<-done
	if top := s.Top(live); top != b {
		t.Fatal("top changed")
	}
	s.Remove(b)
	if s.Len() != 0 {
		t.Fatalf("Len = %d", s.Len())
	}
}

func TestConcurrentNoLeak(t *testing.T) {
	var s Stacks[*entry]
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 200 {
				depth := 1 + (g+i)%5
				nodes := make([]*Node[*entry], depth)
				for d := range nodes {
					nodes[d] = node("n")
					if below := s.Push(nodes[d], live); d > 0 && below != nodes[d-1] {
						t.Error("wrong parent")
						return
					}
				}
				for d := depth - 1; d >= 0; d-- {
					if s.Top(live) != nodes[d] {
						t.Error("wrong top")
						return
					}
					s.Remove(nodes[d])
				}
				if i%50 == 0 {
					runtime.Gosched()
				}
			}
		})
	}
	wg.Wait()
	if n := s.Len(); n != 0 {
		t.Fatalf("%d goroutine stacks left behind", n)
	}
}

func TestGoidOffsetFound(t *testing.T) {
	if runtime.Compiler == "gc" && (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64") && !DetectsReuse() {
		t.Fatal("the goroutine number was not found in the g structure: has its layout changed?")
	}
	_, goid := current()
	if DetectsReuse() && goid != stackGoidForTest() {
		t.Fatalf("goroutine number %d, runtime.Stack says %d", goid, stackGoidForTest())
	}
}

func stackGoidForTest() uint64 {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	var id uint64
	fmt.Sscanf(string(buf), "goroutine %d ", &id)
	return id
}

// A goroutine that exits without removing its node leaves its stack
// behind; a later goroutine on the same g structure must not see it.
func TestStackOfExitedGoroutineDropped(t *testing.T) {
	var s Stacks[*entry]
	dead := node("left behind")
	var deadID uintptr
	done := make(chan struct{})
	go func() {
		defer close(done)
		deadID = ID()
		s.Push(dead, live)
	}()
	<-done
	reused := 0
	for range 200 {
		done := make(chan struct{})
		go func() {
			defer close(done)
			if ID() == deadID {
				reused++
			}
			if top := s.Top(live); top != nil {
				t.Errorf("a new goroutine sees %q as its current node", top.Value.name)
			}
			n := node("fresh")
			if below := s.Push(n, live); below != nil {
				t.Errorf("pushed on %q", below.Value.name)
			}
			s.Remove(n)
		}()
		<-done
	}
	if reused == 0 {
		t.Fatal("no goroutine ran on the exited one's g structure: the test did not exercise reuse")
	}
	if s.Len() != 0 {
		t.Fatalf("Len = %d", s.Len())
	}
	s.Remove(dead) // dropped already: harmless
}

func TestClear(t *testing.T) {
	var s Stacks[*entry]
	a, b := node("a"), node("b")
	s.Push(a, live)
	s.Push(b, live)
	done := make(chan struct{})
	go func() { defer close(done); s.Push(node("other"), live) }()
	<-done
	s.Clear()
	if s.Len() != 0 || s.Top(live) != nil {
		t.Fatalf("Len = %d after Clear", s.Len())
	}
	s.Remove(b) // harmless
	c := node("c")
	if below := s.Push(c, live); below != nil {
		t.Fatal("pushed on a cleared node")
	}
	s.Remove(c)
}

func BenchmarkID(b *testing.B) {
	for b.Loop() {
		ID()
	}
}

func BenchmarkPushRemove(b *testing.B) {
	var s Stacks[*entry]
	n := node("x")
	b.ReportAllocs()
	for b.Loop() {
		s.Push(n, live)
		s.Remove(n)
	}
}

func BenchmarkPushRemoveParallel(b *testing.B) {
	var s Stacks[*entry]
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		n := node("x")
		for pb.Next() {
			s.Push(n, live)
			s.Remove(n)
		}
	})
}
