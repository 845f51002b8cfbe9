package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// DefaultTimeout bounds one export when Config.Timeout is zero, as
// OTEL_EXPORTER_OTLP_TIMEOUT's default does.
const DefaultTimeout = 10 * time.Second

// Config is where and how an Exporter sends spans.
type Config struct {
	// URL is where export requests are posted, scheme, host and path.
	URL string
	// Headers are added to every request.
	Headers map[string]string
	// JSON selects OTLP/HTTP's JSON encoding (http/json) over protobuf
	// (http/protobuf).
	JSON bool
	// Gzip compresses request bodies.
	Gzip bool
	// Timeout bounds one export, every attempt and every wait between
	// them included; 0 means DefaultTimeout.
	Timeout time.Duration
	// TLS configures https connections; nil verifies the server against
	// the system's roots.
	TLS *tls.Config
	// UserAgent is the User-Agent header, unless Headers set one.
	UserAgent string
}

// Exporter sends spans to one OTLP/HTTP endpoint. It implements
// sdktrace.SpanExporter.
//
// An export that the server throttles (429) or cannot take now (502, 503,
// 504) is retried with exponential backoff and jitter, waiting at least
// what a Retry-After header asks, until the export's deadline: the
// earlier of its context's and Config.Timeout. A wait that would end past
// that deadline is not started: the export fails at once, saying why.
// Other failures are not retried, as in the upstream exporter.
type Exporter struct {
	cfg    Config
	client *http.Client
	// firstBackoff is the wait before the first retry; each later wait
	// doubles, up to maxBackoff.
	firstBackoff, maxBackoff time.Duration
	// sleep waits d or until ctx ends; tests record the waits instead.
	sleep func(ctx context.Context, d time.Duration) error

	// stopped is cancelled by Shutdown, which ends requests in flight.
	stopped context.Context
	stop    context.CancelFunc
}

var _ sdktrace.SpanExporter = (*Exporter)(nil)

// errShutdown is why exports fail after Shutdown.
var errShutdown = errors.New("exporter shut down")

// New returns an exporter for cfg.
func New(cfg Config) (*Exporter, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("endpoint %q is not an http or https URL", cfg.URL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	stopped, stop := context.WithCancelCause(context.Background())
	return &Exporter{
		cfg:          cfg,
		client:       &http.Client{Transport: newTransport(cfg.TLS)},
		firstBackoff: time.Second,
		maxBackoff:   8 * time.Second,
		sleep:        sleep,
		stopped:      stopped,
		stop:         func() { stop(errShutdown) },
	}, nil
}

// newTransport is the exporter's own transport, configured like
// http.DefaultTransport (which the runtime wraps to capture LLM calls, and
// which the program may have replaced).
func newTransport(tlsConfig *tls.Config) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       tlsConfig,
	}
}

// Shutdown ends the requests in flight; later exports fail. It is safe to
// call more than once.
func (e *Exporter) Shutdown(context.Context) error {
	e.stop()
	e.client.CloseIdleConnections()
	return nil
}

// ExportSpans sends spans in one request, retried as the Exporter's doc
// says. A server that accepts the request but rejects some spans gives a
// *PartialSuccess error.
func (e *Exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	if e.stopped.Err() != nil {
		return errShutdown
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	defer context.AfterFunc(e.stopped, func() { stop(errShutdown) })()
	ctx, cancel := context.WithTimeoutCause(ctx, e.cfg.Timeout, exportTimeout(e.cfg.Timeout))
	defer cancel()
	body, err := e.body(spans)
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		res := e.send(ctx, body)
		if !res.retry {
			return res.err
		}
		wait := max(e.backoff(attempt), res.retryAfter)
		if err := giveUp(ctx, wait, res); err != nil {
			return err
		}
		if err := e.sleep(ctx, wait); err != nil {
			return fmt.Errorf("%w (retry abandoned: %w)", res.err, err)
		}
	}
}

