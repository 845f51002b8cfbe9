package jsonvalue

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// leakySecret is the credential that error texts below carry: wherever an
// error sits in a value, its text must come out scrubbed of it.
const leakySecret = "sk-proj-ABCDEFGHIJKLMNOPQRSTUV"

var leakyErr = errors.New("request failed: Authorization: Bearer " + leakySecret)

// jsonErr is an error that encodes itself as JSON, with the error text in
// a field whose name is not secret.
type jsonErr struct{}

func (jsonErr) Error() string { return leakyErr.Error() }
func (jsonErr) MarshalJSON() ([]byte, error) {
	return []byte(`{"detail":"request failed: token=` + leakySecret + `"}`), nil
}

// fieldsErr is an error, through its pointer, whose fields hold the text:
// reached through an interface it is encoded by its Error method.
type fieldsErr struct{ Detail string }

func (e *fieldsErr) Error() string { return e.Detail }

type failure struct {
	Err  error
	Code int
}

func TestErrorTextsScrubbedWherever(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  string
	}{
		{"error result before others", Array([]any{leakyErr, 1}, Options{})},
		{"error as the only value", Marshal(leakyErr, Options{})},
		{"wrapped error", Marshal(fmt.Errorf("call: %w", leakyErr), Options{})},
		{"struct field of type error", Marshal(failure{Err: leakyErr, Code: 502}, Options{})},
		{"pointer to struct with error field", Marshal(&failure{Err: leakyErr}, Options{})},
		{"slice of errors", Marshal([]error{nil, leakyErr}, Options{})},
		{"map of errors", Marshal(map[string]error{"first": leakyErr}, Options{})},
		{"error in map[string]any", Marshal(map[string]any{"e": leakyErr}, Options{})},
		{"error in []any", Marshal([]any{"ok", leakyErr}, Options{})},
		{"error parameter", Object([]string{"cause"}, []any{leakyErr}, Options{})},
		{"error with MarshalJSON", Marshal(jsonErr{}, Options{})},
		{"error with MarshalJSON in a field", Marshal(failure{Err: jsonErr{}}, Options{})},
		{"pointer error through interface", Marshal(failure{Err: &fieldsErr{Detail: leakyErr.Error()}}, Options{})},
		{"errors.Join", Marshal(errors.Join(errors.New("first"), leakyErr), Options{})},
	}
	for _, tt := range tests {
		if strings.Contains(tt.got, leakySecret) || strings.Contains(tt.got, "ABCDEFGHIJ") {
			t.Errorf("%s: secret survived: %s", tt.name, tt.got)
		}
		if !strings.Contains(tt.got, "<redacted>") {
			t.Errorf("%s: no <redacted> mark: %s", tt.name, tt.got)
		}
	}
}

// An error's text in a value is recorded as the error attribute records
// it: scrubbed and cut to the same length.
func TestErrorTextCutAsErrorMessage(t *testing.T) {
	t.Parallel()
	long := errors.New(strings.Repeat("x ", 2500))
	got := Marshal(long, Options{})
	if n := len([]rune(got)); n != 1024+2 { // the message and its quotes
		t.Fatalf("error text is %d characters, want 1024 and quotes", n-2)
	}
}

// Strings that are data, not error texts, are recorded as given: the
// scrubber is for error messages, which mix program state into prose.
func TestDataStringsNotScrubbed(t *testing.T) {
	t.Parallel()
	s := "Authorization: Bearer " + leakySecret
	if got, want := Marshal(s, Options{}), `"`+s+`"`; got != want {
		t.Fatalf("Marshal(%q) = %s, want %s", s, got, want)
	}
	type note struct{ Text string }
	if got := Marshal(note{Text: s}, Options{}); !strings.Contains(got, leakySecret) {
		t.Fatalf("a data field was scrubbed: %s", got)
	}
}

// HTTP headers, URLs and URL strings are recorded with their credentials
// replaced: the Cookie, Set-Cookie and Authorization headers, a URL's
// password and its secret query parameters.
func TestHeadersAndURLsRedacted(t *testing.T) {
	t.Parallel()
	const raw = "https://bob:hunter2@api.example.com/v1/items?page=2&api_key=K1&token=T1&access_token=A1&sig=S1#top"
	const want = `"https://bob:<redacted>@api.example.com/v1/items?page=2&api_key=<redacted>&token=<redacted>&access_token=<redacted>&sig=<redacted>#top"`
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	header := http.Header{
		"Cookie":        {"session=C1"},
		"Set-Cookie":    {"id=C2; HttpOnly"},
		"Authorization": {"Bearer B1"},
		"Accept":        {"application/json"},
	}
	type endpoint struct {
		URL     *url.URL
		Base    url.URL
		Raw     string
		Headers http.Header
	}
	tests := []struct {
		name, got, want string
	}{
		{"url.URL", Marshal(*u, Options{}), want},
		{"*url.URL", Marshal(u, Options{}), want},
		{"URL string", Marshal(raw, Options{}), want},
		{"http.Header", Marshal(header, Options{}),
			`{"Accept":["application/json"],"Authorization":"<redacted>","Cookie":"<redacted>","Set-Cookie":"<redacted>"}`},
		{"url.Values", Marshal(url.Values{"sig": {"S1"}, "q": {"go"}}, Options{}), `{"q":["go"],"sig":"<redacted>"}`},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, tt.got, tt.want)
		}
	}
	got := Marshal(endpoint{URL: u, Base: *u, Raw: raw, Headers: header}, Options{})
	for _, secret := range []string{"hunter2", "K1", "T1", "A1", "S1", "C1", "C2", "B1"} {
		if strings.Contains(got, secret) {
			t.Errorf("struct of URLs and headers leaks %s: %s", secret, got)
		}
	}
}

// A long string that starts like a URL is scrubbed only as far as the cap
// keeps it.
func TestLongURLStringScrubbedWithinCap(t *testing.T) {
	t.Parallel()
	s := "https://example.com/?token=T0PSECRET " + strings.Repeat("page text ", 1<<14)
	got := Marshal(s, Options{MaxBytes: 1024})
	if strings.Contains(got, "T0PSECRET") || !strings.HasSuffix(got, TruncationMark) || len(got) > 1100 {
		t.Errorf("got %d bytes: %.80s", len(got), got)
	}
}
