// Package spankind defines, once, the span types that directives with a
// fixed type open: the values of the overmind.span.type attribute, and
// which runtime constant names each. The runtime declares its SpanType
// constants from these values, and the generator reads the table to map a
// directive kind to the constant generated code uses, so the two cannot
// drift apart. It has no dependencies: the runtime stays light.
package spankind

// The span types with a runtime constant.
const (
	EntryPoint = "entry_point"
	Workflow   = "workflow"
	Tool       = "tool_call"
	Function   = "function"
	LLM        = "llm_call"
)

// Fixed is one directive kind whose span type is fixed.
type Fixed struct {
	// Directive is the directive's kind, the word after //overmind:.
	Directive string
	// Type is the span type it opens, the overmind.span.type attribute.
	Type string
	// Const is the runtime's constant of that type, which generated code
	// names (overmind.SpanTypeTool).
	Const string
}

// Kinds lists the directive kinds with a fixed span type, in the order
// messages mention them.
var Kinds = []Fixed{
	{"entry_point", EntryPoint, "SpanTypeEntryPoint"},
	{"workflow", Workflow, "SpanTypeWorkflow"},
	{"tool", Tool, "SpanTypeTool"},
	{"function", Function, "SpanTypeFunction"},
	{"llm", LLM, "SpanTypeLLM"},
}
