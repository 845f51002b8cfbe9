package llmcapture

import (
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
)

// Attribute keys. The gen_ai.* keys are those of the OpenTelemetry GenAI
// semantic conventions: from the semconv package where it has them, and
// spelled out for the three that are newer than it.
var (
	keySpanType        = attribute.Key("overmind.span.type")
	keyStatus          = attribute.Key("overmind.status")
	keyDuration        = attribute.Key("overmind.duration.seconds")
	keyErrorType       = attribute.Key("overmind.error.type")
	keyErrorMessage    = attribute.Key("overmind.error.message")
	keyAttempts        = attribute.Key("overmind.llm.attempts")
	keyPromptID        = attribute.Key("overmind.prompt.id")
	keyPromptHash      = attribute.Key("overmind.prompt.hash")
	keyPromptKwargs    = attribute.Key("overmind.prompt.kwargs")
	keyPromptTemplate  = attribute.Key("overmind.prompt.template")
	keyInputs          = attribute.Key("inputs")
	keyOutputs         = attribute.Key("outputs")
	keyRequestStream   = attribute.Key("gen_ai.request.stream")
	keyTimeToFirst     = attribute.Key("gen_ai.response.time_to_first_chunk")
	keyReasoningTokens = attribute.Key("gen_ai.usage.reasoning.output_tokens")
	// keyTotalTokens is the provider's total, which the Overmind guide
	// promises; the conventions have no key for it, so it takes the name
	// other GenAI instrumentations use.
	keyTotalTokens = attribute.Key("gen_ai.usage.total_tokens")
	// keyCost is the call's cost in USD, from the runtime's price table;
	// the conventions have no key for it.
	keyCost = attribute.Key("overmind.llm.cost_usd")

	keyProvider          = semconv.GenAIProviderNameKey
	keyOperation         = semconv.GenAIOperationNameKey
	keyRequestModel      = semconv.GenAIRequestModelKey
	keyTemperature       = semconv.GenAIRequestTemperatureKey
	keyTopP              = semconv.GenAIRequestTopPKey
	keyTopK              = semconv.GenAIRequestTopKKey
	keyMaxTokens         = semconv.GenAIRequestMaxTokensKey
	keyStopSequences     = semconv.GenAIRequestStopSequencesKey
	keyFrequencyPenalty  = semconv.GenAIRequestFrequencyPenaltyKey
	keyPresencePenalty   = semconv.GenAIRequestPresencePenaltyKey
	keySeed              = semconv.GenAIRequestSeedKey
	keyChoiceCount       = semconv.GenAIRequestChoiceCountKey
	keyEncodingFormats   = semconv.GenAIRequestEncodingFormatsKey
	keyDimensions        = semconv.GenAIEmbeddingsDimensionCountKey
	keyResponseModel     = semconv.GenAIResponseModelKey
	keyResponseID        = semconv.GenAIResponseIDKey
	keyFinishReasons     = semconv.GenAIResponseFinishReasonsKey
	keyInputTokens       = semconv.GenAIUsageInputTokensKey
	keyOutputTokens      = semconv.GenAIUsageOutputTokensKey
	keyCacheReadTokens   = semconv.GenAIUsageCacheReadInputTokensKey
	keyCacheCreateTokens = semconv.GenAIUsageCacheCreationInputTokensKey
	keyInputMessages     = semconv.GenAIInputMessagesKey
	keyOutputMessages    = semconv.GenAIOutputMessagesKey
	keySystem            = semconv.GenAISystemInstructionsKey
	keyToolDefinitions   = semconv.GenAIToolDefinitionsKey
	keyServerAddress     = semconv.ServerAddressKey
	keyServerPort        = semconv.ServerPortKey
	keyHTTPStatus        = semconv.HTTPResponseStatusCodeKey
	keyErrorTypeOTel     = semconv.ErrorTypeKey
)

// The overmind.status values.
const (
	statusSuccess   = "success"
	statusFailed    = "failed"
	statusCancelled = "cancelled"
)

// spanTypeLLM is the overmind.span.type of every span the engine makes.
const spanTypeLLM = "llm_call"

// retryEvent is the name of the span event recorded for each failed
// attempt that the SDK retried.
const retryEvent = "overmind.llm.retry"
