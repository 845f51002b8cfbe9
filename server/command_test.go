package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/overmind-core/overmind-go/server/internal/store"
)

// childArgs, when set, makes the test binary run `overmind serve` with
// these arguments instead of the tests: the crash test kills it.
const childArgs = "OVERMIND_TEST_SERVE_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childArgs); args != "" {
		os.Exit(Command(context.Background(), strings.Split(args, "\t"), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

var startURL = regexp.MustCompile(`see them at (http://[^/ ]+)/`)

// TestKillDuringIngest kills `overmind serve` with SIGKILL while several
// exporters send to it: every batch it acknowledged must be in the
// database, which must open and pass SQLite's integrity check.
func TestKillDuringIngest(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "traces.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgs+"="+strings.Join([]string{"-addr", "127.0.0.1:0", "-db", db}, "\t"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	m := startURL.FindStringSubmatch(line)
	if err != nil || m == nil {
		t.Fatalf("start line %q: %v", line, err)
	}
	base := m[1]

	var mu sync.Mutex
	var acked []byte // trace ID bytes of acknowledged batches
	enough := make(chan struct{})
	var wg sync.WaitGroup
	for e := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; ; b++ {
				trace := byte(1 + e*80 + b%80)
				if b >= 80 {
					return
				}
				body, _ := proto.Marshal(batch(trace, 100))
				res, err := http.Post(base+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
				if err != nil {
					return // the server is gone
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					t.Errorf("export: %s", res.Status)
					return
				}
				mu.Lock()
				acked = append(acked, trace)
				if len(acked) == 30 {
					close(enough)
				}
				mu.Unlock()
			}
		}()
	}
	<-enough
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the server was not killed: %v", err)
	}
	wg.Wait()

	st, err := store.Open(db)
	if err != nil {
		t.Fatalf("the database does not open after the crash: %v", err)
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.Check(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, trace := range acked {
		var b bytes.Buffer
		found, err := st.TraceJSON(ctx, bytes.Repeat([]byte{trace}, 16), &b)
		if err != nil || !found || !bytes.Contains(b.Bytes(), []byte(`"span_count":100,`)) {
			t.Fatalf("acknowledged trace %d lost: found %v, %v", trace, found, err)
		}
	}
	traces, spans, _ := st.Counts(ctx)
	if spans != traces*100 {
		t.Fatalf("%d traces but %d spans: a batch was half stored", traces, spans)
	}
	t.Logf("%d batches acknowledged before the kill, %d stored", len(acked), traces)
}

func TestCommandFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-addr", ":4318"}, 2, "reachable from other machines: set -api-key"},
		{[]string{"-addr", "0.0.0.0:4318"}, 2, "set -api-key"},
		{[]string{"-retain", "forever"}, 2, "-retain: want a duration"},
		{[]string{"-max-db-size", "big"}, 2, "-max-db-size: want a size"},
		{[]string{"extra"}, 2, "unexpected arguments"},
		{[]string{"-nope"}, 2, "flag provided but not defined"},
		{[]string{"-h"}, 0, "usage: overmind serve"},
		{[]string{"-db", filepath.Join(t.TempDir(), "missing", "dir", "db"), "-addr", "127.0.0.1:0"}, 1, "overmind serve: open"},
	} {
		var stderr bytes.Buffer
		if code := Command(context.Background(), tc.args, io.Discard, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q: exit %d, %q; want %d with %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
}

// TestCommandServesAndStops runs the command in process: it prints its
// line, serves, and exits 0 when its context ends.
func TestCommandServesAndStops(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, w := io.Pipe()
	done := make(chan int)
	go func() {
		done <- Command(ctx, []string{"-addr", "127.0.0.1:0", "-db", ":memory:", "-api-key", "k"}, w, io.Discard)
	}()
	line, _ := bufio.NewReader(r).ReadString('\n')
	m := startURL.FindStringSubmatch(line)
	if m == nil || !strings.Contains(line, "OVERMIND_API_KEY=<the -api-key>") || !strings.Contains(line, "in memory only") {
		t.Fatalf("start line %q", line)
	}
	res, err := http.Get(m[1] + "/api/health")
	if err != nil || res.StatusCode != 401 {
		t.Fatalf("health without the key: %v %v", res, err)
	}
	res.Body.Close()
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the command did not stop")
	}
}

func TestParseRetainAndSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "0.5d": 12 * time.Hour, "30m": 30 * time.Minute, "0": 0} {
		if got, err := ParseRetain(in); err != nil || got != want {
			t.Errorf("ParseRetain(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"-1d", "7x", "d"} {
		if _, err := ParseRetain(bad); err == nil {
			t.Errorf("ParseRetain(%q) accepted", bad)
		}
	}
	for in, want := range map[string]int64{"1GB": 1e9, "500MB": 500e6, "2GiB": 2 << 30, "1024": 1024, "0": 0, "1.5 KB": 1500} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseSize("-1GB"); err == nil {
		t.Error("ParseSize accepted a negative size")
	}
}
