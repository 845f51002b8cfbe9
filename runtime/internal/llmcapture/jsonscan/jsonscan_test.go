package jsonscan

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// seeds are texts whose decoding must agree with encoding/json's.
var seeds = []string{
	`{"a":1,"b":[true,false,null],"c":{"d":"e"}}`,
	` [ 1 , -0 , 0.5 , -1.5e3 , 2E+2 , 3e-2 ] `,
	`"plain"`,
	`"esc\"aped\\ \/ \b\f\n\r\t"`,
	`"\u00e9\u4e2d\uD83D\uDE00"`,
	`"\uD83D"`, `"\uD83Dx"`, `"\uDE00\uD83D"`, `"\uD83D\u0041"`, `"\uD83D\uD83D\uDE00"`,
	"\"caf\xc3\xa9\"", "\"bad\xff\xfe utf8\"", "\"\xed\xa0\x80\"", "\"trunc\xe4\xb8\"",
	`{"k\u0065y":"v","key":"w"}`,
	"{\"\xff\":1}",
	`1e400`, `[1e400]`, `-`, `01`, `1.`, `.5`, `1e`, `+1`, `0x1`,
	`{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `{"a" 1}`, `{"a":1 "b":2}`, `[1 2]`, `{1:2}`,
	`"unterminated`, `"bad \x escape"`, `"\u12"`, `"\u12g4"`, "\"ctl\x01\"",
	`tru`, `nul`, `falsey`, `true false`, `{}`, `[]`, `[{}]`, `{"a":[]}`, ``, ` `,
	`{"a":{"b":{"c":[[],[{}],{"d":null}]}}}`,
}

// FuzzAgainstEncodingJSON checks that a Decoder accepts exactly the texts
// encoding/json accepts and decodes them to the same values.
func FuzzAgainstEncodingJSON(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var d Decoder
		d.Reset(s)
		d.Skip()
		if got, want := d.Finish() == nil, json.Valid([]byte(s)); got != want {
			t.Fatalf("%q: valid %v, encoding/json says %v (%v)", s, got, want, d.Finish())
		}

		d.Reset(s)
		v, err := d.Any()
		if err == nil {
			err = d.Finish()
		}
		var w any
		werr := json.Unmarshal([]byte(s), &w)
		if (err == nil) != (werr == nil) {
			t.Fatalf("%q: error %v, encoding/json's %v", s, err, werr)
		}
		if err == nil && !reflect.DeepEqual(v, w) {
			t.Fatalf("%q: decoded %#v, encoding/json %#v", s, v, w)
		}

		if str, ok := Unquote(s); ok {
			var want string
			if json.Unmarshal([]byte(s), &want) != nil {
				t.Fatalf("%q: Unquote accepts what encoding/json does not", s)
			}
			if str != want {
				t.Fatalf("%q: unquoted %q, encoding/json %q", s, str, want)
			}
			d.Reset(s)
			lit, ok := d.StrLiteral()
			if !ok || lit.Value() != want || lit.JSON != s {
				t.Fatalf("%q: StrLiteral gives %q (%q), %v; want %q", s, lit.Value(), lit.JSON, ok, want)
			}
			if lit.ValidUTF8() != utf8.ValidString(s) {
				t.Fatalf("%q: StrLiteral says valid UTF-8 %v", s, lit.ValidUTF8())
			}
			if lit.Plain() && s[1:len(s)-1] != want {
				t.Fatalf("%q: StrLiteral says plain", s)
			}
		}
	})
}

type message struct {
	Role    string
	Content string
	Tokens  int64
	Temp    float64
	HasTemp bool
	Stream  bool
	Raw     string
	Names   []string
}

// decodeMessage walks an object the way the provider parsers do.
func decodeMessage(s string) (message, error) {
	var d Decoder
	d.Reset(s)
	var m message
	if d.Object() {
		for d.NextKey() {
			switch d.Key() {
			case "role":
				m.Role = d.Str()
			case "content":
				m.Content = d.Str()
			case "tokens":
				m.Tokens, _ = d.Int()
			case "temperature":
				m.Temp, m.HasTemp = d.Float()
			case "stream":
				m.Stream = d.Bool()
			case "raw":
				m.Raw = d.Raw()
			case "names":
				if d.Array() {
					for d.NextElem() {
						m.Names = append(m.Names, d.Str())
					}
				}
			default:
				d.Skip()
			}
		}
	}
	return m, d.Finish()
}

