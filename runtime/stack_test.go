package overmind

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/overmind-core/overmind-go/runtime/internal/gls"
)

// Values.Add and SetTag hide their argument from escape analysis, so the
// arguments below stay on the caller's stack (each test checks that it set
// this up). These tests check that serializing them is correct and that
// nothing of the stack is kept or handed to the program's methods.

// retained collects what the methods below keep of their receivers, as a
// careless MarshalJSON might (a cache keyed by pointer, a log), and
// keptStack what they were handed that lay on the stack, checked when
// they are called (once the stack moves, a kept pointer no longer says).
var (
	retained  []any
	keptStack []string
)

func keep(what string, v any, p unsafe.Pointer) {
	retained = append(retained, v)
	if gls.OnStack(p) {
		keptStack = append(keptStack, what)
	}
}

type keeper struct {
	ID   int
	Name string
}

func (k *keeper) MarshalJSON() ([]byte, error) {
	keep("*keeper receiver", k, unsafe.Pointer(k))
	return json.Marshal(fmt.Sprintf("keeper %d %s", k.ID, k.Name))
}

// valueKeeper keeps its pointer field: a value receiver's copy still
// points where the original did.
type valueKeeper struct{ P *int }

func (v valueKeeper) MarshalText() ([]byte, error) {
	keep("valueKeeper.P", v.P, unsafe.Pointer(v.P))
	return []byte(fmt.Sprint("value ", *v.P)), nil
}

type rawList json.RawMessage

func (r rawList) MarshalJSON() ([]byte, error) {
	keep("rawList's array", []byte(r), unsafe.Pointer(unsafe.SliceData(r)))
	return json.RawMessage(r).MarshalJSON()
}

//go:noinline
func takesKeeper(k *keeper, raw rawList, v valueKeeper, msg string, ids ...int) (_omr0 int) {
	_om := Enter(SpanTypeTool, "takes_keeper", "example.com/p.takesKeeper", func(in *Values) {
		in.Add("k", k)
		in.Add("raw", raw)
		in.Add("v", v)
		in.Add("msg", msg)
		in.Add("ids", ids)
	})
	if _om != nil {
		defer func() { _om.Exit(recover(), nil, func(out *Values) { out.Add("", _omr0) }) }()
	}
	return len(ids)
}

func onStack[T any](p *T) bool { return gls.OnStack(unsafe.Pointer(p)) }

// checkRetainedOffStack fails t if a method was handed stack memory.
func checkRetainedOffStack(t *testing.T) {
	t.Helper()
	for _, what := range keptStack {
		t.Errorf("a method was handed memory on the caller's stack: %s", what)
	}
	retained, keptStack = nil, nil
}

func TestStackArgumentsNotHandedToMethods(t *testing.T) {
	if !gls.HidesValues {
		t.Skip("arguments are not hidden from escape analysis on this platform")
	}
	rec := recordForTest(t, Config{})
	retained, keptStack = nil, nil
	k := keeper{ID: 7, Name: "seven"}
	var arr [8]byte
	copy(arr[:], `[1,2,3]`)
	raw := rawList(arr[:7])
	n := 42
	v := valueKeeper{P: &n}
	b := []byte("from bytes")
	msg := string(b) // a short conversion: its bytes may stay on the stack
	if !onStack(&k) || !onStack(&arr) || !onStack(&n) {
		t.Fatal("test setup: the arguments are not on the stack, so this test checks nothing")
	}
	if got := takesKeeper(&k, raw, v, msg, 1, 2, 3); got != 3 {
		t.Fatalf("takesKeeper = %d", got)
	}
	checkRetainedOffStack(t)
	s := onlySpan(t, rec.Ended())
	// *keeper and rawList are copied to the heap for their methods; v
	// points into the stack, which no copy of it can avoid: a placeholder.
	wantAttr(t, s, "inputs", `{"k":"keeper 7 seven","raw":[1,2,3],"v":"<unserializable:overmind.valueKeeper>","msg":"from bytes","ids":[1,2,3]}`)
	wantAttr(t, s, "outputs", `3`)
	if k.Name != "seven" || string(arr[:7]) != "[1,2,3]" {
		t.Fatal("the arguments changed")
	}
}

// stackGrower's MarshalJSON runs a deep recursion, which moves its
// goroutine's stack to a bigger one, and a garbage collection.
type stackGrower struct{}

