package overmind

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/overmind-core/overmind-go/internal/otlptest"
)

func shutdownForTest(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestOTLPExportToOvermind(t *testing.T) {
	recv := otlptest.NewReceiver()
	defer recv.Close()
	initForTest(t, Config{
		APIKey:      "ovr_test_key",
		BaseURL:     recv.URL(),
		ServiceName: "support-agent",
		Environment: "production",
	})
	SetUser(context.Background(), User{ID: "ignored: no span"})
	if _, err := lookupOrder(context.Background(), ""); err == nil {
		t.Fatal("no error")
	}
	handleRequest("go")
	shutdownForTest(t)

	spans := recv.WaitForSpans(4, 5*time.Second)
	if len(spans) != 4 {
		t.Fatalf("received %d spans, want 4", len(spans))
	}
	for _, r := range recv.Requests() {
		if r.Path != "/api/v1/traces" {
			t.Errorf("path %q", r.Path)
		}
		if got := r.Header.Get("X-Api-Key"); got != "ovr_test_key" {
			t.Errorf("X-Api-Key = %q", got)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
			t.Errorf("Content-Type = %q", ct)
		}
	}
	if got := otlptest.Tree(spans); !strings.Contains(got, "handle_request [entry_point]\n  research [workflow]\n    web_search [tool_call]\n") {
		t.Fatalf("tree:\n%s", got)
	}
	for _, s := range spans {
		for k, v := range map[string]any{
			"service.name": "support-agent", "deployment.environment": "production",
			"overmind.sdk.name": "overmind-go", "overmind.sdk.version": "devel", "service.version": "unknown",
		} {
			if s.Resource[k] != v {
				t.Errorf("resource %s = %v, want %v", k, s.Resource[k], v)
			}
		}
		if s.ScopeName != scopeName {
			t.Errorf("scope %q", s.ScopeName)
		}
		if s.Name == "lookup_order" {
			for k, v := range map[string]any{
				"overmind.span.type": "tool_call", "overmind.status": "failed", "overmind.error.type": "*errors.errorString",
				"overmind.error.message": "empty order id", "inputs": `{"orderID":""}`, "tool.name": "lookup_order",
				"code.namespace": "example.com/shop", "code.function.name": "LookupOrder",
			} {
				if s.Attrs[k] != v {
					t.Errorf("%s = %v, want %v", k, s.Attrs[k], v)
				}
			}
			if _, ok := s.Attrs["overmind.duration.seconds"].(float64); !ok {
				t.Errorf("overmind.duration.seconds = %#v", s.Attrs["overmind.duration.seconds"])
			}
			if s.StatusCode != tracepb.Status_STATUS_CODE_ERROR {
				t.Errorf("status %v", s.StatusCode)
			}
		}
	}
}

func TestOTLPTracesPathConfigurable(t *testing.T) {
	recv := otlptest.NewReceiver()
	defer recv.Close()
	t.Setenv("OVERMIND_API_KEY", "from-env")
	t.Setenv("OVERMIND_API_URL", recv.URL()+"/")
	initForTest(t, Config{TracesPath: "/ingest/otlp"})
	webSearch("x")
	shutdownForTest(t)
	reqs := recv.Requests()
	if len(reqs) == 0 || reqs[0].Path != "/ingest/otlp" || reqs[0].Header.Get("X-Api-Key") != "from-env" {
		t.Fatalf("requests %+v", reqs)
	}
}

func TestOTLPStandardEndpointWithoutKey(t *testing.T) {
	recv := otlptest.NewReceiver()
	defer recv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.URL()+"/collector")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%20t0k,X-Team=agents")
	logs := initForTest(t, Config{})
	if logs.String() != "" {
		t.Fatalf("unexpected stderr %q", logs.String())
	}
	webSearch("x")
	shutdownForTest(t)
	reqs := recv.Requests()
	if len(reqs) == 0 {
		t.Fatal("nothing received")
	}
	if reqs[0].Path != "/collector/v1/traces" || reqs[0].Header.Get("Authorization") != "Bearer t0k" || reqs[0].Header.Get("X-Team") != "agents" {
		t.Fatalf("request %+v", reqs[0])
	}
	if reqs[0].Header.Get("X-Api-Key") != "" {
		t.Fatal("X-Api-Key sent without a key")
	}
}

