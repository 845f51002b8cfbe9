// Package jsonvalue turns arbitrary Go values into the JSON strings that
// spans record as inputs, outputs and tags. It is best-effort by design: it
// never panics, never fails, and never writes more than a configured
// number of bytes, degrading whatever it cannot encode into a visible
// placeholder instead:
//
//   - values of map keys and struct fields whose name is secret (password,
//     token, api_key, ... see [redact.IsSecretKey]) become "<redacted>"; a
//     struct field is secret if its Go name or its JSON name is;
//   - long base64 strings and data URLs become "<base64 N chars>";
//   - URLs (url.URL values, and strings that start "scheme://") are
//     recorded as strings with their password and the values of their
//     secret query parameters (api_key=, token=, sig=, ...) replaced by
//     "<redacted>", as [redact.Scrub] does;
//   - byte slices over 256 bytes become "<bytes N>";
//   - nesting deeper than MaxDepth becomes "<truncated:T>";
//   - cycles become "<cycle:T>";
//   - a value whose data a lock guards (a struct holding, by value, a
//     sync.Mutex, sync.RWMutex, sync.Map, sync.Once, sync.WaitGroup,
//     sync.Cond, sync.Pool or a sync/atomic type, or one of those itself)
//     becomes "<guarded:T>": its fields are not read and its methods not
//     called, since the program may hold the lock and be writing;
//   - funcs, channels and unsafe pointers become "<func ...>", "<chan ...>",
//     "<unsafe.Pointer>";
//   - values that are not data (API clients, loggers, database handles:
//     structs mostly of funcs, interfaces that do work and hidden state,
//     and slices or maps of such things; see notdata.go) become one
//     placeholder naming their type, "<*http.Client>";
//   - a MarshalJSON, MarshalText or Error method that panics, fails or
//     returns invalid JSON becomes "<unserializable:T>";
//   - output beyond MaxBytes is cut and ends with [TruncationMark].
//
// Otherwise the output follows encoding/json: struct tags (name, "-",
// omitempty, omitzero), embedded struct promotion, sorted map keys,
// json.Marshaler and encoding.TextMarshaler. Errors are recorded as their
// message. Every string written for a value whose type implements error
// (its message, or the strings of its MarshalJSON output or its fields),
// wherever the value sits, is error text: it is scrubbed of credentials
// and cut like the error message attribute (see [redact.Message]). Output
// that was not cut is always valid JSON.
package jsonvalue

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/overmind-core/overmind-go/runtime/internal/jsonstr"
	"github.com/overmind-core/overmind-go/runtime/internal/redact"
)

const (
	// DefaultMaxBytes is the default cap on one encoded value.
	DefaultMaxBytes = 32 << 10
	// DefaultMaxDepth is the default nesting limit.
	DefaultMaxDepth = 10
	// TruncationMark ends output that was cut at MaxBytes.
	TruncationMark = "…[truncated]"

	// maxBytesInline is the longest byte slice encoded (as base64, like
	// encoding/json); longer ones become "<bytes N>".
	maxBytesInline = 256
	// minBase64Blob is the length from which a string made only of base64
	// characters is taken for encoded binary data.
	minBase64Blob = 256
	// minDataURL is the length from which a base64 data URL is replaced.
	minDataURL = 64
	// maxMapKeys bounds how many entries of one map are sorted and
	// encoded; the cap on bytes would cut a bigger map anyway.
	maxMapKeys = 4096
)

// Options tunes an encoding. The zero value means the defaults.
type Options struct {
	// MaxBytes caps the output; longer output is cut and marked with
	// TruncationMark. Zero or negative means DefaultMaxBytes.
	MaxBytes int
	// MaxDepth is the deepest nesting encoded; deeper values become
	// "<truncated:T>". Zero or negative means DefaultMaxDepth.
	MaxDepth int
}

// Marshal encodes v as JSON under the rules of the package.
func Marshal(v any, o Options) string {
	e := newEncoder(o)
	e.guard(func() { e.value(v, 0) }, v)
	return e.finish()
}

// Object encodes names and values as one JSON object, in order, as for a
// function's parameters. A value whose name is secret is redacted; an
// empty name becomes "argN" (N counting from 0). Extra values without a
// name are ignored.
func Object(names []string, values []any, o Options) string {
	e := newEncoder(o)
	e.guard(func() {
		e.buf = append(e.buf, '{')
		for i, name := range names {
			if i >= len(values) || e.full() {
				break
			}
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if name == "" {
				name = "arg" + strconv.Itoa(i)
			}
			e.str(name)
			e.buf = append(e.buf, ':')
			if redact.IsSecretKey(name) {
				e.str(redact.Placeholder)
				continue
			}
			e.value(values[i], 0)
		}
		e.buf = append(e.buf, '}')
	}, nil)
	return e.finish()
}

