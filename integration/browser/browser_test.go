// Package browser tests the page of `overmind serve` in a real headless
// Chromium: an instrumented program sends its spans to the server, and the
// page must show its trace, its span tree and its LLM call's messages.
package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/overmind-core/overmind-go/client"
	_ "github.com/overmind-core/overmind-go/runtime" // testdata/chatapp's, so go.mod and go.sum carry its dependencies
	"github.com/overmind-core/overmind-go/server"
)

const apiKey = "browser-test-key"

// chromium finds Debian's chromium. Outside CI a missing browser skips the
// test; in CI (CI set) it fails it, since .ci/run installs it.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed, and CI is set: .ci/run installs it (apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium); skipping the browser test")
	return ""
}

// startServer runs overmind serve's handler on a loopback port, with an API
// key, until the test ends.
func startServer(t *testing.T) string {
	t.Helper()
	s, err := server.New(server.Config{DB: filepath.Join(t.TempDir(), "traces.db"), APIKey: apiKey})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: s}
	hs.RegisterOnShutdown(s.CloseFeeds)
	go hs.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
		s.Close()
	})
	return "http://" + ln.Addr().String()
}

// fakeOpenAI answers chat completions: first a call to get_weather, then,
// once the conversation has the tool's result, an answer.
func fakeOpenAI(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		message := `{"role":"assistant","content":null,"tool_calls":[{"id":"call_w1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}`
		finish := "tool_calls"
		if strings.Contains(string(body), `"role":"tool"`) {
			message = `{"role":"assistant","content":"Yes: rain is forecast in Paris, with a high of 14°C. Pack an umbrella."}`
			finish = "stop"
		}
		io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",
			"choices":[{"index":0,"message":`+message+`,"finish_reason":"`+finish+`"}],
			"usage":{"prompt_tokens":52,"completion_tokens":17,"total_tokens":69}}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// buildChatapp checks that testdata/chatapp's generated code is what
// `overmind instrument` makes today, then builds it with go build.
func buildChatapp(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	overmindBin := filepath.Join(dir, "overmind")
	run(t, "../..", goTool, "build", "-o", overmindBin, "./cmd/overmind") // in the main module, with its go.sum
	// instrument -l lists the files it would change, and exits 1 if any.
	if out, err := exec.Command(overmindBin, "instrument", "-l", "./testdata/chatapp").CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("testdata/chatapp's instrumentation is not what overmind makes today (%v: %s); regenerate it: "+
			"go build -o /tmp/overmind ./cmd/overmind && cd integration/browser && /tmp/overmind instrument ./testdata/chatapp", err, out)
	}
	app := filepath.Join(dir, "chatapp")
	run(t, "", goTool, "build", "-o", app, "./testdata/chatapp")
	return app
}