// exportTimeout is the cause of an export's context when Config.Timeout
// ends it.
type exportTimeout time.Duration

func (t exportTimeout) Error() string {
	return fmt.Sprintf("export timeout (%v) reached", time.Duration(t))
}

// backoff is the wait before retry number attempt: exponential from
// firstBackoff, capped at maxBackoff, with jitter between half and all of
// it, so that many exporters do not retry in step.
func (e *Exporter) backoff(attempt int) time.Duration {
	d := e.firstBackoff
	for i := 1; i < attempt && d < e.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, e.maxBackoff)
	return d/2 + rand.N(d/2+1)
}

// giveUp is the failure res, with why it is not retried, when waiting d
// for the next attempt would end past ctx's deadline; else nil.
func giveUp(ctx context.Context, d time.Duration, res result) error {
	deadline, ok := ctx.Deadline()
	if !ok || time.Until(deadline) >= d {
		return nil
	}
	if res.retryAfter > 0 && res.retryAfter == d {
		return fmt.Errorf("%w (not retried: the server asked to retry after %v, past the export deadline)", res.err, d.Round(time.Millisecond))
	}
	return fmt.Errorf("%w (not retried: the next attempt would start past the export deadline)", res.err)
}

// sleep waits d, or until ctx ends, and then returns why.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// body encodes spans, compressed when configured.
func (e *Exporter) body(spans []sdktrace.ReadOnlySpan) ([]byte, error) {
	var raw []byte
	if e.cfg.JSON {
		raw = AppendJSON(nil, spans)
	} else {
		raw = AppendProtobuf(nil, spans)
	}
	if !e.cfg.Gzip {
		return raw, nil
	}
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	if _, err := zw.Write(raw); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return buf.Bytes(), nil
}

var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// result is the outcome of one attempt.
type result struct {
	err        error
	retry      bool          // the failure is one to retry
	retryAfter time.Duration // what the server's Retry-After asked, or 0
}

// maxResponseBody caps how much of a response is read: enough for a
// partial success or an error message.
const maxResponseBody = 64 << 10

// send makes one attempt.
func (e *Exporter) send(ctx context.Context, body []byte) result {
	req, err := e.request(ctx, body)
	if err != nil {
		return result{err: err}
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return result{err: requestError(ctx, err)}
	}
	defer resp.Body.Close()
	data, readErr := readLimited(resp)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if readErr != nil {
			return result{} // the spans were accepted; the rest does not matter
		}
		if ps := parsePartialSuccess(resp.Header.Get("Content-Type"), data); ps != nil {
			return result{err: ps}
		}
		return result{}
	}
	err = statusError(resp, data)
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return result{err: err, retry: true, retryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	}
	return result{err: err}
}

func (e *Exporter) request(ctx context.Context, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("request: %w", err)
	}
	if e.cfg.UserAgent != "" {
		req.Header.Set("User-Agent", e.cfg.UserAgent)
	}
	for k, v := range e.cfg.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if e.cfg.JSON {
		req.Header.Set("Content-Type", "application/json")
	}
	if e.cfg.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	return req, nil
}

// requestError describes a request that got no answer: the transport's
// error without the URL (the caller says where), or why ctx ended.
func requestError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("no answer: %w", context.Cause(ctx))
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}

// readLimited reads up to maxResponseBody bytes of resp's body.
func readLimited(resp *http.Response) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(nil, resp.Body, maxResponseBody))
	return buf.Bytes(), err
}

// statusError describes an answer that is not a success: the status, and
// the server's message when the body holds one.
func statusError(resp *http.Response, body []byte) error {
	if msg := errorMessage(resp.Header.Get("Content-Type"), body); msg != "" {
		return fmt.Errorf("server answered %s: %s", resp.Status, msg)
	}
	return fmt.Errorf("server answered %s", resp.Status)
}

// retryAfter parses a Retry-After header: seconds, or an HTTP date. It is
// 0 when absent or malformed.
func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
