package overmind

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/overmind-core/overmind-go/runtime/internal/gls"
)

// An instrumented function with an *http.Request parameter sees the
// caller's request itself, not a copy: whatever the body does to it
// (ParseMultipartForm, setting Host, ...) stays done, and net/http, which
// cleans up the multipart files of the request it handed to the handler,
// finds them. While the function runs, r.Context() carries the function's
// span, so that callees given r.Context() nest; when it returns (normally,
// by a panic or by runtime.Goexit) the request behaves again as the
// caller's, and gets the caller's context back. docs/recording.md weighs
// this against the alternatives.
//
// How, without a data race the program would not have: the first
// instrumented call that gets a request (the holder) replaces the
// request's context, once, with a requestContext. That context answers
// as the holder's context while the holder runs, as the innermost nested
// call's context on the holder's goroutine while a nested call with the
// same request runs there, and as the caller's context otherwise (to other
// goroutines: the holder's). Nested calls and other goroutines' calls
// switch it through atomics, never by writing the request again. When the
// holder returns, the caller's context is written back, unless an
// instrumented call on another goroutine has used the request (it may
// still be reading the field): the requestContext then stays, answering
// as the caller's context.
//
// http.Request has no method that changes its context in place: the
// context is the unexported field ctx. requestContextField finds it by
// reflection once, checks its type and that a value stored there is what
// Context returns, and stores through its offset. Should a Go release
// rename or retype the field, the check fails and the whole struct is
// written instead, through the exported API (*r = *r.WithContext(ctx)).

// requestContextOffset is the offset of http.Request's context field;
// requestContextFound reports whether it was found and checked.
var requestContextOffset, requestContextFound = requestContextField()

func requestContextField() (uintptr, bool) {
	f, ok := reflect.TypeFor[http.Request]().FieldByName("ctx")
	if !ok || len(f.Index) != 1 || f.Type != reflect.TypeFor[context.Context]() {
		return 0, false
	}
	type probeKey struct{}
	probe := context.WithValue(context.Background(), probeKey{}, 0)
	r := new(http.Request)
	*(*context.Context)(unsafe.Add(unsafe.Pointer(r), f.Offset)) = probe
	if r.Context() != probe {
		return 0, false
	}
	return f.Offset, true
}

// rawRequestContext returns r's context field as it is: nil if unset,
// where Context returns context.Background().
func rawRequestContext(r *http.Request) context.Context {
	if requestContextFound {
		return *(*context.Context)(unsafe.Add(unsafe.Pointer(r), requestContextOffset))
	}
	return r.Context()
}

// setRequestContext makes ctx r's context field, in place.
func setRequestContext(r *http.Request, ctx context.Context) {
	if requestContextFound {
		*(*context.Context)(unsafe.Add(unsafe.Pointer(r), requestContextOffset)) = ctx
		return
	}
	if ctx == nil {
		ctx = context.Background()
	}
	*r = *r.WithContext(ctx)
}

// requestContext is the context of a request that instrumented calls
// use. Deadline, Done and Err are the caller's context's: the calls'
// contexts only add values to it.
type requestContext struct {
	context.Context // the caller's: what r.Context() returned
	// field is the request's context field before, written back when
	// the holder returns.
	field context.Context
	// home is the goroutine that installed it.
	home uintptr
	// shared is set once a call on another goroutine than home has used
	// the request: the field is then never written again.
	shared atomic.Bool
	// hold is the call that holds the request, nil when none does.
	hold atomic.Pointer[requestHold]
	// first is the first holder's, allocated with the context.
	first requestHold
}

// requestHold is a call that holds a request, and the calls nested in it
// on its goroutine with the same request.
type requestHold struct {
	goroutine uintptr
	ctx       context.Context // the holding call's context
	// nestedDepth counts the nested calls running; nested is the
	// innermost one's context, read and written only on goroutine.
	nestedDepth atomic.Int32
	nested      context.Context
}

// current is the context the request answers as on the calling goroutine.
func (rc *requestContext) current() context.Context {
	h := rc.hold.Load()
	if h == nil {
		return rc.Context
	}
	if h.nestedDepth.Load() > 0 && h.goroutine == gls.ID() {
		return h.nested
	}
	return h.ctx
}

// Value looks key up in the context the request answers as.
func (rc *requestContext) Value(key any) any { return rc.current().Value(key) }

// String names the context the request answers as, for debugging.
func (rc *requestContext) String() string { return fmt.Sprint(rc.current()) }

// Requests' contexts are read and written under their shard's lock by the
// runtime, so that two calls never race on a request.
var requestLocks [64]struct {
	sync.Mutex
	_ [64 - 8]byte // its own cache line
}

func requestLock(r *http.Request) *sync.Mutex {
	p := uint64(uintptr(unsafe.Pointer(r)))
	return &requestLocks[(p*0x9E3779B97F4A7C15)>>(64-6)].Mutex
}

