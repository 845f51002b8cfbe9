package overmind

// The span types other tracing SDKs name (the OpenAI Agents SDK, mv37,
// Mutagent, OpenInference), for work that is neither a tool nor a plain
// function. They are ordinary values of overmind.span.type: use them with
// StartSpan, or spell them in a directive, //overmind:observe type=agent.
// The dashboard and the local trace viewer show any type; these are the
// ones they know by name.
const (
	// SpanTypeAgent is an agent's run: its model calls, tools and
	// handoffs below it (Agents agent_span, Mutagent "agent").
	SpanTypeAgent SpanType = "agent"
	// SpanTypeChain is a fixed sequence of steps, a pipeline (Mutagent
	// and LangChain "chain").
	SpanTypeChain SpanType = "chain"
	// SpanTypeTask is a multi-step unit of work (mv37 "task").
	SpanTypeTask SpanType = "task"
	// SpanTypeRetrieval is a retrieval or RAG lookup (mv37 and Mutagent
	// "retrieval").
	SpanTypeRetrieval SpanType = "retrieval"
	// SpanTypeEmbedding is the computation of embeddings (Mutagent
	// "llm.embedding").
	SpanTypeEmbedding SpanType = "embedding"
	// SpanTypeRerank is the reranking of retrieved documents.
	SpanTypeRerank SpanType = "rerank"
	// SpanTypeGuardrail is a safety or policy check on an input or output
	// (Agents guardrail_span, Mutagent "guardrail").
	SpanTypeGuardrail SpanType = "guardrail"
	// SpanTypeHandoff is one agent handing the conversation to another
	// (Agents handoff_span).
	SpanTypeHandoff SpanType = "handoff"
)
