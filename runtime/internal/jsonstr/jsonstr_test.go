package jsonstr

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// valid is s with each byte of an invalid UTF-8 sequence replaced by
// U+FFFD, which is what a JSON string written by Append decodes to.
func valid(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r)
		i += size
	}
	return b.String()
}

func check(t *testing.T, s string) {
	t.Helper()
	for _, escapeHTML := range []bool{false, true} {
		out := Append([]byte("x"), s, escapeHTML)
		if out[0] != 'x' {
			t.Fatalf("Append overwrote the buffer's start: %q", out)
		}
		out = out[1:]
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("Append(%q, %v) = %s: not JSON: %v", s, escapeHTML, out, err)
		}
		if want := valid(s); got != want {
			t.Fatalf("Append(%q, %v) decodes to %q, want %q", s, escapeHTML, got, want)
		}
		if strings.ContainsAny(string(out), "\u2028\u2029") {
			t.Fatalf("Append(%q) = %s: a JavaScript line terminator left raw", s, out)
		}
		if escapeHTML && strings.ContainsAny(string(out), "<>&") {
			t.Fatalf("Append(%q, true) = %s: HTML left raw", s, out)
		}
	}
}

func TestAppend(t *testing.T) {
	for _, s := range []string{
		"", "plain", `"quoted" \ back`, "line\nfeed\r\ttab\x00\x1f\x7f",
		"<script>&</script>", "ünïcödé 日本 🎉", "bad \xff\xfe utf8 \xe2\x82", "js \u2028 \u2029 end",
	} {
		check(t, s)
	}
	if got := string(Append(nil, "<a>&\u2028", false)); got != `"<a>&\u2028"` {
		t.Errorf("plain: %s", got)
	}
	if got := string(Append(nil, "<a>&", true)); got != `"\u003ca\u003e\u0026"` {
		t.Errorf("html: %s", got)
	}
}

func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff", "\u2029<", "\x00\x1f"} {
		f.Add(s)
	}
	f.Fuzz(check)
}
