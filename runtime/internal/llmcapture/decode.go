package llmcapture

import (
	"github.com/overmind-core/overmind-go/runtime/internal/llmcapture/jsonscan"
)

// This file holds the helpers the provider parsers read JSON with. The
// parsers walk the bodies with a jsonscan.Decoder into small structs that
// hold only the fields they use: strings are substrings of the body where
// they need no unescaping, and values kept as JSON text (such as a
// message's content, which is a string or a list of parts) are the body's
// own text. A body that is not JSON gives nothing; a field of an
// unexpected type is read as absent.

// decoder is the JSON reader of the parsers.
type decoder = jsonscan.Decoder

// decodeBody reads body with decode, and reports whether body was one
// JSON value.
func decodeBody(body string, decode func(*decoder)) bool {
	var d decoder
	d.Reset(body)
	decode(&d)
	return d.Finish() == nil
}

// decodeList reads an array whose elements decode reads; any other value
// reads as an empty list.
func decodeList[T any](d *decoder, decode func(*T, *decoder)) []T {
	var list []T
	if d.Array() {
		for d.NextElem() {
			list = append(list, *new(T))
			decode(&list[len(list)-1], d)
		}
	}
	return list
}

// decodeOptional reads an object that decode reads, or nil for any other
// value.
func decodeOptional[T any](d *decoder, decode func(*T, *decoder)) *T {
	if d.Kind() != jsonscan.Object {
		d.Skip()
		return nil
	}
	v := new(T)
	decode(v, d)
	return v
}

// decodeStrings reads an array of strings.
func decodeStrings(d *decoder) []string {
	var list []string
	if d.Array() {
		for d.NextElem() {
			list = append(list, d.Str())
		}
	}
	return list
}

// readNumber reads an optional number.
func readNumber(d *decoder) number {
	v, ok := d.Float()
	return number{v: v, ok: ok}
}

// readCount reads an optional integer.
func readCount(d *decoder) count {
	v, ok := d.Int()
	return count{v: v, ok: ok}
}

// readInt reads an integer, 0 if absent.
func readInt(d *decoder) int {
	v, _ := d.Int()
	return int(v)
}

// validJSON reports whether s is one JSON value.
func validJSON(s string) bool {
	return decodeBody(s, (*decoder).Skip)
}

// rawString returns raw, a JSON value's text, as a string if it is a JSON
// string.
func rawString(raw string) (string, bool) {
	return jsonscan.Unquote(raw)
}

// decodeRaw decodes a JSON value's text as encoding/json decodes it into
// an interface value; one that does not decode is dropped.
func decodeRaw(raw string) any {
	if raw == "" {
		return nil
	}
	var d decoder
	d.Reset(raw)
	v, err := d.Any()
	if err != nil || d.Finish() != nil {
		return nil
	}
	return v
}

// decodeArgs decodes a tool call's arguments string; one that is not JSON
// stays a string.
func decodeArgs(s string) any {
	if s == "" {
		return map[string]any{}
	}
	var d decoder
	d.Reset(s)
	v, err := d.Any()
	if err != nil || d.Finish() != nil {
		return s
	}
	return v
}
