// Package integration tests the runtime's capture of LLM provider calls
// with the providers' own Go clients (openai-go, anthropic-sdk-go, genai,
// go-openai, the AWS SDK's bedrockruntime) against local servers, through
// the runtime's public API, as a program that imports the runtime does.
//
// It is a module of its own so that the provider SDKs stay out of the
// module a program requires to use the runtime: the runtime parses the
// providers' JSON itself and imports none of them. Run its tests from this
// directory:
//
//	go test -race ./...
package integration
