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
	// frames splits a stream into events, which acc accumulates.
	frames framing
	acc    stream
	// firstData is when the stream's first event arrived.
	firstData time.Time
}

func newBody(a *attempt, resp *http.Response) io.ReadCloser {
	b := &body{rc: resp.Body, a: a, resp: resp, status: resp.StatusCode, max: a.c.cfg.maxBody}
	if b.rc == nil {
		b.rc = http.NoBody
	}
	if b.status >= 200 && b.status < 300 {
		if frames := newFraming(resp.Header.Get("Content-Type"), int(b.max), b.onEvent); frames != nil {
			if acc := newStream(a.c.ep.op); acc != nil {
				b.frames, b.acc = frames, acc
			}
		}
	}
	if b.frames == nil && resp.ContentLength > 0 && resp.ContentLength <= b.max {
		b.buf.Grow(int(resp.ContentLength))
	}
	return b
}

// framing splits a streamed response into events as the caller reads it.
type framing interface {
	// feed takes the next bytes the caller read.
	feed(p []byte)
	// end is called when the stream ends at EOF.
	end()
}

// newFraming returns the framing of a response of Content-Type
// contentType, if it is a stream: server-sent events, or the AWS event
// stream. onEvent gets each event; max caps an event's size.
func newFraming(contentType string, max int, onEvent func(name, data []byte)) framing {
	mediaType, _, _ := strings.Cut(contentType, ";")
	switch mediaType = strings.TrimSpace(mediaType); {
	case strings.EqualFold(mediaType, "text/event-stream"):
		return &sseParser{max: max, onEvent: onEvent}
	case strings.EqualFold(mediaType, "application/vnd.amazon.eventstream"):
		return &eventStreamParser{max: max, onEvent: onEvent}
	}
	return nil
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
	case b.frames != nil:
		b.frames.feed(p)
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
	o := outcome{end: time.Now(), status: b.status, firstData: b.firstData, read: b.n}
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
	if b.frames != nil {
		if err == io.EOF {
			b.frames.end()
		}
		o.acc = b.acc
	} else if !b.over {
		o.body = bodyText{text: b.buf.String(), ok: true}
	}
	if b.status >= 400 {
		o.errorType = errorTypeOf(b.resp.Header, c.ep.api)
		if b.retried(&o) {
			c.park(o, retryGrace(b.resp))
			return
		}
	}
	c.end(o)
}

// retried reports whether the client is about to retry the attempt that
// ended with error response o: openai-go and anthropic-sdk-go close the
// body of a response they retry unread (and read the one they give up
// on), the AWS SDK reads both but says which attempt is its last.
func (b *body) retried(o *outcome) bool {
	info := b.a.info
	if !retryable(b.resp) || info.last {
		return false
	}
	return info.readsErrors || o.closed && b.n == 0
}

// errorTypeOf returns the error type the header of an error response of
// API a names, if a names its errors there ("ThrottlingException:http://..."
// gives "ThrottlingException").
func errorTypeOf(h http.Header, a *api) string {
	if a == nil || a.errorTypeHeader == "" {
		return ""
	}
	kind, _, _ := strings.Cut(h.Get(a.errorTypeHeader), ":")
	return kind
}