func TestOTLPTracesEndpointUsedAsIs(t *testing.T) {
	recv := otlptest.NewReceiver()
	defer recv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", recv.URL()+"/exact/path")
	initForTest(t, Config{})
	webSearch("x")
	shutdownForTest(t)
	if reqs := recv.Requests(); len(reqs) == 0 || reqs[0].Path != "/exact/path" {
		t.Fatalf("requests %+v", reqs)
	}
}

func TestOTLPKeyAndStandardEndpointBothReceive(t *testing.T) {
	overmindRecv, collector := otlptest.NewReceiver(), otlptest.NewReceiver()
	defer overmindRecv.Close()
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL())
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "X-Collector=1")
	initForTest(t, Config{APIKey: "secret-key", BaseURL: overmindRecv.URL()})
	handleRequest("x")
	shutdownForTest(t)
	if n, m := len(overmindRecv.Spans()), len(collector.Spans()); n != 3 || m != 3 {
		t.Fatalf("overmind received %d spans, collector %d; want 3 each", n, m)
	}
	for _, r := range collector.Requests() {
		if r.Header.Get("X-Api-Key") != "" {
			t.Fatal("the Overmind key was sent to the other collector")
		}
	}
	for _, r := range overmindRecv.Requests() {
		if r.Header.Get("X-Collector") != "" || r.Header.Get("X-Api-Key") != "secret-key" {
			t.Fatalf("Overmind request headers %v", r.Header)
		}
	}
}

func TestOTLPEveryEndedSpanDelivered(t *testing.T) {
	recv := otlptest.NewReceiver()
	defer recv.Close()
	initForTest(t, Config{APIKey: "k", BaseURL: recv.URL(), MaxExportBatchSize: 100})
	const n = 600
	for i := range n {
		webSearch(fmt.Sprint(i))
	}
	shutdownForTest(t)
	spans := recv.Spans()
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.SpanID] = true
	}
	if len(spans) != n || len(ids) != n {
		t.Fatalf("%d ended, %d received (%d distinct)", n, len(spans), len(ids))
	}
}

// blockingBackend accepts export requests and holds them until released,
// standing in for a backend that has stopped answering.
type blockingBackend struct {
	*httptest.Server
	arrived chan struct{}
	release chan struct{}
}

func newBlockingBackend() *blockingBackend {
	b := &blockingBackend{arrived: make(chan struct{}, 1000), release: make(chan struct{})}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		b.arrived <- struct{}{}
		select {
		case <-b.release:
		case <-r.Context().Done():
		}
	}))
	return b
}

func TestDeadBackendNeverBlocksCalls(t *testing.T) {
	backend := newBlockingBackend()
	defer backend.Close()
	logs := initForTest(t, Config{
		APIKey: "k", BaseURL: backend.URL,
		MaxExportBatchSize: 1, MaxQueueSize: 4, FlushInterval: time.Millisecond,
	})
	webSearch("first")
	<-backend.arrived // the exporter is now stuck in a request the backend holds

	const calls = 500
	for i := range calls {
		handleRequest(fmt.Sprint(i))
	}
	// Every call above returned while the backend still held the first
	// export: a blocked backend does not block instrumented code.
	select {
	case <-backend.release:
		t.Fatal("backend released early")
	default:
	}
	ended, exported, _ := sinkStats(t, sinkOvermind)
	if ended != 1+3*calls || exported != 0 {
		t.Fatalf("ended %d, exported %d", ended, exported)
	}
	close(backend.release)
	shutdownForTest(t)
	report := logs.String()
	if !strings.Contains(report, "overmind export to "+backend.URL+"/api/v1/traces:") || !strings.Contains(report, "dropped (export queue full") {
		t.Fatalf("drops not reported:\n%s", report)
	}
}