func TestWalk(t *testing.T) {
	got, err := decodeMessage(`{
		"role": "user", "content": "a \"quoted\" word\n", "tokens": 12,
		"temperature": 0.5, "stream": true, "raw": {"x": [1, 2]} ,
		"names": ["a", "b"], "other": {"deep": [null, {"x": "y"}]}
	}`)
	if err != nil {
		t.Fatal(err)
	}
	want := message{Role: "user", Content: "a \"quoted\" word\n", Tokens: 12, Temp: 0.5, HasTemp: true,
		Stream: true, Raw: `{"x": [1, 2]}`, Names: []string{"a", "b"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

// TestMismatch: a value of another kind than the reader's is skipped and
// reads as absent, and the rest of the text is still read.
func TestMismatch(t *testing.T) {
	got, err := decodeMessage(`{"role": 7, "content": {"a": "b"}, "tokens": 1.5, "temperature": "hot",
		"stream": "yes", "names": {"a": 1}, "raw": null}`)
	if err != nil {
		t.Fatal(err)
	}
	if want := (message{Raw: "null"}); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got, err := decodeMessage(`null`); err != nil || !reflect.DeepEqual(got, message{}) {
		t.Errorf("null: got %+v, %v", got, err)
	}
}

func TestSyntaxErrors(t *testing.T) {
	for _, s := range []string{
		`{"role": "user",}`, `{"role": "user"} x`, `{"role" "user"}`, `{"names": ["a" "b"]}`,
		`{"content": "bad \q"}`, `{"other": [1, 2}`, `{"role": "user"`, `{"tokens": 01}`,
	} {
		if _, err := decodeMessage(s); err == nil {
			t.Errorf("%s: no error", s)
		} else if _, ok := err.(*SyntaxError); !ok {
			t.Errorf("%s: error %T %v, want a *SyntaxError", s, err, err)
		}
	}
}

func TestErrorsAreSticky(t *testing.T) {
	var d Decoder
	d.Reset(`{"a": tru, "b": "x"}`)
	if !d.Object() || !d.NextKey() {
		t.Fatal("object not opened")
	}
	d.Skip()
	if d.Err() == nil || d.NextKey() || d.Str() != "" || d.Kind() != Invalid {
		t.Errorf("decoder goes on after error %v", d.Err())
	}
}

func TestDepth(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	var d Decoder
	d.Reset(deep)
	d.Skip()
	if err := d.Finish(); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
	deeper := "[" + deep + "]"
	d.Reset(deeper)
	d.Skip()
	if d.Finish() == nil {
		t.Errorf("depth %d accepted", MaxDepth+1)
	}
	if json.Valid([]byte(deeper)) {
		t.Errorf("encoding/json accepts depth %d: the limits differ", MaxDepth+1)
	}
}

// TestPlainStringsAreNotCopied: a string without escapes is a substring of
// the input.
func TestPlainStringsAreNotCopied(t *testing.T) {
	testing.AllocsPerRun(1, func() {}) // warm up
	in := `{"role":"assistant","content":"Your order has shipped."}`
	allocs := testing.AllocsPerRun(100, func() {
		var d Decoder
		d.Reset(in)
		if d.Object() {
			for d.NextKey() {
				_ = d.Str()
			}
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per walk, want 0", allocs)
	}
}

func TestUnquote(t *testing.T) {
	for in, want := range map[string]string{
		`"a"`:            "a",
		`"\u00e9\n"`:     "é\n",
		`"\ud83d\ude00"`: "😀",
		`"\ud83d"`:       "\ufffd",
	} {
		if got, ok := Unquote(in); !ok || got != want {
			t.Errorf("Unquote(%s) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{``, `a`, `"a`, `"a" `, `"a"b`, `1`} {
		if _, ok := Unquote(in); ok {
			t.Errorf("Unquote(%q) accepted", in)
		}
	}
}

// BenchmarkSkip measures reading a chat completion of about 1 KB, as
// OpenAI writes it (indented), against encoding/json checking it.
func BenchmarkSkip(b *testing.B) {
	text := `{
  "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
  "object": "chat.completion",
  "created": 1741570283,
  "model": "gpt-5-mini-2025-08-07",
  "choices": [
    {
      "index": 0,
      "message": {
        "role": "assistant",
        "content": "` + strings.Repeat("Your order A-1001 shipped on Monday with UPS and is on its way. ", 8) + `\n\nTracking number: 1Z999AA10123456784.",
        "refusal": null,
        "annotations": []
      },
      "logprobs": null,
      "finish_reason": "stop"
    }
  ],
  "usage": {"prompt_tokens": 1117, "completion_tokens": 46, "total_tokens": 1163}
}`
	b.Run("jsonscan", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		var d Decoder
		for b.Loop() {
			d.Reset(text)
			d.Skip()
			if d.Finish() != nil {
				b.Fatal(d.Err())
			}
		}
	})
	b.Run("encoding-json-valid", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		data := []byte(text)
		for b.Loop() {
			if !json.Valid(data) {
				b.Fatal("invalid")
			}
		}
	})
}