// Array encodes values as one JSON array, in order, as for a function's
// results.
func Array(values []any, o Options) string {
	e := newEncoder(o)
	e.guard(func() {
		e.buf = append(e.buf, '[')
		for i, v := range values {
			if e.full() {
				break
			}
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.value(v, 0)
		}
		e.buf = append(e.buf, ']')
	}, nil)
	return e.finish()
}

// encoder accumulates one encoding. Encoders are pooled.
type encoder struct {
	buf      []byte
	max      int
	maxDepth int
	// path holds the pointers being encoded, outermost first, to detect
	// cycles. Its length never exceeds maxDepth+1 pointers per level.
	path []pathEntry
	// errorText counts the values being encoded whose type implements
	// error: while it is not zero, string values are error text and are
	// scrubbed as error messages are.
	errorText int
}

type pathEntry struct {
	ptr uintptr
	len int
}

var encoders = sync.Pool{New: func() any { return &encoder{buf: make([]byte, 0, 512)} }}

func newEncoder(o Options) *encoder {
	e := encoders.Get().(*encoder)
	e.max = o.MaxBytes
	if e.max <= 0 {
		e.max = DefaultMaxBytes
	}
	e.maxDepth = o.MaxDepth
	if e.maxDepth <= 0 {
		e.maxDepth = DefaultMaxDepth
	}
	return e
}

// guard runs f and, should the encoder itself ever panic on some value,
// replaces the whole output with a placeholder rather than let the panic
// reach the instrumented program.
func (e *encoder) guard(f func(), v any) {
	defer func() {
		if recover() != nil {
			e.buf = e.buf[:0]
			e.path = e.path[:0]
			e.errorText = 0
			e.placeholder("<unserializable:" + typeString(v) + ">")
		}
	}()
	f()
}

// finish returns the output, cut to max bytes if needed, and returns the
// encoder to the pool.
func (e *encoder) finish() string {
	var s string
	if len(e.buf) > e.max {
		n := e.max
		for n > 0 && !utf8.RuneStart(e.buf[n]) {
			n--
		}
		s = string(e.buf[:n]) + TruncationMark
	} else {
		s = string(e.buf)
	}
	if cap(e.buf) <= 64<<10 {
		e.buf = e.buf[:0]
		e.path = e.path[:0]
		e.errorText = 0
		encoders.Put(e)
	}
	return s
}

// full reports whether the output already exceeds the cap, after which
// nothing more is encoded.
func (e *encoder) full() bool { return len(e.buf) > e.max }

// placeholder writes s, a placeholder such as "<bytes 300>", as a string.
func (e *encoder) placeholder(s string) { e.str(s) }

// null writes JSON's null.
func (e *encoder) null() { e.buf = append(e.buf, "null"...) }

func typeString(v any) string {
	if v == nil {
		return "nil"
	}
	return reflect.TypeOf(v).String()
}

// value encodes v. Common types take a fast path without reflection.
func (e *encoder) value(v any, depth int) {
	if e.full() {
		return
	}
	switch x := v.(type) {
	case nil:
		e.null()
	case string:
		e.stringValue(x)
	case bool:
		e.buf = strconv.AppendBool(e.buf, x)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case int64:
		e.buf = strconv.AppendInt(e.buf, x, 10)
	case int32:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case int16:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case int8:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case uint:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case uint64:
		e.buf = strconv.AppendUint(e.buf, x, 10)
	case uint32:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case uint16:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case uint8:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case float64:
		e.float(x, 64)
	case float32:
		e.float(float64(x), 32)
	case []byte:
		e.bytes(x)
	case json.Number:
		e.number(x)
	case []string:
		e.stringSlice(x, depth)
	case map[string]any:
		e.reflectValue(reflect.ValueOf(x), depth)
	default:
		e.reflectValue(reflect.ValueOf(v), depth)
	}
}

// stringSlice writes a []string nested depth levels deep, without reflection.
func (e *encoder) stringSlice(list []string, depth int) {
	if list == nil {
		e.null()
		return
	}
	if depth >= e.maxDepth {
		e.placeholder("<truncated:[]string>")
		return
	}
	e.buf = append(e.buf, '[')
	for i, s := range list {
		if e.full() {
			return
		}
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.stringValue(s)
	}
	e.buf = append(e.buf, ']')
}