func TestFailedExportsCountedAndReportedOnce(t *testing.T) {
	recv := otlptest.NewReceiver()
	defer recv.Close()
	recv.SetStatus(http.StatusUnauthorized)
	logs := initForTest(t, Config{APIKey: "bad-key", BaseURL: recv.URL(), MaxExportBatchSize: 1, FlushInterval: time.Millisecond})
	for range 5 {
		webSearch("x")
	}
	err := ForceFlush(context.Background())
	if err == nil || !strings.Contains(err.Error(), "5 spans not delivered") || !strings.Contains(err.Error(), "401") {
		t.Fatalf("ForceFlush = %v, want the 5 refused spans reported", err)
	}
	if strings.Contains(err.Error(), "bad-key") {
		t.Fatal("the API key appears in ForceFlush's error")
	}
	if got := strings.Count(logs.String(), "failed:"); got != 1 {
		t.Fatalf("failure reported %d times:\n%s", got, logs.String())
	}
	if strings.Contains(logs.String(), "bad-key") {
		t.Fatal("the API key appears on stderr")
	}
	shutdownForTest(t)
	if !strings.Contains(logs.String(), "5 of 5 spans not delivered") || !strings.Contains(logs.String(), "5 rejected or unreachable") {
		t.Fatalf("report:\n%s", logs.String())
	}
}

// TestForceFlushReportsFailuresBeforeIt: exports that failed before
// ForceFlush was called (the batch processor sends on its own schedule)
// are in its error too, and each failure is reported by one ForceFlush.
func TestForceFlushReportsFailuresBeforeIt(t *testing.T) {
	recv := otlptest.NewReceiver()
	defer recv.Close()
	recv.SetStatus(http.StatusUnauthorized)
	initForTest(t, Config{APIKey: "bad-key", BaseURL: recv.URL(), MaxExportBatchSize: 1, FlushInterval: time.Millisecond})
	for range 3 {
		webSearch("x")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, _, failed := sinkStats(t, sinkOvermind); failed == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the exports never failed")
		}
		time.Sleep(time.Millisecond)
	}
	err := ForceFlush(context.Background())
	if err == nil || !strings.Contains(err.Error(), "3 spans not delivered") {
		t.Fatalf("ForceFlush = %v, want the 3 spans refused before it", err)
	}
	if err := ForceFlush(context.Background()); err != nil {
		t.Fatalf("second ForceFlush = %v, want nil: the failures were reported", err)
	}
	shutdownForTest(t)
}

func TestConsoleExporter(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = stdout }()
	t.Setenv("OTEL_TRACES_EXPORTER", "console")
	initForTest(t, Config{APIKey: "k"}) // otlp not selected: no Overmind export
	os.Stdout = stdout
	if st := active.Load(); len(st.sinks) != 1 || st.sinks[0].kind != sinkConsole {
		t.Fatalf("sinks %+v", st.sinks)
	}
	webSearch("printed")
	shutdownForTest(t)
	w.Close()
	out, _ := io.ReadAll(r)
	// One OTLP/JSON export request per line, as the Collector's file
	// exporter writes them.
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d lines on stdout, want 1:\n%s", len(lines), out)
	}
	var req collectorpb.ExportTraceServiceRequest
	if err := otlptest.UnmarshalJSON([]byte(lines[0]), &req); err != nil {
		t.Fatalf("stdout is not OTLP/JSON: %v\n%s", err, out)
	}
	if name := req.GetResourceSpans()[0].GetScopeSpans()[0].GetSpans()[0].GetName(); name != "web_search" {
		t.Fatalf("span %q on stdout:\n%s", name, out)
	}
}

func TestEndpointCredentialsNeverPrinted(t *testing.T) {
	recv := otlptest.NewReceiver()
	defer recv.Close()
	recv.SetStatus(http.StatusUnauthorized)
	host := strings.TrimPrefix(recv.URL(), "http://")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://alice:collector-pw@"+host+"/v1/traces?sig=query-secret&tenant=t1")
	logs := initForTest(t, Config{APIKey: "k", BaseURL: "http://bob:base-pw@" + host, MaxExportBatchSize: 1, FlushInterval: time.Millisecond})
	webSearch("x")
	flushErr := ForceFlush(context.Background())
	if flushErr == nil {
		t.Fatal("ForceFlush = nil, though both destinations refused the span")
	}
	shutdownForTest(t)
	out := logs.String() + "\n" + flushErr.Error()
	for _, secret := range []string{"collector-pw", "base-pw", "query-secret", "alice", "bob"} {
		if strings.Contains(out, secret) {
			t.Errorf("stderr shows %q:\n%s", secret, out)
		}
	}
	// The messages still say where the export went.
	for _, want := range []string{"overmind export to http://" + host + "/api/v1/traces", "otlp export to http://" + host + "/v1/traces"} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
	}
}

