package llmcapture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Retry grace periods: how long a span parked after a retryable failure
// waits for the next attempt.
const (
	defaultGrace = 15 * time.Second
	graceMargin  = 5 * time.Second
	maxGrace     = 2 * time.Minute
	// maxParked bounds the parked spans; past it a failure ends its span.
	maxParked = 10000
)

// markKey marks the context of a request the engine has taken, so that
// the transports and middlewares under it pass it through.
type markKey struct{}

// roundTrip sends a request.
type roundTrip = func(*http.Request) (*http.Response, error)

// Transport returns a RoundTripper that sends requests through base and
// captures those of the enabled providers. A nil base means the value of
// http.DefaultTransport now, when Transport is called.
func (e *Engine) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{engine: e, base: base}
}

type transport struct {
	engine *Engine
	base   http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.engine.RoundTrip(t.base, req)
}

// CloseIdleConnections closes the idle connections of the wrapped
// transport, as http.Client.CloseIdleConnections expects.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Unwrap returns the wrapped transport.
func (t *transport) Unwrap() http.RoundTripper { return t.base }

// RoundTrip sends req through base, capturing it if it calls an enabled
// provider. base must not be nil.
func (e *Engine) RoundTrip(base http.RoundTripper, req *http.Request) (*http.Response, error) {
	return e.do(req, base.RoundTrip)
}

// Middleware sends req through next, capturing it if it calls an enabled
// provider. Its signature is that of option.Middleware in openai-go and
// anthropic-sdk-go, so e.Middleware can be passed to option.WithMiddleware.
func (e *Engine) Middleware(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	return e.do(req, next)
}

func (e *Engine) do(req *http.Request, next roundTrip) (*http.Response, error) {
	if e == nil || req == nil || req.Context().Value(markKey{}) != nil {
		return next(req)
	}
	cfg := e.config.Load()
	ep, ok := cfg.match(req)
	if !ok {
		return next(req)
	}
	tracer := e.deps.Tracer()
	if tracer == nil {
		return next(req)
	}
	return e.capture(req, ep, cfg, tracer, next)
}

// capture sends one attempt of a captured call.
func (e *Engine) capture(req *http.Request, ep endpoint, cfg *config, tracer trace.Tracer, next roundTrip) (*http.Response, error) {
	body, send := readRequestBody(req, cfg.maxBody)
	a := e.begin(req, ep, cfg, tracer, body)
	ctx := req.Context()
	if a != nil {
		ctx = trace.ContextWithSpan(ctx, a.c.span)
	}
	out := req.WithContext(context.WithValue(ctx, markKey{}, true))
	out.Body = send
	resp, err := next(out)
	if a != nil {
		a.after(resp, err)
	}
	return resp, err
}

// bodyText is a request or response body as the engine keeps it.
type bodyText struct {
	text string
	ok   bool // the body was read whole: it is not larger than the cap, nor failed
}

// readRequestBody reads req's body up to max bytes. It returns the body
// and the body to send in its place, which yields exactly what the
// original would have: the bytes read, then the rest of the original or
// the error the read ended with. Closing it closes the original (unless
// that is one of io.NopCloser's, whose Close does nothing).
func readRequestBody(req *http.Request, max int64) (bodyText, io.ReadCloser) {
	orig := req.Body
	if orig == nil || orig == http.NoBody {
		return bodyText{ok: true}, orig
	}
	if req.ContentLength > max {
		return bodyText{}, orig
	}
	var text string
	var err error
	n := req.ContentLength
	if wt, ok := orig.(io.WriterTo); ok && n > 0 {
		// A body in memory (bytes.Reader, bytes.Buffer, strings.Reader,
		// as http.NewRequest wraps them) writes itself into the string
		// at once.
		var b strings.Builder
		b.Grow(int(n))
		_, err = wt.WriteTo(&b)
		text = b.String()
	} else if n > 0 {
		// The transport sends ContentLength bytes: read those, leaving any
		// more to fail in the transport as they would have.
		data := make([]byte, n)
		var got int
		got, err = io.ReadFull(orig, data)
		text = string(data[:got])
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			err = nil
		}
	} else {
		buf := bytes.NewBuffer(make([]byte, 0, 512))
		_, err = buf.ReadFrom(io.LimitReader(orig, max+1))
		text = buf.String()
	}
	switch {
	case err != nil:
		return bodyText{}, readCloser{io.MultiReader(strings.NewReader(text), errReader{err}), orig}
	case int64(len(text)) > max:
		return bodyText{}, readCloser{io.MultiReader(strings.NewReader(text), orig), orig}
	}
	if t := reflect.TypeOf(orig); t == nopCloserType || t == nopCloserWriterToType {
		// The original's Close does nothing, and a body net/http knows to
		// be in memory is sent in the same packet as the headers, as the
		// original was if it was one of those: keep it one.
		return bodyText{text: text, ok: true}, io.NopCloser(strings.NewReader(text))
	}
	return bodyText{text: text, ok: true}, readCloser{strings.NewReader(text), orig}
}

