package jsonvalue

import (
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// The types below hold data a lock guards: the serializer must not read
// them, since the program may hold the lock and write concurrently.

type cache struct {
	mu sync.Mutex
	M  map[int]int
}

type embedsRWMutex struct {
	sync.RWMutex
	Name string
}

type withMap struct {
	Index sync.Map
	Name  string
}

type withOnce struct {
	once sync.Once
	Val  string
}

type withWaitGroup struct {
	wg   sync.WaitGroup
	Done int
}

type withCond struct {
	C     sync.Cond
	Ready bool
}

type withPool struct {
	P    sync.Pool
	Size int
}

type withAtomic struct {
	Hits atomic.Int64
	Name string
}

type withAtomicPointer struct {
	Current atomic.Pointer[string]
}

type withAtomicValue struct{ V atomic.Value }

// nested holds a guarded struct by value, two levels down.
type nested struct {
	Outer struct{ Inner cache }
	Name  string
}

type guardedArray struct {
	Shards [2]cache
}

// holdsPointer points to guarded data: the pointer is followed, and the
// data it reaches is replaced.
type holdsPointer struct {
	C    *cache
	Name string
}

// guardedMarshaler has a MarshalJSON that takes its lock: calling it while
// the program holds the lock would deadlock, so it is not called.
type guardedMarshaler struct {
	mu sync.Mutex
	N  int
}

var guardedMarshalerCalled atomic.Bool

func (g *guardedMarshaler) MarshalJSON() ([]byte, error) {
	guardedMarshalerCalled.Store(true)
	g.mu.Lock()
	defer g.mu.Unlock()
	return json.Marshal(g.N)
}

func TestGuardedByLock(t *testing.T) {
	gm := &guardedMarshaler{N: 1}
	gm.mu.Lock() // as a caller holding the lock would
	defer gm.mu.Unlock()
	var counter atomic.Int64
	for _, c := range []struct {
		name string
		v    any
		want string
	}{
		{"mutex field", &cache{M: map[int]int{1: 1}}, `"<guarded:*jsonvalue.cache>"`},
		{"struct value", cache{}, `"<guarded:jsonvalue.cache>"`},
		{"embedded RWMutex", embedsRWMutex{Name: "n"}, `"<guarded:jsonvalue.embedsRWMutex>"`},
		{"sync.Map", &withMap{Name: "n"}, `"<guarded:*jsonvalue.withMap>"`},
		{"sync.Once", withOnce{Val: "v"}, `"<guarded:jsonvalue.withOnce>"`},
		{"sync.WaitGroup", withWaitGroup{Done: 1}, `"<guarded:jsonvalue.withWaitGroup>"`},
		{"sync.Cond", &withCond{Ready: true}, `"<guarded:*jsonvalue.withCond>"`},
		{"sync.Pool", &withPool{Size: 1}, `"<guarded:*jsonvalue.withPool>"`},
		{"atomic.Int64 field", &withAtomic{Name: "n"}, `"<guarded:*jsonvalue.withAtomic>"`},
		{"atomic.Pointer field", &withAtomicPointer{}, `"<guarded:*jsonvalue.withAtomicPointer>"`},
		{"atomic.Value field", withAtomicValue{}, `"<guarded:jsonvalue.withAtomicValue>"`},
		{"atomic value itself", &counter, `"<guarded:*atomic.Int64>"`},
		{"sync.Map itself", &sync.Map{}, `"<guarded:*sync.Map>"`},
		{"nested by value", nested{Name: "n"}, `"<guarded:jsonvalue.nested>"`},
		{"array of guarded", guardedArray{}, `"<guarded:jsonvalue.guardedArray>"`},
		{"pointer to guarded", holdsPointer{C: &cache{}, Name: "n"}, `{"C":"<guarded:*jsonvalue.cache>","Name":"n"}`},
		{"nil pointer to guarded", holdsPointer{Name: "n"}, `{"C":null,"Name":"n"}`},
		{"in a slice", []*cache{{}, nil}, `["<guarded:*jsonvalue.cache>",null]`},
		{"in a map", map[string]any{"c": &cache{}}, `{"c":"<guarded:*jsonvalue.cache>"}`},
		{"MarshalJSON not called", gm, `"<guarded:*jsonvalue.guardedMarshaler>"`},
		{"pointer to a lock", struct {
			Mu *sync.Mutex
			N  int
		}{N: 1}, `{"Mu":null,"N":1}`},
	} {
		if got := Marshal(c.v, Options{}); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
	if guardedMarshalerCalled.Load() {
		t.Error("the MarshalJSON of a type holding a lock was called")
	}
}

// The review's reproduction: a map written under a mutex by another
// goroutine while the struct holding both is serialized. Run with -race.
func TestGuardedNotReadWhileWritten(t *testing.T) {
	c := &cache{M: map[int]int{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c.mu.Lock()
			c.M[i%64] = i
			c.mu.Unlock()
		}
	})
	for range 2000 {
		if got := Marshal(c, Options{}); !strings.HasPrefix(got, `"<guarded:`) {
			t.Fatalf("got %s", got)
		}
	}
	close(stop)
	wg.Wait()
}
