package overmind

import "github.com/overmind-core/overmind-go/runtime/internal/jsonvalue"

// What one call may record is bounded, so that the cost of recording does
// not grow with the depth of a recursion whose inputs grow with it (a path
// that gains a step at each level, recorded whole at every level, made
// such a recursion quadratic).
//
// The open calls of one goroutine share a budget of recorded bytes,
// budgetAttributes times the attribute cap (Config.MaxAttributeBytes, 32
// KiB by default, so 128 KiB). A call records its inputs, and then its
// outputs, up to the attribute cap or to what the calls open below it on
// its goroutine left of the budget, whichever is less, but always at
// least minRecordBytes; what is cut ends with the serializer's truncation
// mark. A call's allowance is fixed when it starts, and its inputs count
// against its callees' allowances; its outputs, recorded once its callees
// have ended, get what its inputs left of its allowance, and count
// against nothing. So the first few levels of a deep recursion
// record in full, and every deeper level at most minRecordBytes: the
// cost of one call is bounded by the cap, and the cost of the recursion
// by the budget plus minRecordBytes a level.
const (
	budgetAttributes = 4
	minRecordBytes   = 256
)

// attributeCap is the most one inputs or outputs attribute holds.
func (st *state) attributeCap() int {
	if st.jsonOpts.MaxBytes > 0 {
		return st.jsonOpts.MaxBytes
	}
	return jsonvalue.DefaultMaxBytes
}

// allowanceAfter returns the bytes a call opened while below was its
// goroutine's current call may record: the budget for a goroutine's first
// call, else what below was allowed less what its inputs took.
func (st *state) allowanceAfter(below *Call) int {
	if below == nil || below.st != st {
		return budgetAttributes * st.attributeCap()
	}
	return below.allowed - below.inputBytes
}

// encoding returns the serializer options for a value allowed allowed
// bytes.
func (st *state) encoding(allowed int) jsonvalue.Options {
	o := st.jsonOpts
	o.MaxBytes = min(st.attributeCap(), max(allowed, minRecordBytes))
	return o
}