// The types of the bodies io.NopCloser makes, which http.NewRequest gives
// the bodies it knows to be in memory.
var (
	nopCloserType         = reflect.TypeOf(io.NopCloser(nil))
	nopCloserWriterToType = reflect.TypeOf(io.NopCloser(strings.NewReader("")))
)

type readCloser struct {
	io.Reader
	io.Closer
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// callKey is the fingerprint that ties the attempts of a call together.
type callKey struct {
	trace trace.TraceID
	span  trace.SpanID
	hash  uint64
}

var fingerprintSeed = maphash.MakeSeed()

// fingerprint hashes what every attempt of a call has in common: method,
// URL, body, and the id of the call if the client sends one.
func fingerprint(req *http.Request, body bodyText, callID string) uint64 {
	var h maphash.Hash
	h.SetSeed(fingerprintSeed)
	h.WriteString(callID)
	h.WriteByte(0)
	h.WriteString(req.Method)
	h.WriteByte(0)
	h.WriteString(req.URL.Host)
	h.WriteString(req.URL.Path)
	h.WriteByte('?')
	h.WriteString(req.URL.RawQuery)
	h.WriteByte(0)
	if !body.ok {
		var n [20]byte
		h.Write(strconv.AppendInt(n[:0], req.ContentLength, 10))
	}
	h.WriteString(body.text)
	return h.Sum64()
}

// call is one logical call: a span and its attempts.
type call struct {
	e     *Engine
	cfg   *config
	ep    endpoint
	span  trace.Span
	start time.Time
	key   callKey
	host  string
	port  int
	// reqBody is the request body, parsed when the call completes.
	reqBody bodyText

	mu       sync.Mutex
	attempts int
	timer    *time.Timer
	finished bool
	last     outcome // the latest attempt's
}

// outcome is how an attempt ended, as it was seen on the caller's path;
// the bodies are parsed when the call completes.
type outcome struct {
	end       time.Time
	status    int       // HTTP status; 0 without a response
	err       error     // a transport or body read error
	closed    bool      // the body was closed before its end, or its caller gave up
	body      bodyText  // a JSON body
	acc       stream    // a stream's events
	firstData time.Time // a stream's first event
	cancelled bool      // the caller gave up
	errorType string    // the error type an error response's header names
	read      int64     // the bytes of the response body read
}

// attempt is one attempt of a call.
type attempt struct {
	c    *call
	ctx  context.Context
	info attemptInfo
}

// begin starts an attempt: it resumes the call parked under the request's
// fingerprint, or starts a new one. It returns nil if anything panics.
func (e *Engine) begin(req *http.Request, ep endpoint, cfg *config, tracer trace.Tracer, body bodyText) (a *attempt) {
	defer func() {
		if recover() != nil {
			a = nil
		}
	}()
	start := time.Now()
	ctx := req.Context()
	parent := e.deps.Parent(ctx)
	psc := trace.SpanContextFromContext(parent)
	info := attemptOf(req.Header)
	key := callKey{trace: psc.TraceID(), span: psc.SpanID(), hash: fingerprint(req, body, info.callID)}
	var c *call
	if !info.first {
		c = e.resume(key)
	}
	if c == nil {
		c = e.newCall(req, parent, ep, cfg, tracer, body, key, start)
	}
	c.mu.Lock()
	c.attempts++
	c.mu.Unlock()
	return &attempt{c: c, ctx: ctx, info: info}
}

// newCall starts the span of a call with its name and the attributes the
// GenAI conventions ask for at span creation, where samplers see them: the
// operation, provider, server and requested model. Only the model is read
// from the body then, in one pass that keeps nothing, so that an
// unsampled call costs no more; the body is parsed, and the rest of the
// attributes set, when the call completes.
func (e *Engine) newCall(req *http.Request, parent context.Context, ep endpoint, cfg *config, tracer trace.Tracer, body bodyText, key callKey, start time.Time) *call {
	c := &call{e: e, cfg: cfg, ep: ep, start: start, key: key, reqBody: body, host: req.URL.Hostname()}
	c.port, _ = strconv.Atoi(req.URL.Port())
	if c.port == 0 {
		c.port = 443
		if req.URL.Scheme == "http" {
			c.port = 80
		}
	}
	model := requestModel(ep, body)
	_, c.span = tracer.Start(parent, spanName(ep.op, model),
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(start),
		trace.WithAttributes(c.baseAttrs(model)...))
	return c
}

// baseAttrs are the attributes a span starts with: those the endpoint
// gives, and the requested model.
func (c *call) baseAttrs(model string) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		keySpanType.String(spanTypeLLM),
		keyOperation.String(c.ep.op.name),
		keyProvider.String(c.ep.provider),
		keyServerAddress.String(c.host),
		keyServerPort.Int(c.port),
		{},
	}
	if model == "" {
		return attrs[:5]
	}
	attrs[5] = keyRequestModel.String(strings.Clone(model))
	return attrs
}

