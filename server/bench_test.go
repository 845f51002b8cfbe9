package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/overmind-core/overmind-go/server/internal/otlpin"
)

// benchBatch is an export request of n spans as the runtime sends them:
// traces of 8 spans (an entry point, tools, an LLM call) with inputs and
// outputs, under one resource. seq makes its trace and span IDs unique.
func benchBatch(seq uint64, n int) []byte {
	str := func(k, v string) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
	}
	now := uint64(time.Now().UnixNano())
	spans := make([]*tracepb.Span, n)
	for i := range spans {
		tid := make([]byte, 16)
		binary.BigEndian.PutUint64(tid, seq)
		binary.BigEndian.PutUint64(tid[8:], uint64(i/8)+1)
		sid := binary.BigEndian.AppendUint64(nil, uint64(i%8)+1)
		typ := "tool_call"
		switch i % 8 {
		case 0:
			typ = "entry_point"
		case 7:
			typ = "llm_call"
		}
		s := &tracepb.Span{TraceId: tid, SpanId: sid, Name: "lookup_order", Kind: tracepb.Span_SPAN_KIND_INTERNAL,
			StartTimeUnixNano: now + uint64(i%8)*1000, EndTimeUnixNano: now + uint64(i%8)*1000 + 800,
			Attributes: []*commonpb.KeyValue{str("overmind.span.type", typ), str("overmind.status", "success"),
				str("code.function.name", "LookupOrder"), str("code.namespace", "example.com/shop/agent"),
				str("inputs", `{"id":"A-1001","customer":{"id":"user-123","tier":"gold"}}`),
				str("outputs", `{"id":"A-1001","status":"shipped","eta":"Thursday","items":[{"sku":"X-1","qty":2}]}`),
				{Key: "overmind.duration.seconds", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 0.0008}}}}}
		if i%8 != 0 {
			s.ParentSpanId = binary.BigEndian.AppendUint64(nil, 1)
		}
		spans[i] = s
	}
	td := &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", "shop"), str("service.version", "1.4.2"),
			str("deployment.environment", "production"), str("overmind.sdk.name", "overmind-go"), str("telemetry.sdk.language", "go")}},
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "github.com/overmind-core/overmind-go/runtime"}, Spans: spans}},
	}}}
	b, err := proto.Marshal(td)
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkIngest posts protobuf batches of 512 spans to the handler:
// "store" decodes and commits them to a database file, "decode" decodes
// and drops the same batches (what the store costs is the difference).
func BenchmarkIngest(b *testing.B) {
	const spans = 512
	for _, mode := range []string{"decode", "store"} {
		b.Run(mode, func(b *testing.B) {
			s, err := New(Config{DB: filepath.Join(b.TempDir(), "traces.db")})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			bodies := make([][]byte, b.N)
			for i := range bodies {
				bodies[i] = benchBatch(uint64(i)+1, spans)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if mode == "decode" {
					if _, err := otlpin.Decode(bytes.NewReader(bodies[i]), "", otlpin.Protobuf, DefaultMaxBodyBytes); err != nil {
						b.Fatal(err)
					}
					continue
				}
				req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/v1/traces", bytes.NewReader(bodies[i]))
				req.Header.Set("Content-Type", "application/x-protobuf")
				w := httptest.NewRecorder()
				s.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
			b.ReportMetric(float64(b.N*spans)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}

// BenchmarkGetTrace answers GET /api/traces/{id}/ for traces of 10, 1,000
// and 10,000 spans, from a database file.
func BenchmarkGetTrace(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			s, err := New(Config{DB: filepath.Join(b.TempDir(), "traces.db")})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			// One trace of n spans: a root and n-1 children, in batches.
			tid := bytes.Repeat([]byte{0xab}, 16)
			for start := 0; start < n; start += 512 {
				td := &tracepb.TracesData{}
				proto.Unmarshal(benchBatch(1, min(512, n-start)), td)
				for i, sp := range td.ResourceSpans[0].ScopeSpans[0].Spans {
					sp.TraceId = tid
					sp.SpanId = binary.BigEndian.AppendUint64(nil, uint64(start+i)+1)
					if start+i > 0 {
						sp.ParentSpanId = binary.BigEndian.AppendUint64(nil, 1)
					} else {
						sp.ParentSpanId = nil
					}
				}
				if _, err := s.store.Ingest(context.Background(), td, time.Now().UnixNano()); err != nil {
					b.Fatal(err)
				}
			}
			path := fmt.Sprintf("/api/traces/%x/", tid)
			b.ResetTimer()
			var size int
			for i := 0; i < b.N; i++ {
				w := httptest.NewRecorder()
				s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://127.0.0.1"+path, nil))
				if w.Code != 200 {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
				size = w.Body.Len()
			}
			b.ReportMetric(float64(size), "resp-bytes")
		})
	}
}

// BenchmarkServeMemory measures a real `overmind serve` process: its
// resident memory idle and after 1,000,000 stored spans (set
// OVERMIND_BENCH_SPANS for another count), and the database's bytes per
// span. Run it alone, once: go test -run '^$' -bench ServeMemory -benchtime 1x ./server
func BenchmarkServeMemory(b *testing.B) {
	total := 1_000_000
	if v := os.Getenv("OVERMIND_BENCH_SPANS"); v != "" {
		total, _ = strconv.Atoi(v)
	}
	db := filepath.Join(b.TempDir(), "traces.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgs+"="+strings.Join([]string{"-addr", "127.0.0.1:0", "-db", db, "-max-db-size", "0"}, "\t"))
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	m := startURL.FindStringSubmatch(line)
	if m == nil {
		b.Fatalf("start line %q", line)
	}
	time.Sleep(time.Second) // settle before reading idle memory
	idle := rssBytes(b, cmd.Process.Pid)
	for i := 0; i < b.N; i++ {
		for sent := 0; sent < total; sent += 512 {
			res, err := http.Post(m[1]+"/v1/traces", "application/x-protobuf", bytes.NewReader(benchBatch(uint64(i*total+sent)+1, 512)))
			if err != nil || res.StatusCode != 200 {
				b.Fatalf("export: %v %v", res, err)
			}
			res.Body.Close()
		}
	}
	loaded := rssBytes(b, cmd.Process.Pid)
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	info, err := os.Stat(db)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(idle)/(1<<20), "MiB-rss-idle")
	b.ReportMetric(float64(loaded)/(1<<20), "MiB-rss-loaded")
	b.ReportMetric(float64(info.Size())/float64(b.N*total), "db-bytes/span")
}

// rssBytes reads a process's resident set size from /proc.
func rssBytes(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
