// Package otlptest is an OTLP/HTTP trace receiver for tests: it listens on
// 127.0.0.1, decodes what exporters send (protobuf or JSON, gzipped or
// not), and keeps the spans, their resources and the request headers so
// tests can assert on them.
package otlptest

import (
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Span is one received span, flattened for assertions.
type Span struct {
	TraceID, SpanID, ParentSpanID string
	Name                          string
	Kind                          tracepb.Span_SpanKind
	StatusCode                    tracepb.Status_StatusCode
	StatusMessage                 string
	Start, End                    time.Time
	Attrs                         map[string]any
	Resource                      map[string]any
	ScopeName                     string
	Events                        []Event
}

// Event is a span event, such as a recorded exception.
type Event struct {
	Name  string
	Attrs map[string]any
}

// Request is one export request as the receiver saw it.
type Request struct {
	Path   string
	Header http.Header
}

// Receiver is a running OTLP/HTTP receiver. Its zero value is not usable;
// call [NewReceiver].
type Receiver struct {
	// Server is the underlying test server; its URL is the endpoint base.
	Server *httptest.Server

	mu       sync.Mutex
	spans    []Span
	requests []Request
	status   int
	delay    time.Duration
	arrived  chan struct{}
}

// NewReceiver starts a receiver on 127.0.0.1 that accepts exports on any
// path. Close it when done.
func NewReceiver() *Receiver {
	r := &Receiver{status: http.StatusOK, arrived: make(chan struct{}, 1)}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serveHTTP))
	return r
}

// Close shuts the receiver down.
func (r *Receiver) Close() { r.Server.Close() }

// URL is the receiver's base URL, like "http://127.0.0.1:PORT".
func (r *Receiver) URL() string { return r.Server.URL }

// SetStatus makes the receiver answer every later export with code.
func (r *Receiver) SetStatus(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = code
}

// SetDelay makes the receiver wait d before answering each later export,
// to stand in for a slow backend.
func (r *Receiver) SetDelay(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay = d
}

// Spans returns a copy of every span received so far, in arrival order.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// Requests returns the path and headers of every export received so far.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// WaitForSpans waits until at least n spans have arrived or timeout passes,
// and returns what has arrived.
func (r *Receiver) WaitForSpans(n int, timeout time.Duration) []Span {
	deadline := time.After(timeout)
	for {
		if spans := r.Spans(); len(spans) >= n {
			return spans
		}
		select {
		case <-r.arrived:
		case <-deadline:
			return r.Spans()
		}
	}
}

func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	status, delay := r.status, r.delay
	r.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return
		}
	}
	msg, err := decode(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.requests = append(r.requests, Request{Path: req.URL.Path, Header: req.Header.Clone()})
	if status == http.StatusOK {
		r.spans = append(r.spans, flatten(msg)...)
	}
	r.mu.Unlock()
	select {
	case r.arrived <- struct{}{}:
	default:
	}
	if status != http.StatusOK {
		http.Error(w, http.StatusText(status), status)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&collectorpb.ExportTraceServiceResponse{})
	w.Write(out)
}

func decode(req *http.Request) (*collectorpb.ExportTraceServiceRequest, error) {
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	msg := &collectorpb.ExportTraceServiceRequest{}
	if strings.HasPrefix(req.Header.Get("Content-Type"), "application/json") {
		err = UnmarshalJSON(data, msg)
	} else {
		err = proto.Unmarshal(data, msg)
	}
	if err != nil {
		return nil, fmt.Errorf("decode export request: %w", err)
	}
	return msg, nil
}

// UnmarshalJSON decodes an export request in OTLP's JSON encoding: the
// protobuf JSON mapping, except that trace and span IDs are hex strings
// rather than base64. It rewrites the IDs and decodes with protojson.
func UnmarshalJSON(data []byte, msg *collectorpb.ExportTraceServiceRequest) error {
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return err
	}
	if err := hexIDsToBase64(doc); err != nil {
		return err
	}
	fixed, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return protojson.Unmarshal(fixed, msg)
}