// The OTEL_EXPORTER_OTLP_* variables configure the user's collector; none
// of them may change how spans reach Overmind.
func TestOvermindExportIgnoresCollectorSettings(t *testing.T) {
	certFile, keyFile := otlptest.WriteSelfSignedCert(t)
	t.Setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", certFile)
	t.Setenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", certFile)
	t.Setenv("OTEL_EXPORTER_OTLP_CLIENT_KEY", keyFile)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
	t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "none")
	t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "50") // milliseconds
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-collector-token=for-the-collector")
	recv := otlptest.NewReceiver()
	defer recv.Close()
	recv.SetDelay(300 * time.Millisecond) // slower than the collector's timeout
	initForTest(t, Config{APIKey: "k", BaseURL: recv.URL()})
	webSearch("x")
	shutdownForTest(t)
	if spans := recv.Spans(); len(spans) != 1 {
		t.Fatalf("Overmind received %d spans, want 1", len(spans))
	}
	for _, r := range recv.Requests() {
		if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
			t.Errorf("Content-Type = %q, want protobuf", ct)
		}
		if ce := r.Header.Get("Content-Encoding"); ce != "gzip" {
			t.Errorf("Content-Encoding = %q, want gzip", ce)
		}
		if h := r.Header.Get("X-Collector-Token"); h != "" {
			t.Errorf("the collector's header was sent to Overmind: %q", h)
		}
	}
}

// A certificate the collector's TLS variables trust is not trusted for
// Overmind, which is verified against the system's roots.
func TestOvermindExportUsesSystemRoots(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	defer srv.Close()
	certFile := filepath.Join(t.TempDir(), "server.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", certFile)
	logs := initForTest(t, Config{APIKey: "k", BaseURL: srv.URL, MaxExportBatchSize: 1})
	webSearch("x")
	if err := ForceFlush(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("ForceFlush = %v, want the certificate problem reported", err)
	}
	if _, exported, failed := sinkStats(t, sinkOvermind); exported != 0 || failed != 1 {
		t.Fatalf("exported %d, failed %d: the collector's certificate was trusted for Overmind", exported, failed)
	}
	if !strings.Contains(logs.String(), "certificate") {
		t.Errorf("stderr does not name the certificate problem:\n%s", logs.String())
	}
	shutdownForTest(t)
}

// The collector's TLS, client certificate, JSON encoding, compression and
// headers all come from the standard variables.
func TestOTLPStandardTLSJSONGzip(t *testing.T) {
	recv := otlptest.NewReceiver()
	defer recv.Close()
	srv := httptest.NewUnstartedServer(recv.Server.Config.Handler)
	clientCert, clientKey := otlptest.WriteSelfSignedCert(t)
	clientPEM, err := os.ReadFile(clientCert)
	if err != nil {
		t.Fatal(err)
	}
	clientCAs := x509.NewCertPool()
	clientCAs.AppendCertsFromPEM(clientPEM)
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCAs}
	srv.StartTLS()
	defer srv.Close()
	serverCert := filepath.Join(t.TempDir(), "server.pem")
	if err := os.WriteFile(serverCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", srv.URL+"/v1/traces")
	t.Setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", serverCert)
	t.Setenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", clientCert)
	t.Setenv("OTEL_EXPORTER_OTLP_CLIENT_KEY", clientKey)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
	t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=t1")
	logs := initForTest(t, Config{})
	handleRequest("x")
	if err := ForceFlush(context.Background()); err != nil {
		t.Fatalf("ForceFlush: %v\n%s", err, logs.String())
	}
	shutdownForTest(t)
	if got := otlptest.Tree(recv.Spans()); got != "handle_request [entry_point]\n  research [workflow]\n    web_search [tool_call]\n" {
		t.Fatalf("tree:\n%s", got)
	}
	for _, r := range recv.Requests() {
		if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Content-Encoding") != "gzip" || r.Header.Get("X-Tenant") != "t1" {
			t.Errorf("headers %v", r.Header)
		}
		if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "overmind-go/") {
			t.Errorf("User-Agent %q", ua)
		}
	}
}