// run runs a command in dir and returns its output.
func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestPageShowsTraceTreeAndChat(t *testing.T) {
	browser := chromium(t)
	base := startServer(t)
	start := time.Now()
	app := buildChatapp(t)
	t.Logf("built chatapp in %v", time.Since(start).Round(time.Millisecond))

	cmd := exec.Command(app)
	cmd.Env = append(os.Environ(), "OVERMIND_API_URL="+base, "OVERMIND_API_KEY="+apiKey,
		"CHATAPP_OPENAI_URL="+fakeOpenAI(t), "OTEL_EXPORTER_OTLP_ENDPOINT=", "OVERMIND_DEBUG=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Pack an umbrella") {
		t.Fatalf("chatapp: %v\n%s", err, out)
	}

	// The spans are in: Shutdown flushed them before the program exited.
	c := client.New(base, apiKey)
	list, err := c.ListTraces(context.Background(), client.ListParams{})
	if err != nil || len(list.Traces) != 1 {
		t.Fatalf("list: %+v, %v", list, err)
	}
	tr := list.Traces[0]
	if tr.RootName != "plan_trip" || tr.SpanCount != 5 || tr.LLMCalls != 2 || tr.InputTokens != 104 || tr.ErrorCount != 1 {
		t.Fatalf("trace summary: %+v", tr)
	}

	ctx := browserContext(t, browser)
	start = time.Now()
	// The key in the query string becomes a cookie, so the page and its
	// live feed work without headers.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/?api_key="+apiKey)); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	waitFor(t, ctx, `document.querySelectorAll('#wf-inner .row').length === 5`)
	t.Logf("page up in %v", time.Since(start).Round(time.Millisecond))
	if title := eval[string](t, ctx, `document.getElementById('t-name').textContent`); title != "plan_trip" {
		t.Errorf("trace title %q", title)
	}
	tree := eval[string](t, ctx, `document.getElementById('wf-inner').innerText`)
	for _, want := range []string{"plan_trip", "get_weather", "book_hotel", "chat gpt-4o-mini", "entry_point", "tool_call", "llm_call"} {
		if !strings.Contains(tree, want) {
			t.Errorf("span tree lacks %q:\n%s", want, tree)
		}
	}

	// The second model call's chat has every kind of message.
	clickRow(t, ctx, "chat gpt-4o-mini", 1)
	waitFor(t, ctx, `document.querySelector('.chat .msg.assistant') !== null`)
	chat := eval[string](t, ctx, `document.querySelector('.chat').innerText`)
	for _, want := range []string{"You are a travel assistant", "Should I pack an umbrella for Paris?", "get_weather", `"forecast": "rain"`, "Pack an umbrella."} {
		if !strings.Contains(chat, want) {
			t.Errorf("chat lacks %q:\n%s", want, chat)
		}
	}
	if stats := eval[string](t, ctx, `document.querySelector('.stats').innerText`); !strings.Contains(stats, "52") || !strings.Contains(stats, "17") {
		t.Errorf("token counts not shown: %q", stats)
	}

	// The failed tool's error is on its panel.
	clickRow(t, ctx, "book_hotel", 0)
	waitFor(t, ctx, `document.querySelector('.error-box') !== null`)
	if box := eval[string](t, ctx, `document.querySelector('.error-box').innerText`); !strings.Contains(box, "no rooms left in Paris") {
		t.Errorf("error panel: %q", box)
	}

	// Back on the model call for the picture.
	clickRow(t, ctx, "chat gpt-4o-mini", 1)
	waitFor(t, ctx, `document.querySelector('.chat .msg.assistant') !== null`)
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	saveScreenshot(t, png)

	// A new trace appears in the list without a reload (the live feed).
	postTrace(t, base)
	waitFor(t, ctx, `document.querySelectorAll('.trace-item').length === 2`)
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitFor waits until a JavaScript expression is true in the page.
func waitFor(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("waiting for %s: %v\npage:\n%s", js, err, page)
	}
}

// clickRow clicks the waterfall row of the nth span (from 0) whose name
// starts with name.
func clickRow(t *testing.T, ctx context.Context, name string, nth int) {
	t.Helper()
	js := fmt.Sprintf(`(() => {
		const rows = [...document.querySelectorAll('#wf-inner .row')].filter((r) => r.querySelector('.label').textContent.startsWith(%q));
		if (rows.length <= %d) return false;
		rows[%d].click();
		return true;
	})()`, name, nth, nth)
	if !eval[bool](t, ctx, js) {
		t.Fatalf("no row %d named %s", nth, name)
	}
}

// browserContext starts headless Chromium with a fresh profile.
func browserContext(t *testing.T, path string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1600, 900),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	return browserCtx
}

// saveScreenshot writes the page's picture to the test's temporary
// directory, or to $OVERMIND_SCREENSHOT when set (to keep it).
func saveScreenshot(t *testing.T, png []byte) {
	path := os.Getenv("OVERMIND_SCREENSHOT")
	if path == "" {
		path = filepath.Join(t.TempDir(), "page.png")
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// postTrace sends one span over OTLP/JSON, as non-Go SDKs do.
func postTrace(t *testing.T, base string) {
	t.Helper()
	now := time.Now().UnixNano()
	span := map[string]any{
		"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b173", "name": "late_arrival",
		"startTimeUnixNano": now, "endTimeUnixNano": now + 1e6,
	}
	body, _ := json.Marshal(map[string]any{"resourceSpans": []any{map[string]any{
		"scopeSpans": []any{map[string]any{"spans": []any{span}}},
	}}})
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/traces", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatal(errors.New(resp.Status))
	}
}
