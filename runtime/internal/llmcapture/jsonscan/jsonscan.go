// Package jsonscan reads a JSON text from a string value by value, with no
// reflection and no copies of the strings that need no unescaping: a
// string value without escapes is returned as a substring of the input.
//
// It is made for reading the few fields of interest out of a large
// document: the caller walks the objects and arrays it cares about and
// skips the rest. A [Decoder] checks the whole text against the JSON
// grammar as encoding/json does, skipped values included, and decodes
// strings as encoding/json does (invalid UTF-8 and unpaired surrogates
// become U+FFFD). Where encoding/json would fail on a type mismatch, a
// Decoder reads the value as absent instead: the readers of one kind skip
// a value of another and report it missing.
//
// Errors are sticky: after the first syntax error every method returns a
// zero value, and [Decoder.Err] and [Decoder.Finish] report the error.
// Object keys are matched by the caller, exactly (encoding/json also
// matches them without regard to case).
package jsonscan

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of objects and arrays accepted, as in
// encoding/json.
const MaxDepth = 10000

// Kind is the kind of a JSON value.
type Kind uint8

// The kinds of JSON values.
const (
	Invalid Kind = iota // not a value: a syntax error or the end of input
	Null
	Bool
	Number
	String
	Object
	Array
)

// Decoder reads one JSON text. The zero value reads an empty text; use
// [Decoder.Reset] to start reading one.
type Decoder struct {
	s     string
	i     int
	err   error
	depth int
	// first is set when an object or array was just opened: its first
	// member or element takes no comma.
	first bool
	key   string
}

// Reset starts reading s.
func (d *Decoder) Reset(s string) {
	*d = Decoder{s: s}
}

// Err returns the first syntax error met, if any.
func (d *Decoder) Err() error { return d.err }

// Finish reports the first syntax error, or one if anything but white
// space follows the value read: call it after reading the top-level value.
func (d *Decoder) Finish() error {
	if d.err != nil {
		return d.err
	}
	d.space()
	if d.i < len(d.s) {
		d.fail("after top-level value")
	}
	return d.err
}

// SyntaxError is the error of a text that is not JSON.
type SyntaxError struct {
	Offset int // the byte offset of the error
	msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("jsonscan: invalid JSON at offset %d: %s", e.Offset, e.msg)
}

func (d *Decoder) fail(what string) {
	if d.err != nil {
		return
	}
	msg := "unexpected end of input"
	if d.i < len(d.s) {
		msg = "invalid character " + strconv.QuoteRune(rune(d.s[d.i])) + " " + what
	}
	d.err = &SyntaxError{Offset: d.i, msg: msg}
	d.i = len(d.s)
}

// space skips white space.
func (d *Decoder) space() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\n', '\r', '\t':
			d.i++
		default:
			return
		}
	}
}

// Kind returns the kind of the next value without reading it.
func (d *Decoder) Kind() Kind {
	if d.err != nil {
		return Invalid
	}
	d.space()
	if d.i >= len(d.s) {
		return Invalid
	}
	switch c := d.s[d.i]; c {
	case '{':
		return Object
	case '[':
		return Array
	case '"':
		return String
	case 'n':
		return Null
	case 't', 'f':
		return Bool
	default:
		if c == '-' || ('0' <= c && c <= '9') {
			return Number
		}
	}
	return Invalid
}

// Object opens the next value if it is an object, and reports whether it
// did; read its members with [Decoder.NextKey]. Any other value is skipped.
func (d *Decoder) Object() bool {
	if d.Kind() != Object {
		d.Skip()
		return false
	}
	return d.open()
}

// Array opens the next value if it is an array, and reports whether it
// did; read its elements with [Decoder.NextElem]. Any other value is
// skipped.
func (d *Decoder) Array() bool {
	if d.Kind() != Array {
		d.Skip()
		return false
	}
	return d.open()
}

func (d *Decoder) open() bool {
	if d.depth++; d.depth > MaxDepth {
		d.fail("exceeding the maximum nesting depth")
		return false
	}
	d.i++
	d.first = true
	return true
}

// NextKey moves to the next member of the object opened last: it reads
// the member's key, which [Decoder.Key] then returns, and reports true;
// the member's value must be read or skipped next. At the end of the
// object it reads the closing brace and reports false.
func (d *Decoder) NextKey() bool {
	if !d.next('}') {
		return false
	}
	if d.i >= len(d.s) || d.s[d.i] != '"' {
		d.fail("looking for beginning of object key string")
		return false
	}
	d.key = d.str()
	d.space()
	if d.i >= len(d.s) || d.s[d.i] != ':' {
		d.fail("after object key")
		return false
	}
	d.i++
	return d.err == nil
}

// Key returns the key read by the last [Decoder.NextKey].
func (d *Decoder) Key() string { return d.key }

