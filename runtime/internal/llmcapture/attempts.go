package llmcapture

import (
	"net/http"
	"strconv"
	"strings"
)

// This file reads what the SDKs' request headers tell of an attempt's
// place among the attempts of its call.

// retryCountHeader is the header in which openai-go and anthropic-sdk-go
// number the attempts of a call from 0.
const retryCountHeader = "X-Stainless-Retry-Count"

// The headers of the AWS SDK for Go v2: an id every attempt of a call
// carries, and "attempt=N; max=M" (N from 1).
const (
	awsInvocationIDHeader = "Amz-Sdk-Invocation-Id"
	awsRequestHeader      = "Amz-Sdk-Request"
)

// attemptInfo is what a request's headers tell of its attempt.
type attemptInfo struct {
	// counted is set when the client numbers its attempts; such clients
	// retry transport errors too.
	counted bool
	// first is set for the first attempt of a call, when counted.
	first bool
	// last is set when the client will make no attempt after this one.
	last bool
	// callID is an id every attempt of the call carries, if any: with it
	// identical calls made at once are told apart.
	callID string
	// readsErrors is set when the client reads the body of an error
	// response before it retries (the AWS SDK), so that a read body does
	// not mean the call ended.
	readsErrors bool
}

// attemptOf returns what h, a request's header, tells of its attempt.
func attemptOf(h http.Header) attemptInfo {
	if n := h.Get(retryCountHeader); n != "" {
		return attemptInfo{counted: true, first: n == "0"}
	}
	if id := h.Get(awsInvocationIDHeader); id != "" {
		attempt, max := awsAttempt(h.Get(awsRequestHeader))
		return attemptInfo{
			counted:     attempt > 0,
			first:       attempt == 1,
			last:        attempt > 0 && max > 0 && attempt >= max,
			callID:      id,
			readsErrors: true,
		}
	}
	return attemptInfo{}
}

// awsAttempt reads "attempt=N; max=M; ..."; 0 for what it does not say.
func awsAttempt(v string) (attempt, max int) {
	for v != "" {
		var field string
		field, v, _ = strings.Cut(v, ";")
		key, value, _ := strings.Cut(strings.TrimSpace(field), "=")
		n, err := strconv.Atoi(value)
		if err != nil {
			continue
		}
		switch key {
		case "attempt":
			attempt = n
		case "max":
			max = n
		}
	}
	return attempt, max
}
