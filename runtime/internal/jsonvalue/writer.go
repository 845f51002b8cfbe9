package jsonvalue

import (
	"strconv"

	"github.com/overmind-core/overmind-go/runtime/internal/redact"
)

// Writer encodes values one at a time, as they are added, into one JSON
// document: an object of named values (a function's parameters) or a
// function's results (one result as its own value, several as an array).
// Each value is encoded before Add returns and is not referenced
// afterwards, so values may live on the caller's stack (see the package
// doc). The zero Writer is not ready: call [Writer.Begin].
type Writer struct {
	e      *encoder
	n      int
	object bool
}

// Begin starts a document: an object of named values when object is true,
// else results. A Writer may be reused once [Writer.Finish] returned.
func (w *Writer) Begin(object bool, o Options) {
	w.e, w.n, w.object = newEncoder(o), 0, object
	if object {
		w.e.buf = append(w.e.buf, '{')
	} else {
		w.e.buf = append(w.e.buf, '[')
	}
}

// Add encodes one value. In an object, name is its key (a value whose
// name is secret is redacted, and an empty name becomes "argN", N counting
// from 0); for results, name is ignored.
func (w *Writer) Add(name string, v any) {
	e := w.e
	if e == nil || e.full() {
		w.n++
		return
	}
	if w.n > 0 {
		e.buf = append(e.buf, ',')
	}
	i := w.n
	w.n++
	if w.object {
		if name == "" {
			name = "arg" + strconv.Itoa(i)
		}
		e.str(name)
		e.buf = append(e.buf, ':')
		if redact.IsSecretKey(name) {
			e.str(redact.Placeholder)
			return
		}
	}
	mark := len(e.buf)
	e.guard(func() { e.value(v, 0) }, v, mark)
}

// Finish returns the document and releases the Writer's buffer.
func (w *Writer) Finish() string {
	e := w.e
	if e == nil {
		return ""
	}
	w.e = nil
	switch {
	case w.object:
		e.buf = append(e.buf, '}')
		return e.finish(0)
	case w.n == 1:
		return e.finish(1) // one result: its value, without the '['
	default:
		e.buf = append(e.buf, ']')
		return e.finish(0)
	}
}