// OTEL_EXPORTER_OTLP_TIMEOUT bounds each export to the collector.
func TestOTLPStandardTimeout(t *testing.T) {
	backend := newBlockingBackend()
	defer backend.Close()
	defer close(backend.release)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", backend.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "50")
	initForTest(t, Config{})
	webSearch("x")
	err := ForceFlush(context.Background())
	if err == nil || !strings.Contains(err.Error(), "export timeout (50ms) reached") {
		t.Fatalf("ForceFlush = %v, want the export timeout", err)
	}
}

// A partial success counts the rejected spans as not delivered and the
// others as delivered.
func TestOTLPPartialSuccessCounted(t *testing.T) {
	body, err := proto.Marshal(&collectorpb.ExportTraceServiceResponse{PartialSuccess: &collectorpb.ExportTracePartialSuccess{RejectedSpans: 1, ErrorMessage: "attribute too long"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(body)
	}))
	defer srv.Close()
	logs := initForTest(t, Config{APIKey: "k", BaseURL: srv.URL})
	handleRequest("x")
	err = ForceFlush(context.Background())
	if err == nil || !strings.Contains(err.Error(), "1 span not delivered") || !strings.Contains(err.Error(), "attribute too long") {
		t.Fatalf("ForceFlush = %v", err)
	}
	if ended, exported, failed := sinkStats(t, sinkOvermind); ended != 3 || exported != 2 || failed != 1 {
		t.Fatalf("ended %d, exported %d, failed %d", ended, exported, failed)
	}
	shutdownForTest(t)
	if !strings.Contains(logs.String(), "1 of 3 spans not delivered") {
		t.Errorf("report:\n%s", logs.String())
	}
}

// Problems with the standard variables are warnings: the program runs,
// and what can be used is.
func TestOTLPStandardBadVariablesWarn(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318")
	logs := initForTest(t, Config{})
	if !strings.Contains(logs.String(), "OTEL_EXPORTER_OTLP_ENDPOINT is not an http or https URL: spans are not sent there") {
		t.Fatalf("stderr:\n%s", logs.String())
	}
}

// TestOTLPLoopbackURLWithoutKey: OVERMIND_API_URL naming this machine, as
// a local `overmind serve` does, receives spans without an API key, and
// no X-Api-Key header is sent; a remote URL without a key receives none.
func TestOTLPLoopbackURLWithoutKey(t *testing.T) {
	recv := otlptest.NewReceiver()
	defer recv.Close()
	t.Setenv("OVERMIND_API_URL", recv.URL())
	initForTest(t, Config{})
	webSearch("x")
	shutdownForTest(t)
	reqs := recv.Requests()
	if len(reqs) == 0 {
		t.Fatal("nothing received")
	}
	if reqs[0].Path != "/api/v1/traces" || reqs[0].Header.Get("X-Api-Key") != "" {
		t.Fatalf("request %+v", reqs[0])
	}

	for _, c := range []struct {
		url  string
		want bool
	}{
		{"http://127.0.0.1:4318", true},
		{"http://localhost:4318", true},
		{"http://[::1]:4318", true},
		{"https://api.example.com", false},
		{"http://10.0.0.7:4318", false},
	} {
		p := planExport(settings{baseURL: c.url, tracesPath: defaultTracesPath})
		if got := len(p.sinks) == 1 && p.sinks[0].kind == sinkOvermind; got != c.want {
			t.Errorf("%s without a key: exported = %v, want %v (plan %+v)", c.url, got, c.want, p)
		}
	}
}
