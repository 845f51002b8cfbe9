package rewrite

import (
	"strconv"
	"strings"
)

// Generated code uses a small set of reserved identifiers, so that removing
// it can never mistake user code for generated code:
//
//	_om        the *overmind.Call of the prologue
//	_ompN      parameter N, which was unnamed
//	_ompN_     parameter N, which was the blank identifier _
//	_omrN      result N, which was unnamed
//	_omrN_     result N, which was the blank identifier _
//
// N counts from 0 in declaration order. An instrumented function whose own
// code uses one of these names gets an error instead of instrumentation.
const callVar = "_om"

// role of a reserved name.
const (
	paramRole  = 'p'
	resultRole = 'r'
)

// genName is the reserved name of parameter or result index, renamed from
// the blank identifier (blank) or from no name at all.
func genName(role byte, index int, blank bool) string {
	name := callVar + string(role) + strconv.Itoa(index)
	if blank {
		name += "_"
	}
	return name
}

// parseGenName reports whether name is a reserved parameter (role 'p') or
// result ('r') name, and whether it stands for a blank identifier.
func parseGenName(name string, role byte) (blank, ok bool) {
	rest, found := strings.CutPrefix(name, callVar+string(role))
	if !found {
		return false, false
	}
	if digits, cut := strings.CutSuffix(rest, "_"); cut {
		rest, blank = digits, true
	}
	if rest == "" || strings.Trim(rest, "0123456789") != "" || (len(rest) > 1 && rest[0] == '0') {
		return false, false
	}
	return blank, true
}

// isReserved reports whether a user identifier would clash with generated
// code.
func isReserved(name string) bool {
	if name == callVar {
		return true
	}
	_, p := parseGenName(name, paramRole)
	_, r := parseGenName(name, resultRole)
	return p || r
}

// symbolPath writes a package path as the Go toolchain does in symbol
// names, so that the qualified name generated code passes to the runtime
// splits unambiguously at its first dot after the last slash: a dot in the
// path's last element becomes %2e ("github.com/nats-io/nats%2ego",
// "gopkg.in/yaml%2ev3"), and so do, anywhere in the path, '%', '"',
// spaces, control characters and non-ASCII bytes (%xx, lower-case hex).
func symbolPath(path string) string {
	slash := strings.LastIndexByte(path, '/')
	escape := func(i int) bool {
		c := path[i]
		return c <= ' ' || c == '%' || c == '"' || c >= 0x7f || (c == '.' && i > slash)
	}
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		if !escape(i) {
			b.WriteByte(path[i])
			continue
		}
		const hex = "0123456789abcdef"
		b.WriteByte('%')
		b.WriteByte(hex[path[i]>>4])
		b.WriteByte(hex[path[i]&0xf])
	}
	return b.String()
}
