package overmind

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// upload is shaped like the code the overmind command generates for
//
//	//overmind:entry_point upload
//	func upload(w http.ResponseWriter, r *http.Request)
//
// It parses a multipart upload, with files bigger than its memory limit
// so that net/http writes them to temporary files, and counts them in a
// nested call given r.Context().
func upload(w http.ResponseWriter, r *http.Request) {
	r, om := EnterRequest(r, SpanTypeEntryPoint, "upload", "example.com/shop.upload", nil)
	if om != nil {
		defer om.Leave(nil, nil)
	}
	if err := r.ParseMultipartForm(512); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprint(w, countFiles(r.Context(), r.MultipartForm))
}

func countFiles(ctx context.Context, form *multipart.Form) (n int) {
	ctx, om := EnterContext(ctx, SpanTypeTool, "count_files", "example.com/shop.countFiles", nil)
	if om != nil {
		defer om.Leave(nil, func(out *Values) { out.Add("", n) })
	}
	_ = ctx
	for _, files := range form.File {
		n += len(files)
	}
	return n
}

// watched runs next while a goroutine of its own reads the request, as
// logging or metrics middleware does.
func watched(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		done := make(chan string)
		go func() { done <- r.Method + " " + r.URL.Path + " " + r.Header.Get("Content-Type") + " " + r.RemoteAddr }()
		next(w, r)
		<-done
	}
}

func multipartBody(t *testing.T, files int) (*bytes.Buffer, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for i := range files {
		fw, err := mw.CreateFormFile("file", fmt.Sprintf("f%d.txt", i))
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(bytes.Repeat([]byte("x"), 4<<10))
	}
	mw.Close()
	return &body, mw.FormDataContentType()
}

// An instrumented handler that parses multipart uploads, served by a real
// http.Server over HTTP/1.1, HTTP/2 without TLS (h2c) and HTTP/2 over
// TLS, leaves no temporary file behind: net/http removes the files of the
// request it handed to the handler, which is the one the handler parsed.
// Run with -race, it also checks that neither the server's goroutines nor
// middleware reading the request race with the runtime.
func TestUploadsLeaveNoTemporaryFiles(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	rec := recordForTest(t, Config{})

	servers := []struct {
		name    string
		uploads int
		start   func(*httptest.Server) *http.Client
	}{
		{"HTTP/1.1", 20, func(ts *httptest.Server) *http.Client { ts.Start(); return ts.Client() }},
		{"h2c", 5, func(ts *httptest.Server) *http.Client {
			ts.Config.Protocols = new(http.Protocols)
			ts.Config.Protocols.SetUnencryptedHTTP2(true)
			ts.Start()
			client := &http.Client{Transport: &http.Transport{Protocols: new(http.Protocols)}}
			client.Transport.(*http.Transport).Protocols.SetUnencryptedHTTP2(true)
			return client
		}},
		{"HTTP/2 over TLS", 5, func(ts *httptest.Server) *http.Client {
			ts.EnableHTTP2 = true
			ts.StartTLS()
			return ts.Client()
		}},
	}
	total := 0
	for _, srv := range servers {
		ts := httptest.NewUnstartedServer(watched(upload))
		ts.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes cut by Close
		client := srv.start(ts)
		var wg sync.WaitGroup
		for range srv.uploads {
			wg.Go(func() {
				body, contentType := multipartBody(t, 2)
				resp, err := client.Post(ts.URL+"/upload", contentType, body)
				if err != nil {
					t.Errorf("%s: %v", srv.name, err)
					return
				}
				defer resp.Body.Close()
				got, _ := io.ReadAll(resp.Body)
				wantMajor := 2
				if srv.name == "HTTP/1.1" {
					wantMajor = 1
				}
				if resp.StatusCode != http.StatusOK || string(got) != "2" || resp.ProtoMajor != wantMajor {
					t.Errorf("%s: %s %d %q", srv.name, resp.Proto, resp.StatusCode, got)
				}
			})
		}
		wg.Wait()
		ts.Close() // waits for the handlers, and net/http's clean-up after them
		client.CloseIdleConnections()
		total += srv.uploads
	}

	left, err := filepath.Glob(filepath.Join(tmp, "multipart-*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("%d multipart files left in TMPDIR, want none: %v", len(left), left[:min(len(left), 3)])
	}
	spans := endedByNameCount(t, rec.Ended(), map[string]int{"upload": total, "count_files": total})
	parents := map[[8]byte]bool{}
	for _, s := range spans["upload"] {
		parents[s.SpanContext().SpanID()] = true
	}
	for _, s := range spans["count_files"] {
		if !parents[s.Parent().SpanID()] {
			t.Error("count_files does not nest under its upload span")
		}
	}
}

// fetch is an instrumented function that sends a client request it is
// given; the response body is read after it returns, while net/http's
// transport goroutines may still use the request.
func fetch(client *http.Client, req *http.Request) (resp *http.Response, err error) {
	req, om := EnterRequest(req, SpanTypeTool, "fetch", "example.com/shop.fetch", nil)
	if om != nil {
		defer om.Leave(&err, nil)
	}
	return client.Do(req)
}

func TestClientRequestNoRace(t *testing.T) {
	rec := recordForTest(t, Config{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, strings.Repeat("y", 64<<10))
	}))
	defer ts.Close()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			req, err := http.NewRequest("POST", ts.URL, strings.NewReader(strings.Repeat("z", 32<<10)))
			if err != nil {
				t.Error(err)
				return
			}
			ctx := req.Context()
			resp, err := fetch(ts.Client(), req)
			if err != nil {
				t.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if n != 64<<10 || req.Context() != ctx {
				t.Errorf("read %d bytes; context given back: %v", n, req.Context() == ctx)
			}
		})
	}
	wg.Wait()
	if n := len(rec.Ended()); n != 8 {
		t.Errorf("%d spans, want 8", n)
	}
}
