// Package gls keeps a stack of values per goroutine, so that a span opened
// by a function with no context.Context in reach can find its parent: the
// span its goroutine opened last and has not ended.
//
// Go has no public goroutine id. On the gc toolchain for amd64 and arm64,
// [ID] is the address of the runtime's g structure of the calling goroutine,
// read by a three-instruction assembly function; elsewhere it is the
// goroutine number parsed from runtime.Stack, which is correct but slow.
//
// A g structure is reused once its goroutine exits, so a stack left behind
// by a goroutine that exited without removing its nodes (a span never
// ended) would be seen by a later goroutine. Each node therefore records
// the goroutine number (the runtime's goid, never reused) of the goroutine
// that pushed it, and [Stacks.Push] and [Stacks.Top] drop a stack whose
// number is not the caller's. On amd64 and arm64 the number is read from
// the g structure, at an offset found when the package initialises: the
// word that holds, in several goroutines, the number runtime.Stack prints
// for each. If no single offset fits (another toolchain, a changed
// layout), [DetectsReuse] reports false and a stack left behind is dropped
// only when the live function given to Push and Top reports its nodes
// dead, or by [Stacks.Clear]. Callers remove every node they push.
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
	goid   uint64 // the pushing goroutine's number, 0 if unknown
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
	id, goid := current()
	sh := s.shard(id)
	sh.mu.Lock()
	if n.pushed {
		sh.mu.Unlock()
		return nil
	}
	top := sh.dropDead(sh.ownTop(id, goid), live)
	n.prev, n.id, n.goid, n.pushed = top, id, goid, true
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
	id, goid := current()
	sh := s.shard(id)
	sh.mu.Lock()
	if sh.top == nil {
		sh.mu.Unlock()
		return nil
	}
	old := sh.ownTop(id, goid)
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

// Clear drops every goroutine's stack. Nodes pushed before are no longer
// pushed: removing them later does nothing.
func (s *Stacks[T]) Clear() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for id, top := range sh.top {
			unlinkAll(top)
			delete(sh.top, id)
		}
		sh.mu.Unlock()
	}
}

// ownTop returns the top node of goroutine id's stack if goroutine goid
// pushed it. A stack pushed by an earlier goroutine that ran on the same g
// structure (its goroutine number differs) is dropped whole, and nil is
// returned. The caller holds the lock.
func (sh *shard[T]) ownTop(id uintptr, goid uint64) *Node[T] {
	top := sh.top[id]
	if top == nil || top.goid == goid {
		return top
	}
	unlinkAll(top)
	delete(sh.top, id)
	return nil
}

// unlinkAll marks top and every node below it not pushed. The caller holds
// the lock and updates the map.
func unlinkAll[T any](top *Node[T]) {
	for top != nil {
		next := top.prev
		top.prev, top.pushed = nil, false
		top = next
	}
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