// after handles what next returned for the attempt: it ends or parks the
// call on a transport error, and otherwise wraps the response body, whose
// end ends the attempt.
func (a *attempt) after(resp *http.Response, err error) {
	defer func() { _ = recover() }()
	c := a.c
	if !c.span.IsRecording() {
		c.span.End()
		return
	}
	if err != nil || resp == nil {
		if err == nil {
			err = errors.New("no response")
		}
		o := outcome{end: time.Now(), err: err}
		if a.cancelled(err) {
			o.cancelled = true
			c.end(o)
			return
		}
		// The clients that number their attempts retry transport
		// errors; others are not known to.
		if a.info.counted && !a.info.last {
			c.park(o, defaultGrace)
			return
		}
		c.end(o)
		return
	}
	resp.Body = newBody(a, resp)
}

// cancelled reports whether err ends the attempt because its caller gave
// up.
func (a *attempt) cancelled(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(a.ctx.Err(), context.Canceled)
}

// end records o as the call's last outcome and ends the call.
func (c *call) end(o outcome) {
	c.mu.Lock()
	c.last = o
	c.mu.Unlock()
	c.finish()
}

// park records o and leaves the call waiting for a retry for at most grace.
func (c *call) park(o outcome, grace time.Duration) {
	c.mu.Lock()
	c.last = o
	c.mu.Unlock()
	e := c.e
	e.mu.Lock()
	e.parked.remove(c)
	if !e.parked.add(c) {
		e.mu.Unlock()
		c.finish()
		return
	}
	c.mu.Lock()
	c.timer = time.AfterFunc(grace, func() { e.expire(c) })
	c.mu.Unlock()
	e.mu.Unlock()
}

