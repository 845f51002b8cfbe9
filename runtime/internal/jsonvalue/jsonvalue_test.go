package jsonvalue

import (
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"net"
	"strings"
	"testing"
	"time"
	"unsafe"
)

type Address struct {
	Street string `json:"street"`
	Zip    string `json:"zip,omitempty"`
}

// Creds renames its secret fields in JSON: the Go names still mark them.
type Creds struct {
	User     string `json:"user"`
	Password string `json:"pass"`
	APIKey   string `json:"key"`
	Hint     string `json:"hint"`
}

type Customer struct {
	Name     string            `json:"name"`
	Password string            `json:"password"`
	APIKey   string            // redacted by field name
	Tags     []string          `json:"tags"`
	Address  *Address          `json:"address,omitempty"`
	Meta     map[string]string `json:"meta,omitempty"`
	Skip     string            `json:"-"`
	private  string
	Count    int `json:",omitzero"`
}

type Base struct {
	ID   int
	Kind string `json:"kind"`
}

type Derived struct {
	Base
	Name string
	Kind string // hides Base.Kind? No: Base.Kind is tagged "kind", a different name.
}

type inner struct{ Visible int }

type WithUnexportedEmbed struct {
	inner
	Other int
}

type Conflict struct {
	A1
	A2
}

type A1 struct{ X int }
type A2 struct{ X int }

type Node struct {
	Name string
	Next *Node
}

type panicky struct{}

func (panicky) MarshalJSON() ([]byte, error) { panic("boom") }

type failing struct{}

func (failing) MarshalJSON() ([]byte, error) { return nil, errors.New("no") }

type invalid struct{}

func (invalid) MarshalJSON() ([]byte, error) { return []byte("{not json"), nil }

type leaky struct{}

func (leaky) MarshalJSON() ([]byte, error) {
	return []byte(`{"user": "bob", "session_token": "abc", "n": 1.50}`), nil
}

type spaced struct{}

func (spaced) MarshalJSON() ([]byte, error) { return []byte(`{ "a" : [1, 2 ,"x y"] }`), nil }

type panicErr struct{}

func (*panicErr) Error() string { panic("bad Error") }

type level struct{ Down *level }

func TestMarshal(t *testing.T) {
	ch := make(chan int)
	var nilMap map[string]int
	var nilPtr *Customer
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"nil", nil, `null`},
		{"string", "héllo \"q\"\n<tag>", `"héllo \"q\"\n<tag>"`},
		{"invalid utf8", "a\xffb", `"a\ufffdb"`},
		{"int", -42, `-42`},
		{"uint64", uint64(math.MaxUint64), `18446744073709551615`},
		{"float", 1.5, `1.5`},
		{"float small", 1e-9, `1e-9`},
		{"float big", 1e21, `1e+21`},
		{"NaN", math.NaN(), `"NaN"`},
		{"Inf", math.Inf(-1), `"-Inf"`},
		{"bool", true, `true`},
		{"complex", complex(1, 2), `"(1+2i)"`},
		{"small bytes", []byte("hi"), `"aGk="`},
		{"big bytes", make([]byte, 300), `"<bytes 300>"`},
		{"byte array", [3]byte{1, 2, 3}, `[1,2,3]`},
		{"nil map", nilMap, `null`},
		{"nil pointer", nilPtr, `null`},
		{"map sorted", map[string]int{"b": 2, "a": 1}, `{"a":1,"b":2}`},
		{"int keys", map[int]string{10: "x", 2: "y"}, `{"10":"x","2":"y"}`},
		{"redacted map key", map[string]any{"Authorization": "Bearer x", "ok": 1}, `{"Authorization":"<redacted>","ok":1}`},
		{"struct", Customer{Name: "Ann", Password: "pw", APIKey: "k", Tags: []string{"a"}, Skip: "s", private: "p"},
			`{"name":"Ann","password":"<redacted>","APIKey":"<redacted>","tags":["a"]}`},
		{"struct omitempty", Customer{Address: &Address{Street: "Main"}, Count: 3},
			`{"name":"","password":"<redacted>","APIKey":"<redacted>","tags":null,"address":{"street":"Main"},"Count":3}`},
		{"secret Go name, innocent JSON name", Creds{User: "ann", Password: "hunter2", APIKey: "sk-1", Hint: "pet"},
			`{"user":"ann","pass":"<redacted>","key":"<redacted>","hint":"pet"}`},
		{"embedded", Derived{Base: Base{ID: 1, Kind: "k"}, Name: "n", Kind: "K"}, `{"ID":1,"kind":"k","Name":"n","Kind":"K"}`},
		{"unexported embedded", WithUnexportedEmbed{inner: inner{Visible: 1}, Other: 2}, `{"Visible":1,"Other":2}`},
		{"ambiguous embedded dropped", Conflict{A1{1}, A2{2}}, `{}`},
		{"error", errors.New("it broke"), `"it broke"`},
		{"path error", &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}, `"open /x: file does not exist"`},
		{"error panics", &panicErr{}, `"<unserializable:*jsonvalue.panicErr>"`},
		{"time", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), `"2024-01-02T03:04:05Z"`},
		{"text marshaler", net.IPv4(10, 0, 0, 1), `"10.0.0.1"`},
		{"raw message", json.RawMessage(`{"a": 1}`), `{"a":1}`},
		{"panicking MarshalJSON", panicky{}, `"<unserializable:jsonvalue.panicky>"`},
		{"failing MarshalJSON", failing{}, `"<unserializable:jsonvalue.failing>"`},
		{"invalid MarshalJSON", invalid{}, `"<unserializable:jsonvalue.invalid>"`},
		{"MarshalJSON redacted", leaky{}, `{"n":1.50,"session_token":"<redacted>","user":"bob"}`},
		{"MarshalJSON compacted", spaced{}, `{"a":[1,2,"x y"]}`},
		{"func", func(int) error { return nil }, `"<func(int) error>"`},
		{"chan", ch, `"<chan int>"`},
		{"unsafe pointer", unsafe.Pointer(&ch), `"<unsafe.Pointer>"`},
		{"json number", json.Number("12.5"), `12.5`},
		{"bad json number", json.Number("0x10"), `"0x10"`},
		{"nested any", map[string]any{"list": []any{1, "two", nil, map[string]any{"ok": false}}}, `{"list":[1,"two",null,{"ok":false}]}`},
		{"data url", "data:image/png;base64," + strings.Repeat("A", 100), `"<base64 122 chars>"`},
		{"base64 blob", strings.Repeat("QUJD", 100), `"<base64 400 chars>"`},
		{"short base64-ish", "QUJDRA==", `"QUJDRA=="`},
		{"long prose", strings.Repeat("word ", 100), `"` + strings.Repeat("word ", 100) + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Marshal(tt.in, Options{})
			if got != tt.want {
				t.Fatalf("Marshal(%#v)\n got %s\nwant %s", tt.in, got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Fatalf("output is not valid JSON: %s", got)
			}
		})
	}
}