// NextElem moves to the next element of the array opened last and
// reports true; the element must be read or skipped next. At the end of
// the array it reads the closing bracket and reports false.
func (d *Decoder) NextElem() bool {
	return d.next(']')
}

// next moves past the comma before the next member or element, or past
// the closing bracket.
func (d *Decoder) next(closing byte) bool {
	if d.err != nil {
		return false
	}
	d.space()
	if d.i >= len(d.s) {
		d.fail("")
		return false
	}
	c := d.s[d.i]
	if c == closing {
		d.i++
		d.depth--
		d.first = false
		return false
	}
	if d.first {
		d.first = false
	} else {
		if c != ',' {
			if closing == '}' {
				d.fail("after object key:value pair")
			} else {
				d.fail("after array element")
			}
			return false
		}
		d.i++
		d.space()
		if closing == ']' && d.i < len(d.s) && d.s[d.i] == ']' {
			d.fail("after comma")
			return false
		}
	}
	return true
}

// Str reads the next value as a string: a string value, or "" for any
// other (which it skips).
func (d *Decoder) Str() string {
	s, _ := d.StrOK()
	return s
}

// StrOK reads the next value if it is a string and reports whether it
// was; any other value is skipped.
func (d *Decoder) StrOK() (string, bool) {
	if d.Kind() != String {
		d.Skip()
		return "", false
	}
	s := d.str()
	return s, d.err == nil
}

// A Literal is a string value as the JSON text writes it.
type Literal struct {
	// JSON is the string's JSON text, quotes included.
	JSON    string
	escaped bool
	invalid bool
}

// Plain reports whether JSON has no escapes and is valid UTF-8: the
// string is JSON without its quotes.
func (l Literal) Plain() bool { return !l.escaped && !l.invalid }

// ValidUTF8 reports whether JSON is valid UTF-8, so that it can be written
// out as it is.
func (l Literal) ValidUTF8() bool { return !l.invalid }

// Value returns the string, unescaped as encoding/json unescapes it.
func (l Literal) Value() string {
	if len(l.JSON) < 2 {
		return ""
	}
	inner := l.JSON[1 : len(l.JSON)-1]
	if l.Plain() {
		return inner
	}
	return unquote(inner)
}

// StrLiteral reads the next value if it is a string, and reports whether
// it was; any other value is skipped. It returns the string as the text
// writes it, unescaping nothing.
func (d *Decoder) StrLiteral() (Literal, bool) {
	if d.Kind() != String {
		d.Skip()
		return Literal{}, false
	}
	start := d.i
	end, escaped, valid := d.scanString()
	if d.err != nil {
		return Literal{}, false
	}
	return Literal{JSON: d.s[start : end+1], escaped: escaped, invalid: !valid}, true
}

// str reads the string at d.i.
func (d *Decoder) str() string {
	start := d.i + 1
	end, escaped, valid := d.scanString()
	if d.err != nil {
		return ""
	}
	if !escaped && valid {
		return d.s[start:end]
	}
	return unquote(d.s[start:end])
}

// scanString moves past the string at d.i, checking its escapes, and
// returns the end of its contents, whether they have escapes, and whether
// they are valid UTF-8.
func (d *Decoder) scanString() (end int, escaped, valid bool) {
	s := d.s
	i := d.i + 1
	valid = true
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf && safe[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			d.i = i + 1
			return i, escaped, valid
		case c == '\\':
			escaped = true
			if i+1 >= len(s) {
				d.i = len(s)
				d.fail("")
				return 0, false, false
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s) || hex4(s[i+2:i+6]) < 0 {
					d.i = min(i+2, len(s))
					for d.i < len(s) && d.i < i+6 && isHex(s[d.i]) {
						d.i++
					}
					d.fail("in \\u hexadecimal character escape")
					return 0, false, false
				}
				i += 6
			default:
				d.i = i + 1
				d.fail("in string escape code")
				return 0, false, false
			}
		case c < 0x20:
			d.i = i
			d.fail("in string literal")
			return 0, false, false
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				valid = false
			}
			i += size
		}
	}
	d.i = len(s)
	d.fail("")
	return 0, false, false
}

// safe marks the ASCII bytes that stand for themselves in a string.
var safe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// hex4 decodes four hexadecimal digits, or returns -1.
func hex4(s string) rune {
	var r rune
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// unquote decodes the contents of a string whose escapes were checked:
// escapes are replaced, and invalid UTF-8 and unpaired surrogates become
// U+FFFD, as encoding/json decodes them.
func unquote(s string) string {
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			switch e := s[i+1]; e {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := hex4(s[i+2 : i+6])
				i += 6
				if utf16.IsSurrogate(r) {
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if pair := utf16.DecodeRune(r, hex4(s[i+2:i+6])); pair != utf8.RuneError {
							r = pair
							i += 6
						} else {
							r = utf8.RuneError
						}
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
				continue
			default: // '"', '\\', '/'
				b = append(b, e)
			}
			i += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
		}
	}
	return string(b)
}

