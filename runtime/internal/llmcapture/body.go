package llmcapture

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// errClosed is the end of a body its reader closed.
var errClosed = errors.New("body closed")

// body wraps a captured response's body. It passes every Read and Close
// through unchanged, observes the bytes the caller reads (never reading
// ahead), and ends the attempt when the body ends: at EOF, on a read
// error, or when it is closed.
type body struct {
	rc     io.ReadCloser
	a      *attempt
	resp   *http.Response
	status int
	max    int64

	mu   sync.Mutex
	done bool
	n    int64           // bytes read
	buf  strings.Builder // a JSON body, up to max
	over bool            // the JSON body is larger than max
	sse  *sseParser
	acc  stream
	// firstData is when the stream's first event arrived.
	firstData time.Time
}

func newBody(a *attempt, resp *http.Response) io.ReadCloser {
	b := &body{rc: resp.Body, a: a, resp: resp, status: resp.StatusCode, max: a.c.cfg.maxBody}
	if b.rc == nil {
		b.rc = http.NoBody
	}
	if b.status >= 200 && b.status < 300 && isEventStream(resp.Header.Get("Content-Type")) {
		if acc := newStream(a.c.ep.op); acc != nil {
			b.acc = acc
			b.sse = &sseParser{max: int(b.max), onEvent: b.onEvent}
		}
	}
	if b.sse == nil && resp.ContentLength > 0 && resp.ContentLength <= b.max {
		b.buf.Grow(int(resp.ContentLength))
	}
	return b
}

// isEventStream reports whether a Content-Type is text/event-stream,
// whatever its parameters, without allocating.
func isEventStream(contentType string) bool {
	mediaType, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mediaType), "text/event-stream")
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 || err != nil {
		b.observe(p[:n], err)
	}
	return n, err
}

func (b *body) Close() error {
	err := b.rc.Close()
	b.observe(nil, errClosed)
	return err
}

// onEvent takes one server-sent event; b.mu is held.
func (b *body) onEvent(name, data []byte) {
	if b.firstData.IsZero() {
		b.firstData = time.Now()
	}
	safeEvent(b.acc, name, data)
}

// observe takes the next bytes the caller read, and how the read ended.
func (b *body) observe(p []byte, err error) {
	b.mu.Lock()
	if b.done {
		b.mu.Unlock()
		return
	}
	b.n += int64(len(p))
	switch {
	case b.sse != nil:
		b.sse.feed(p)
	case !b.over:
		if int64(b.buf.Len()+len(p)) > b.max {
			b.buf, b.over = strings.Builder{}, true
		} else {
			b.buf.Write(p)
		}
	}
	if err == nil {
		b.mu.Unlock()
		return
	}
	b.done = true
	b.mu.Unlock()
	defer func() { _ = recover() }()
	b.ended(err)
}

// ended ends the attempt once the body has; err is io.EOF, errClosed or
// the read error. b.done is set, so b is no longer written.
func (b *body) ended(err error) {
	a, c := b.a, b.a.c
	o := outcome{end: time.Now(), status: b.status, firstData: b.firstData}
	switch err {
	case io.EOF:
		// A stream can end cleanly after its caller gave up.
		o.closed = errors.Is(a.ctx.Err(), context.Canceled)
	case errClosed:
		o.closed = true
	default:
		o.err = err
		o.cancelled = a.cancelled(err)
	}
	if b.status >= 400 && o.closed && b.n == 0 && retryable(b.resp) {
		// The client closed the body unread: it is about to retry.
		c.park(o, retryGrace(b.resp))
		return
	}
	if b.sse != nil {
		if err == io.EOF {
			b.sse.end()
		}
		o.acc = b.acc
	} else if !b.over {
		o.body = bodyText{text: b.buf.String(), ok: true}
	}
	c.end(o)
}
