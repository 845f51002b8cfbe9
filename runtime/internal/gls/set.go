package gls

import (
	"sync"
	"sync/atomic"
)

// Set marks goroutines: a goroutine enters it, possibly several times
// (nested), and leaves it as many times. The zero value is empty. While no
// goroutine is in the set, [Set.Has] costs one atomic load.
type Set struct {
	// members counts the goroutines in the set, each once.
	members atomic.Int64
	shards  [1 << shardBits]setShard
}

type setShard struct {
	mu    sync.Mutex
	depth map[uintptr]int // goroutine ID -> nesting depth
	_     [64 - 16]byte
}

// Enter puts the calling goroutine in the set (one level deeper if it is
// in already). Every Enter must be followed by a Leave on the same
// goroutine.
func (s *Set) Enter() {
	id := ID()
	sh := &s.shards[shardIndex(id)]
	sh.mu.Lock()
	if sh.depth == nil {
		sh.depth = make(map[uintptr]int)
	}
	d := sh.depth[id]
	sh.depth[id] = d + 1
	sh.mu.Unlock()
	if d == 0 {
		s.members.Add(1)
	}
}

// Leave undoes the calling goroutine's last Enter.
func (s *Set) Leave() {
	id := ID()
	sh := &s.shards[shardIndex(id)]
	sh.mu.Lock()
	d := sh.depth[id] - 1
	if d <= 0 {
		delete(sh.depth, id)
	} else {
		sh.depth[id] = d
	}
	sh.mu.Unlock()
	if d == 0 {
		s.members.Add(-1)
	}
}

// Has reports whether the calling goroutine is in the set.
func (s *Set) Has() bool {
	if s.members.Load() == 0 {
		return false
	}
	id := ID()
	sh := &s.shards[shardIndex(id)]
	sh.mu.Lock()
	d := sh.depth[id]
	sh.mu.Unlock()
	return d > 0
}

func shardIndex(id uintptr) uint64 {
	return (uint64(id) * 0x9E3779B97F4A7C15) >> (64 - shardBits)
}