func TestCycles(t *testing.T) {
	n := &Node{Name: "a"}
	n.Next = &Node{Name: "b", Next: n}
	got := Marshal(n, Options{})
	want := `{"Name":"a","Next":{"Name":"b","Next":"<cycle:*jsonvalue.Node>"}}`
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}

	m := map[string]any{}
	m["self"] = m
	if got := Marshal(m, Options{}); got != `{"self":"<cycle:map[string]interface {}>"}` {
		t.Fatalf("map cycle: %s", got)
	}

	s := make([]any, 1)
	s[0] = s
	if got := Marshal(s, Options{}); got != `["<cycle:[]interface {}>"]` {
		t.Fatalf("slice cycle: %s", got)
	}

	// The same pointer twice, side by side, is not a cycle.
	shared := &Address{Street: "x"}
	if got := Marshal([]*Address{shared, shared}, Options{}); got != `[{"street":"x"},{"street":"x"}]` {
		t.Fatalf("shared pointer: %s", got)
	}
}

func TestDepthLimit(t *testing.T) {
	var deep any = "bottom"
	for range 15 {
		deep = []any{deep}
	}
	got := Marshal(deep, Options{MaxDepth: 3})
	want := `[[[["<truncated:[]interface {}>"]]]]`
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}

	l := &level{}
	cur := l
	for range 20 {
		cur.Down = &level{}
		cur = cur.Down
	}
	got = Marshal(l, Options{})
	if !strings.Contains(got, `"<truncated:jsonvalue.level>"`) || !json.Valid([]byte(got)) {
		t.Fatalf("default depth limit not applied: %s", got)
	}
	if n := strings.Count(got, `"Down"`); n != DefaultMaxDepth+1 {
		t.Fatalf("%d levels encoded, want %d: %s", n, DefaultMaxDepth+1, got)
	}
}

func TestCap(t *testing.T) {
	big := strings.Repeat("x", 100)
	got := Marshal([]string{big, big, big}, Options{MaxBytes: 150})
	if !strings.HasSuffix(got, TruncationMark) {
		t.Fatalf("no truncation mark: %s", got)
	}
	if len(got) > 150+len(TruncationMark) {
		t.Fatalf("output %d bytes, over the cap", len(got))
	}
	// A huge value is not encoded in full before being cut.
	huge := make([]string, 1<<16)
	for i := range huge {
		huge[i] = big
	}
	got = Marshal(huge, Options{})
	if len(got) > DefaultMaxBytes+len(TruncationMark) {
		t.Fatalf("output %d bytes", len(got))
	}
	// Multi-byte characters are never split.
	got = Marshal(strings.Repeat("é", 100), Options{MaxBytes: 20})
	if !strings.HasSuffix(got, TruncationMark) || strings.Contains(got, "\ufffd") {
		t.Fatalf("bad cut: %q", got)
	}
}