// usedRequest is what a call did with its request, for Exit to undo.
type usedRequest struct {
	rc *requestContext
	// r is the request whose context field the call wrote, if it did.
	r *http.Request
	// nested is set for a call nested in the holder on its goroutine;
	// saved is then the context of the call it is nested in.
	nested bool
	saved  context.Context
	// holds is set when the call holds the request.
	holds bool
}

// EnterRequest opens the span of an instrumented function that has an
// *http.Request parameter (an HTTP handler). The parent is the span in r's
// context, else the goroutine's current span.
//
// It returns r itself, and a nil *Call when tracing is off. When tracing
// is on, r's context answers, until the *Call's Exit, as the one
// [EnterContext] would return for r's context (a sampled-out span is
// carried too, so that callees share the sampling decision); Exit gives
// the caller's context back, however the function ends. Generated code
// assigns the request back to the parameter. A call on another goroutine
// than the one holding r (the first call that got it) does not change what
// r's context answers: its span is a child of the holder's. A nil r stays
// nil, and the span is then parented as for [Enter].
func EnterRequest(r *http.Request, typ SpanType, name, function string, inputs func(*Values)) (*http.Request, *Call) {
	if r == nil { // a handler called directly with no request: nothing to carry the span
		_, c := enter(nil, typ, name, function, inputs)
		return nil, c
	}
	if active.Load() == nil {
		return r, nil
	}
	me := gls.ID()
	mu := requestLock(r)
	mu.Lock()
	field := rawRequestContext(r)
	parent := r.Context()
	rc, _ := field.(*requestContext)
	if rc != nil {
		parent = rc.joinedBy(me)
	}
	mu.Unlock()

	ctx, c := enter(parent, typ, name, function, inputs)
	if c == nil {
		return r, nil
	}
	if rc == nil {
		c.request = installRequestContext(r, ctx, me)
		return r, c
	}
	c.request = rc.use(ctx, me)
	return r, c
}

// joinedBy returns the context a call on goroutine me starts from, and
// marks the request shared if me is not its home goroutine. Called under
// the request's lock.
func (rc *requestContext) joinedBy(me uintptr) context.Context {
	if me != rc.home {
		rc.shared.Store(true)
	}
	h := rc.hold.Load()
	switch {
	case h == nil:
		return rc.Context
	case h.goroutine == me && h.nestedDepth.Load() > 0:
		return h.nested
	}
	return h.ctx
}

// installRequestContext makes a requestContext held by the call whose
// context is ctx r's context, unless a call on another goroutine has done
// so since EnterRequest looked.
func installRequestContext(r *http.Request, ctx context.Context, me uintptr) usedRequest {
	mu := requestLock(r)
	mu.Lock()
	defer mu.Unlock()
	field := rawRequestContext(r)
	if rc, ok := field.(*requestContext); ok {
		rc.joinedBy(me)
		return rc.use(ctx, me)
	}
	rc := &requestContext{Context: r.Context(), field: field, home: me}
	rc.first = requestHold{goroutine: me, ctx: ctx}
	rc.hold.Store(&rc.first)
	setRequestContext(r, rc)
	return usedRequest{rc: rc, r: r, holds: true}
}

// use records that the call whose context is ctx, on goroutine me, uses
// the request: it holds it if no call does, or nests in the holder if that
// runs on me; otherwise the request is left as it is.
func (rc *requestContext) use(ctx context.Context, me uintptr) usedRequest {
	h := rc.hold.Load()
	if h == nil && rc.hold.CompareAndSwap(nil, &requestHold{goroutine: me, ctx: ctx}) {
		return usedRequest{rc: rc, holds: true}
	}
	h = rc.hold.Load()
	if h == nil || h.goroutine != me {
		return usedRequest{}
	}
	saved := h.ctx
	if h.nestedDepth.Load() > 0 {
		saved = h.nested
	}
	h.nested = ctx
	h.nestedDepth.Add(1)
	return usedRequest{rc: rc, nested: true, saved: saved}
}

// releaseRequest undoes what the call did with its request. Exit calls
// it first, however the function ends.
func (c *Call) releaseRequest() {
	u := c.request
	if u.rc == nil {
		return
	}
	c.request = usedRequest{}
	if u.nested {
		h := u.rc.hold.Load() // the holder's: it runs on this goroutine
		h.nested = u.saved
		h.nestedDepth.Add(-1)
		return
	}
	if !u.holds {
		return
	}
	u.rc.hold.Store(nil)
	if u.r == nil {
		return
	}
	mu := requestLock(u.r)
	mu.Lock()
	if !u.rc.shared.Load() && rawRequestContext(u.r) == context.Context(u.rc) {
		setRequestContext(u.r, u.rc.field)
	}
	mu.Unlock()
}