func (e *encoder) number(n json.Number) {
	if _, err := strconv.ParseFloat(string(n), 64); err != nil || n == "" {
		e.str(string(n))
		return
	}
	// ParseFloat accepts forms JSON does not (hex, "Inf", "1_0").
	if !json.Valid([]byte(n)) {
		e.str(string(n))
		return
	}
	e.buf = append(e.buf, n...)
}

// float writes f the way encoding/json does; NaN and infinities, which JSON
// cannot represent, become strings.
func (e *encoder) float(f float64, bits int) {
	switch {
	case math.IsNaN(f):
		e.buf = append(e.buf, `"NaN"`...)
		return
	case math.IsInf(f, 1):
		e.buf = append(e.buf, `"+Inf"`...)
		return
	case math.IsInf(f, -1):
		e.buf = append(e.buf, `"-Inf"`...)
		return
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	start := len(e.buf)
	e.buf = strconv.AppendFloat(e.buf, f, format, -1, bits)
	if format == 'e' {
		// Clean up e-09 to e-9.
		n := len(e.buf) - start
		if n >= 4 && e.buf[len(e.buf)-4] == 'e' && e.buf[len(e.buf)-3] == '-' && e.buf[len(e.buf)-2] == '0' {
			e.buf[len(e.buf)-2] = e.buf[len(e.buf)-1]
			e.buf = e.buf[:len(e.buf)-1]
		}
	}
}

func (e *encoder) bytes(b []byte) {
	if b == nil {
		e.null()
		return
	}
	if len(b) > maxBytesInline {
		e.placeholder("<bytes " + strconv.Itoa(len(b)) + ">")
		return
	}
	e.buf = append(e.buf, '"')
	e.buf = base64.StdEncoding.AppendEncode(e.buf, b)
	e.buf = append(e.buf, '"')
}

// stringValue writes a string that is a value (not a key): encoded binary
// data is replaced by a placeholder, error text is scrubbed of credentials
// and cut as an error message is (see [redact.Message]), and a URL is
// scrubbed (its password, its secret query parameters).
func (e *encoder) stringValue(s string) {
	if e.errorText > 0 {
		s = redact.Message(s)
	} else if isURL(s) {
		s = redact.Scrub(e.fitting(s))
	}
	if isBase64Blob(s) {
		e.placeholder("<base64 " + strconv.Itoa(len(s)) + " chars>")
		return
	}
	e.str(s)
}

// fitting returns as much of s as the cap can still hold, and 1 KiB more,
// so that what is cut away is not scanned and a credential across the cut
// is scanned whole.
func (e *encoder) fitting(s string) string {
	if n := e.max - len(e.buf) + 1<<10; n >= 0 && len(s) > n {
		return s[:n]
	}
	return s
}

// isURL reports whether s starts like a URL with an authority,
// "scheme://": such a string may carry a password or credentials in its
// query, which the scrubber replaces.
func isURL(s string) bool {
	const maxScheme = 32
	for i := 0; i < len(s) && i <= maxScheme; i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return len(s) >= i+3 && s[i+1] == '/' && s[i+2] == '/'
		default:
			return false
		}
	}
	return false
}

// isBase64Blob reports whether s looks like encoded binary data: a data URL
// with a base64 payload, or a long run of base64 characters only.
func isBase64Blob(s string) bool {
	if len(s) >= minDataURL && len(s) > 5 && s[:5] == "data:" {
		head := s[:min(len(s), 256)]
		for i := 5; i+8 <= len(head); i++ {
			if head[i:i+8] == ";base64," {
				return true
			}
		}
		return false
	}
	if len(s) < minBase64Blob {
		return false
	}
	end := len(s)
	for k := 0; k < 2 && end > 0 && s[end-1] == '='; k++ {
		end--
	}
	for i := 0; i < end; i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '+', c == '/', c == '-', c == '_', c == '\n', c == '\r':
		default:
			return false
		}
	}
	return true
}

// str writes s as a JSON string. Invalid UTF-8 becomes U+FFFD; only as
// much of s as the cap can still hold is written.
func (e *encoder) str(s string) {
	if room := e.max - len(e.buf) + 8; len(s) > room && room > 0 {
		s = s[:room]
	}
	e.buf = jsonstr.Append(e.buf, s, false)
}