// Unquote decodes a JSON string literal, quotes included and nothing
// around them, and reports whether s is one.
func Unquote(s string) (string, bool) {
	if len(s) < 2 || s[0] != '"' {
		return "", false
	}
	var d Decoder
	d.Reset(s)
	v := d.str()
	if d.err != nil || d.i != len(s) {
		return "", false
	}
	return v, true
}

// Bool reads the next value as a boolean: false for any other value.
func (d *Decoder) Bool() bool {
	if d.Kind() == Bool && d.s[d.i] == 't' {
		d.literal("true")
		return d.err == nil
	}
	d.Skip()
	return false
}

// Int reads the next value if it is a number that is an integer in the
// range of int64, and reports whether it was; any other value is skipped.
func (d *Decoder) Int() (int64, bool) {
	if d.Kind() != Number {
		d.Skip()
		return 0, false
	}
	n, err := strconv.ParseInt(d.number(), 10, 64)
	return n, err == nil && d.err == nil
}

// Float reads the next value if it is a number in the range of float64,
// and reports whether it was; any other value is skipped.
func (d *Decoder) Float() (float64, bool) {
	if d.Kind() != Number {
		d.Skip()
		return 0, false
	}
	f, err := strconv.ParseFloat(d.number(), 64)
	return f, err == nil && d.err == nil
}

// Raw reads the next value and returns its JSON text, as
// encoding/json.RawMessage holds it; "" after a syntax error.
func (d *Decoder) Raw() string {
	if d.Kind() == Invalid {
		d.fail("looking for beginning of value")
		return ""
	}
	start := d.i
	d.Skip()
	if d.err != nil {
		return ""
	}
	return d.s[start:d.i]
}

// Skip reads the next value and drops it.
func (d *Decoder) Skip() {
	switch d.Kind() {
	case Object:
		if d.open() {
			for d.NextKey() {
				d.Skip()
			}
		}
	case Array:
		if d.open() {
			for d.NextElem() {
				d.Skip()
			}
		}
	case String:
		d.scanString()
	case Number:
		d.number()
	case Null:
		d.literal("null")
	case Bool:
		if d.s[d.i] == 't' {
			d.literal("true")
		} else {
			d.literal("false")
		}
	default:
		d.fail("looking for beginning of value")
	}
}

func (d *Decoder) literal(lit string) {
	if strings.HasPrefix(d.s[d.i:], lit) {
		d.i += len(lit)
		return
	}
	for j := 0; j < len(lit) && d.i < len(d.s) && d.s[d.i] == lit[j]; j++ {
		d.i++
	}
	d.fail("in literal " + lit + " (expecting " + strconv.QuoteRune(rune(lit[min(len(lit)-1, 1)])) + ")")
}

// number reads the number at d.i and returns its text.
func (d *Decoder) number() string {
	s, start := d.s, d.i
	i := start
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	default:
		d.i = i
		d.fail("in numeric literal")
		return ""
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			d.i = i
			d.fail("after decimal point in numeric literal")
			return ""
		}
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			d.i = i
			d.fail("in exponent of numeric literal")
			return ""
		}
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	}
	d.i = i
	return s[start:i]
}

// errRange is the error of Any for a number out of the range of float64.
var errRange = errors.New("jsonscan: number out of the range of float64")

// Any reads the next value as encoding/json decodes it into an interface
// value: map[string]any, []any, string, float64, bool or nil. It fails,
// as encoding/json does, on a number out of the range of float64.
func (d *Decoder) Any() (any, error) {
	v := d.anyValue()
	if d.err != nil {
		return nil, d.err
	}
	return v, nil
}

func (d *Decoder) anyValue() any {
	switch d.Kind() {
	case Object:
		m := map[string]any{}
		if d.open() {
			for d.NextKey() {
				k := d.key
				m[k] = d.anyValue()
			}
		}
		return m
	case Array:
		a := []any{}
		if d.open() {
			for d.NextElem() {
				a = append(a, d.anyValue())
			}
		}
		return a
	case String:
		return d.str()
	case Number:
		start := d.i
		f, err := strconv.ParseFloat(d.number(), 64)
		if err != nil && d.err == nil {
			d.err = &SyntaxError{Offset: start, msg: errRange.Error()}
			d.i = len(d.s)
		}
		return f
	case Bool:
		return d.Bool()
	case Null:
		d.literal("null")
		return nil
	}
	d.fail("looking for beginning of value")
	return nil
}