// resume takes the call that has waited longest under key, if any, and
// records on its span that its last attempt was retried.
func (e *Engine) resume(key callKey) *call {
	e.mu.Lock()
	c := e.parked.take(key)
	e.mu.Unlock()
	if c == nil {
		return nil
	}
	c.stopTimer()
	c.mu.Lock()
	if c.finished {
		c.mu.Unlock()
		return nil
	}
	o, n := c.last, c.attempts
	c.mu.Unlock()
	attrs := []attribute.KeyValue{attribute.Int("overmind.llm.attempt", n)}
	if o.status > 0 {
		attrs = append(attrs, keyHTTPStatus.Int(o.status))
	}
	var kind, msg string
	if o.status >= 400 && o.body.ok {
		kind, msg = parseError(o.body.text) // the client read it: the AWS SDK
	}
	kind, msg = c.errorOf(o, strings.Clone(kind), strings.Clone(msg))
	attrs = append(attrs, keyErrorTypeOTel.String(kind), keyErrorMessage.String(msg))
	c.span.AddEvent(retryEvent, trace.WithTimestamp(o.end), trace.WithAttributes(attrs...))
	return c
}

// expire ends a parked call that no retry resumed.
func (e *Engine) expire(c *call) {
	e.mu.Lock()
	parked := e.parked.remove(c)
	e.mu.Unlock()
	if parked {
		c.finish()
	}
}

func (c *call) stopTimer() {
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.mu.Unlock()
}

// errorOf returns the error type and message of a failed outcome, given
// the provider's (kind and msg, empty when unknown).
func (c *call) errorOf(o outcome, kind, msg string) (string, string) {
	if o.err != nil {
		if kind == "" {
			kind = goErrorKind(o.err)
		}
		if msg == "" {
			msg = o.err.Error()
		}
	}
	if o.status >= 400 {
		if kind == "" {
			kind = o.errorType
		}
		if kind == "" {
			kind = statusKind(o.status)
		}
		if msg == "" {
			msg = strconv.Itoa(o.status) + " " + http.StatusText(o.status)
		}
	}
	if kind == "" {
		kind = "error"
	}
	return kind, c.e.deps.ErrorMessage(msg)
}

// finish ends the call with its last outcome, once.
func (c *call) finish() {
	c.mu.Lock()
	if c.finished {
		c.mu.Unlock()
		return
	}
	c.finished = true
	o, attempts := c.last, c.attempts
	c.mu.Unlock()
	if o.end.IsZero() {
		o.end = time.Now()
	}
	c.complete(o, attempts)
}

// complete ends the call's span with the attributes and status of what it
// sent and received: computed now, or, when the engine may defer them
// (see deferred.go), when the span is first read, off the caller's path.
func (c *call) complete(o outcome, attempts int) {
	defer func() { _ = recover() }()
	if c.e.deferrable(c, &o) {
		c.endDeferred(o, attempts)
		return
	}
	w := c.e.writer()
	defer w.release()
	attrs, status := c.completeAttrs(w.kvBuffer(), &w, o, attempts)
	span := c.span
	span.SetAttributes(attrs...)
	if status.Code == codes.Error {
		span.SetStatus(codes.Error, status.Description)
	}
	w.keepKV(attrs, span)
	span.End(trace.WithTimestamp(o.end))
}

// completeAttrs parses what the call sent and received and appends the
// attributes its span gets when it completes to attrs, writing the content
// attributes with w; it returns them and the span's status.
func (c *call) completeAttrs(attrs []attribute.KeyValue, w *writer, o outcome, attempts int) ([]attribute.KeyValue, sdktrace.Status) {
	e := c.e
	attrs = e.requestAttrs(attrs, w, c.ep, parseRequest(c.ep, c.reqBody), c.cfg)
	attrs = append(attrs, keyAttempts.Int(attempts))
	if o.status > 0 {
		attrs = append(attrs, keyHTTPStatus.Int(o.status))
	}
	v := c.judge(&o)
	if v.resp != nil {
		attrs = e.responseAttrs(attrs, w, v.resp, c.cfg.content)
	}
	attrs = w.attrs(attrs)
	return c.endAttrs(attrs, &o, &v)
}

// verdict is what the outcome of a call says of it.
type verdict struct {
	resp      *response // the response parsed, if there is one
	failed    bool
	cancelled bool
	// kind and msg are the error type and message the provider sent, if
	// it sent one.
	kind, msg string
}