func TestObjectAndArray(t *testing.T) {
	got := Object([]string{"orderID", "apiKey", "", "opts"}, []any{"A-1", "sk-123", 7, map[string]int{"n": 1}}, Options{})
	want := `{"orderID":"A-1","apiKey":"<redacted>","arg2":7,"opts":{"n":1}}`
	if got != want {
		t.Fatalf("Object:\n got %s\nwant %s", got, want)
	}
	if got := Object(nil, nil, Options{}); got != `{}` {
		t.Fatalf("empty Object: %s", got)
	}
	if got := Array([]any{1, "a", nil}, Options{}); got != `[1,"a",null]` {
		t.Fatalf("Array: %s", got)
	}
}

func TestMarshalConcurrent(t *testing.T) {
	done := make(chan string)
	for range 8 {
		go func() {
			var last string
			for i := range 200 {
				last = Marshal(Customer{Name: strings.Repeat("n", i%7), Tags: []string{"t"}}, Options{})
			}
			done <- last
		}()
	}
	for range 8 {
		if got := <-done; !json.Valid([]byte(got)) {
			t.Fatalf("invalid: %s", got)
		}
	}
}

func FuzzMarshal(f *testing.F) {
	f.Add([]byte(`{"a":[1,2,{"password":"x"}],"b":"data:image/png;base64,AAAA"}`), 100)
	f.Add([]byte(`"\u2028\ud800"`), 5)
	f.Add([]byte(`[[[[[[[[[[[[[[1]]]]]]]]]]]]]`), 1000)
	f.Fuzz(func(t *testing.T, data []byte, maxBytes int) {
		var v any
		if json.Unmarshal(data, &v) != nil {
			v = string(data) // still a value worth encoding
		}
		type wrapper struct {
			Value    any             `json:"value"`
			Secret   string          `json:"client_secret"`
			Raw      json.RawMessage `json:"raw,omitempty"`
			Self     *wrapper
			Embedded map[any]any
		}
		w := &wrapper{Value: v, Secret: string(data), Embedded: map[any]any{1: v, "k": data}}
		if json.Valid(data) {
			w.Raw = data
		}
		w.Self = w
		for _, in := range []any{v, data, string(data), []any{v, data}, map[string]any{string(data): v}, w} {
			out := Marshal(in, Options{MaxBytes: maxBytes})
			limit := maxBytes
			if limit <= 0 {
				limit = DefaultMaxBytes
			}
			if strings.HasSuffix(out, TruncationMark) {
				if len(out) > limit+len(TruncationMark) {
					t.Fatalf("output %d bytes over cap %d", len(out), limit)
				}
				continue
			}
			if !json.Valid([]byte(out)) {
				t.Fatalf("invalid JSON for %q: %s", data, out)
			}
		}
	})
}

func BenchmarkMarshalStruct(b *testing.B) {
	c := Customer{Name: "Ann", Tags: []string{"a", "b"}, Address: &Address{Street: "Main", Zip: "123"}}
	b.ReportAllocs()
	for b.Loop() {
		Marshal(c, Options{})
	}
}

func BenchmarkJSONMarshalStruct(b *testing.B) {
	c := Customer{Name: "Ann", Tags: []string{"a", "b"}, Address: &Address{Street: "Main", Zip: "123"}}
	b.ReportAllocs()
	for b.Loop() {
		out, _ := json.Marshal(c)
		_ = string(out)
	}
}

func BenchmarkObjectString(b *testing.B) {
	names := []string{"orderID"}
	values := []any{"A-1001"}
	b.ReportAllocs()
	for b.Loop() {
		Object(names, values, Options{})
	}
}

type (
	selfSlice []selfSlice
	selfMap   map[string]selfMap
	selfPtr   *selfPtr
	selfArray [1]*selfArray
)

// TestRecursiveTypesWithoutStruct: deciding whether a recursive type is
// data ends when the recursion goes through no struct (it overflowed the
// stack, a fatal error no recover catches).
func TestRecursiveTypesWithoutStruct(t *testing.T) {
	var p selfPtr
	p = &p
	for _, c := range []struct {
		v    any
		want string
	}{
		{selfSlice{selfSlice{}, nil}, `[[],null]`},
		{selfMap{"a": selfMap{}}, `{"a":{}}`},
		{selfArray{}, `[null]`},
	} {
		if got := Marshal(c.v, Options{}); got != c.want {
			t.Errorf("Marshal(%T) = %s, want %s", c.v, got, c.want)
		}
	}
	if got := Marshal(p, Options{}); got == "" {
		t.Error("Marshal of a self-pointer gave nothing")
	}
}