// hexIDsToBase64 rewrites, wherever they are in doc, the traceId, spanId
// and parentSpanId members from hex to base64.
func hexIDsToBase64(doc any) error {
	switch v := doc.(type) {
	case map[string]any:
		for k, member := range v {
			s, isString := member.(string)
			switch {
			case isString && (k == "traceId" || k == "spanId" || k == "parentSpanId"):
				id, err := hex.DecodeString(s)
				if err != nil {
					return fmt.Errorf("%s %q is not hex: %w", k, s, err)
				}
				v[k] = base64.StdEncoding.EncodeToString(id)
			default:
				if err := hexIDsToBase64(member); err != nil {
					return err
				}
			}
		}
	case []any:
		for _, e := range v {
			if err := hexIDsToBase64(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func flatten(msg *collectorpb.ExportTraceServiceRequest) []Span {
	var out []Span
	for _, rs := range msg.GetResourceSpans() {
		res := attrMap(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				sp := Span{
					TraceID:       hex.EncodeToString(s.GetTraceId()),
					SpanID:        hex.EncodeToString(s.GetSpanId()),
					ParentSpanID:  hex.EncodeToString(s.GetParentSpanId()),
					Name:          s.GetName(),
					Kind:          s.GetKind(),
					StatusCode:    s.GetStatus().GetCode(),
					StatusMessage: s.GetStatus().GetMessage(),
					Start:         time.Unix(0, int64(s.GetStartTimeUnixNano())),
					End:           time.Unix(0, int64(s.GetEndTimeUnixNano())),
					Attrs:         attrMap(s.GetAttributes()),
					Resource:      res,
					ScopeName:     ss.GetScope().GetName(),
				}
				for _, e := range s.GetEvents() {
					sp.Events = append(sp.Events, Event{Name: e.GetName(), Attrs: attrMap(e.GetAttributes())})
				}
				out = append(out, sp)
			}
		}
	}
	return out
}

func attrMap(kvs []*commonpb.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = anyValue(kv.GetValue())
	}
	return m
}

// anyValue converts an OTLP value to string, bool, int64, float64, []byte
// or []any.
func anyValue(v *commonpb.AnyValue) any {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	case *commonpb.AnyValue_BytesValue:
		return x.BytesValue
	case *commonpb.AnyValue_ArrayValue:
		var out []any
		for _, e := range x.ArrayValue.GetValues() {
			out = append(out, anyValue(e))
		}
		return out
	case *commonpb.AnyValue_KvlistValue:
		return attrMap(x.KvlistValue.GetValues())
	default:
		return nil
	}
}

// Tree renders spans as an indented tree, children under their parent in
// start order, one "name [overmind.span.type]" line each. Spans whose parent
// is not among spans are roots. It makes span-tree assertions readable.
func Tree(spans []Span) string {
	byParent := map[string][]Span{}
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.SpanID] = true
	}
	var roots []Span
	for _, s := range spans {
		if s.ParentSpanID == "" || !ids[s.ParentSpanID] {
			roots = append(roots, s)
			continue
		}
		byParent[s.ParentSpanID] = append(byParent[s.ParentSpanID], s)
	}
	var buf bytes.Buffer
	var walk func(list []Span, depth int)
	walk = func(list []Span, depth int) {
		sort.SliceStable(list, func(i, j int) bool { return list[i].Start.Before(list[j].Start) })
		for _, s := range list {
			fmt.Fprintf(&buf, "%s%s [%v]\n", strings.Repeat("  ", depth), s.Name, s.Attrs["overmind.span.type"])
			walk(byParent[s.SpanID], depth+1)
		}
	}
	walk(roots, 0)
	return buf.String()
}

// WriteSelfSignedCert writes a self-signed CA certificate and its key as
// PEM files in a temporary directory, for the TLS variables of the
// standard OTLP environment.
func WriteSelfSignedCert(t testing.TB) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "collector.internal"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IsCA:         true,
		KeyUsage:     x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