// judge parses the response of outcome o, if it has one, and tells
// whether the call failed or was cancelled: an error status, or an error
// the provider sent in the body, makes it failed and not cancelled; a
// stream its caller closed before its end, without an error, is
// cancelled.
func (c *call) judge(o *outcome) verdict {
	v := verdict{failed: o.err != nil && !o.cancelled, cancelled: o.cancelled}
	switch {
	case o.status >= 400:
		v.failed, v.cancelled = true, false
		if o.body.ok {
			v.kind, v.msg = parseError(o.body.text)
		}
	case o.acc != nil:
		v.resp = safeResult(o.acc)
		switch {
		case v.resp != nil && v.resp.errType != "":
			v.failed, v.cancelled = true, false
			v.kind, v.msg = v.resp.errType, v.resp.errMessage
		case o.err == nil && o.closed && (v.resp == nil || !v.resp.complete):
			// The caller closed the stream before its end, or gave up.
			v.cancelled = true
		}
	case o.err == nil && o.body.ok && o.status >= 200 && o.status < 300:
		v.resp = parseResponse(c.ep.op, o.body.text)
		if v.resp != nil && v.resp.errType != "" {
			v.failed = true
			v.kind, v.msg = v.resp.errType, v.resp.errMessage
		}
	}
	return v
}

// endAttrs appends the timing and status attributes of a call that ended
// with o, judged v, to attrs, and returns them with the span's status:
// Error if it failed.
func (c *call) endAttrs(attrs []attribute.KeyValue, o *outcome, v *verdict) ([]attribute.KeyValue, sdktrace.Status) {
	if !o.firstData.IsZero() {
		attrs = append(attrs, keyTimeToFirst.Float64(o.firstData.Sub(c.start).Seconds()))
	}
	attrs = append(attrs, keyDuration.Float64(o.end.Sub(c.start).Seconds()))
	var status sdktrace.Status
	switch {
	case v.cancelled:
		attrs = append(attrs, keyStatus.String(statusCancelled))
	case v.failed:
		kind, msg := c.errorOf(*o, strings.Clone(v.kind), strings.Clone(v.msg))
		attrs = append(attrs,
			keyStatus.String(statusFailed),
			keyErrorTypeOTel.String(kind),
			keyErrorType.String(kind),
			keyErrorMessage.String(msg))
		status = sdktrace.Status{Code: codes.Error, Description: msg}
	default:
		attrs = append(attrs, keyStatus.String(statusSuccess))
	}
	return attrs, status
}

// retryable reports whether openai-go and anthropic-sdk-go would retry a
// response: x-should-retry decides if set, else the status.
func retryable(resp *http.Response) bool {
	switch resp.Header.Get("X-Should-Retry") {
	case "true":
		return true
	case "false":
		return false
	}
	s := resp.StatusCode
	return s == http.StatusRequestTimeout || s == http.StatusConflict || s == http.StatusTooManyRequests || s >= 500
}

// retryGrace is how long to wait for the retry of resp: what the server
// asks the client to wait, plus a margin.
func retryGrace(resp *http.Response) time.Duration {
	var wait time.Duration
	if v := resp.Header.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			wait = time.Duration(ms * float64(time.Millisecond))
		}
	} else if v := resp.Header.Get("Retry-After"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
			wait = time.Duration(s * float64(time.Second))
		} else if t, err := http.ParseTime(v); err == nil {
			wait = time.Until(t)
		}
	}
	grace := max(defaultGrace, wait+graceMargin)
	return min(grace, maxGrace)
}

// goErrorKind names a Go error for error.type: the sentinel it is, else
// its type, looking through wrappers that have no type of interest.
func goErrorKind(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "context.DeadlineExceeded"
	case errors.Is(err, context.Canceled):
		return "context.Canceled"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "io.ErrUnexpectedEOF"
	case errors.Is(err, io.EOF):
		return "io.EOF"
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return "*net.OpError"
	}
	return fmt.Sprintf("%T", err)
}
