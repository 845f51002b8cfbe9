// Package gls keeps a stack of values per goroutine, so that a span opened
// by a function with no context.Context in reach can find its parent: the
// span its goroutine opened last and has not ended.
//
// Go has no public goroutine id. On the gc toolchain for amd64 and arm64,
// [ID] is the address of the runtime's g structure of the calling goroutine,
// read by a three-instruction assembly function; elsewhere it is the
// goroutine number parsed from runtime.Stack, which is correct but slow.
// A g structure is reused once its goroutine exits, so an entry that
// outlives its goroutine would be seen by a later one: callers remove every
// node they push, and the live function given to [Stacks.Push] and
// [Stacks.Top] lets them drop nodes they know to be stale.
package gls

import "sync"

const shardBits = 6

// Stacks holds one stack of nodes per goroutine. The zero value is ready to
// use. Goroutines whose stack is empty take no memory: nothing is left
// behind once every pushed node is removed.
type Stacks[T any] struct {
	shards [1 << shardBits]shard[T]
}

// shard is one lock and the stacks of the goroutines that hash to it,
// padded to its own cache line.
type shard[T any] struct {
	mu  sync.Mutex
	top map[uintptr]*Node[T]
	_   [64 - 16]byte
}

// Node is one entry of a goroutine's stack. Callers allocate it, usually
// inside a larger struct, and must not copy it while it is pushed.
type Node[T any] struct {
	Value T

	prev   *Node[T]
	id     uintptr
	pushed bool
}

func (s *Stacks[T]) shard(id uintptr) *shard[T] {
	return &s.shards[(uint64(id)*0x9E3779B97F4A7C15)>>(64-shardBits)]
}

// Push makes n the calling goroutine's top node and returns the node below
// it, or nil if the stack was empty. Nodes for which live returns false are
// dropped from the top first; live may be nil. Pushing a node that is
// already pushed does nothing and returns nil.
func (s *Stacks[T]) Push(n *Node[T], live func(T) bool) (below *Node[T]) {
	id := ID()
	sh := s.shard(id)
	sh.mu.Lock()
	if n.pushed {
		sh.mu.Unlock()
		return nil
	}
	top := sh.dropDead(sh.top[id], live)
	n.prev, n.id, n.pushed = top, id, true
	if sh.top == nil {
		sh.top = make(map[uintptr]*Node[T])
	}
	sh.top[id] = n
	sh.mu.Unlock()
	return top
}

// Top returns the calling goroutine's top node for which live returns
// true, dropping dead nodes above it, or nil if there is none.
func (s *Stacks[T]) Top(live func(T) bool) *Node[T] {
	id := ID()
	sh := s.shard(id)
	sh.mu.Lock()
	if sh.top == nil {
		sh.mu.Unlock()
		return nil
	}
	old := sh.top[id]
	top := sh.dropDead(old, live)
	if top != old {
		sh.set(id, top)
	}
	sh.mu.Unlock()
	return top
}

// Remove takes n off the stack of the goroutine that pushed it, wherever it
// is in that stack; it may be called from any goroutine. Removing a node
// that is not pushed does nothing.
func (s *Stacks[T]) Remove(n *Node[T]) {
	sh := s.shard(n.id)
	sh.mu.Lock()
	if !n.pushed {
		sh.mu.Unlock()
		return
	}
	if top := sh.top[n.id]; top == n {
		sh.set(n.id, n.prev)
	} else {
		for p := top; p != nil; p = p.prev {
			if p.prev == n {
				p.prev = n.prev
				break
			}
		}
	}
	n.prev, n.pushed = nil, false
	sh.mu.Unlock()
}

// Len returns how many goroutines have a non-empty stack.
func (s *Stacks[T]) Len() int {
	total := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		total += len(sh.top)
		sh.mu.Unlock()
	}
	return total
}

// dropDead unlinks the nodes from top down that live reports dead and
// returns the first live one. The caller holds the lock and updates the
// map.
func (sh *shard[T]) dropDead(top *Node[T], live func(T) bool) *Node[T] {
	if live == nil {
		return top
	}
	for top != nil && !live(top.Value) {
		next := top.prev
		top.prev, top.pushed = nil, false
		top = next
	}
	return top
}

// set makes top the top node of goroutine id, deleting the entry when the
// stack is empty.
func (sh *shard[T]) set(id uintptr, top *Node[T]) {
	if top == nil {
		delete(sh.top, id)
		return
	}
	sh.top[id] = top
}
