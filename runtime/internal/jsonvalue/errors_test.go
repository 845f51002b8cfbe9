package jsonvalue

import (
	"errors"
	"fmt"
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
