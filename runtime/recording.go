package overmind

import (
	"github.com/overmind-core/overmind-go/runtime/internal/gls"
	"github.com/overmind-core/overmind-go/runtime/internal/jsonvalue"
)

// recording holds the goroutines on which the runtime is running the
// program's own code to record a span: the Error, Unwrap and Is methods
// of an error, the MarshalJSON and MarshalText methods of an input or
// output, the String method of a panic value. If those methods are
// instrumented, they must not open spans of their own while the runtime
// calls them: that would nest the runtime's bookkeeping in the trace, and
// an error chain whose Unwrap and Error methods are instrumented would
// record each other without end (each span's end walking the chain
// again). On a goroutine in the set, Enter, EnterContext, EnterRequest and
// StartSpan open nothing; the program's methods still run, untraced.
var recording gls.Set

// isRecording reports whether the calling goroutine is inside the
// runtime's recording of a span; one atomic load while no goroutine is.
func isRecording() bool { return recording.Has() }

// record runs f, which may call the program's code, with the calling
// goroutine marked as recording.
func record(f func()) {
	recording.Enter()
	defer recording.Leave()
	f()
}

// mayRunCode reports whether encoding v could call a method of the
// program (MarshalJSON, MarshalText, Error): false for the values the
// serializer encodes without looking for methods.
func mayRunCode(v any) bool {
	switch v.(type) {
	case nil, string, bool, int, int64, int32, int16, int8, uint, uint64, uint32, uint16, uint8,
		float64, float32, []byte, []string:
		return false
	}
	return true
}

// anyMayRunCode is mayRunCode for several values.
func anyMayRunCode(values []any) bool {
	for _, v := range values {
		if mayRunCode(v) {
			return true
		}
	}
	return false
}

// marshalRecording encodes v as jsonvalue.Marshal does, marked as
// recording while the encoder may call the program's methods.
func marshalRecording(v any, o jsonvalue.Options) (s string) {
	if !mayRunCode(v) {
		return jsonvalue.Marshal(v, o)
	}
	record(func() { s = jsonvalue.Marshal(v, o) })
	return s
}