func (stackGrower) MarshalJSON() ([]byte, error) {
	runtime.GC()
	return json.Marshal(recurse(200))
}

//go:noinline
func recurse(n int) int {
	var pad [256]byte
	pad[n%256] = byte(n)
	if n == 0 {
		return int(pad[0])
	}
	return recurse(n-1) + int(pad[n%256]) - n%256 + 1
}

type request struct {
	Before string
	Grow   stackGrower
	Items  []int
	Next   *request
	Tags   map[string]int
	After  [2]string
}

//go:noinline
func handle(r *request, extra ...string) (_omr0 int) {
	_om := Enter(SpanTypeEntryPoint, "handle", "example.com/p.handle", func(in *Values) { in.Add("r", r); in.Add("extra", extra) })
	if _om != nil {
		defer func() { _om.Exit(recover(), nil, func(out *Values) { out.Add("", _omr0) }) }()
	}
	return len(r.Items) + len(extra)
}

// The stack moves (and the collector runs) in the middle of serializing
// arguments that live on it: what is read afterwards must still be right.
func TestStackMovesDuringSerialization(t *testing.T) {
	if !gls.HidesValues {
		t.Skip("arguments are not hidden from escape analysis on this platform")
	}
	rec := recordForTest(t, Config{})
	done := make(chan string)
	go func() { // a fresh goroutine: a small stack, which the recursion outgrows
		items := [3]int{4, 5, 6}
		inner := request{Before: "inner", Items: items[:1]}
		b := []byte("after-bytes")
		r := request{
			Before: "before",
			Items:  items[:],
			Next:   &inner,
			Tags:   map[string]int{"a": 1, "b": 2},
			After:  [2]string{"x", string(b[:5])},
		}
		var setup string
		if !onStack(&r) || !onStack(&items) || !onStack(&inner) {
			setup = "test setup: the request is not on the stack"
		}
		before := uintptr(unsafe.Pointer(&r))
		handle(&r, "e1", strings.Repeat("e", 3))
		if uintptr(unsafe.Pointer(&r)) == before {
			setup = "test setup: the stack did not move"
		}
		done <- setup
	}()
	if setup := <-done; setup != "" {
		t.Fatal(setup)
	}
	want := `{"r":{"Before":"before","Grow":200,"Items":[4,5,6],"Next":{"Before":"inner","Grow":200,"Items":[4],"Next":null,"Tags":null,"After":["",""]},"Tags":{"a":1,"b":2},"After":["x","after"]},"extra":["e1","eee"]}`
	wantAttr(t, onlySpan(t, rec.Ended()), "inputs", want)
}

type tagged struct {
	IDs  []int
	Name string
}

func TestSetTagKeepsNoStackMemory(t *testing.T) {
	if !gls.HidesValues {
		t.Skip("arguments are not hidden from escape analysis on this platform")
	}
	rec := recordForTest(t, Config{})
	ctx, span := StartSpan(t.Context(), SpanTypeFunction, "tags")
	ids := [3]int{1, 2, 3}
	b := []byte("short-name")
	name := string(b)
	names := [2]string{string(b[:5]), "lit"}
	o := tagged{IDs: ids[:], Name: name}
	if !onStack(&ids) || !onStack(&names) {
		t.Fatal("test setup: the tags are not on the stack")
	}
	SetTag(ctx, "ids", ids[:])
	SetTag(ctx, "name", name)
	SetTag(ctx, "names", names[:])
	SetTag(ctx, "obj", &o)
	span.End()
	for _, kv := range onlySpan(t, rec.Ended()).Attributes() {
		var p unsafe.Pointer
		switch kv.Value.Type().String() {
		case "STRING":
			s := kv.Value.AsString()
			p = unsafe.Pointer(unsafe.StringData(s))
		case "STRINGSLICE":
			for _, s := range kv.Value.AsStringSlice() {
				if gls.OnStack(unsafe.Pointer(unsafe.StringData(s))) {
					t.Errorf("%s keeps stack memory", kv.Key)
				}
			}
		}
		if gls.OnStack(p) {
			t.Errorf("%s keeps stack memory", kv.Key)
		}
	}
	s := onlySpan(t, rec.Ended())
	wantAttr(t, s, "ids", []int64{1, 2, 3})
	wantAttr(t, s, "name", "short-name")
	wantAttr(t, s, "names", []string{"short", "lit"})
	wantAttr(t, s, "obj", `{"IDs":[1,2,3],"Name":"short-name"}`)
}
