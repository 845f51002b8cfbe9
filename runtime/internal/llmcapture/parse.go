package llmcapture

import (
	"strconv"
	"strings"
)

// This file dispatches the parsing of requests, responses, streams and
// errors to the provider parsers. Every function here recovers from a
// panic of a parser and returns less, never more: a body the engine does
// not understand gives a span with less detail.

// stream accumulates the events of a server-sent event stream.
type stream interface {
	// event handles one event; data is only valid during the call.
	event(name, data []byte)
	// result returns what the stream said so far.
	result() *response
}

// parseRequest parses a request body. When the body was not read (too
// large), the result has what the path says.
func parseRequest(ep endpoint, body bodyText) (r *request) {
	r = &request{}
	defer func() {
		if recover() != nil {
			r = &request{}
		}
		if r.model == "" {
			r.model = ep.pathModel
		}
		if ep.pathStream {
			r.stream = true
		}
	}()
	if !body.ok {
		return r
	}
	ep.op.request(body.text, r)
	normalizeRoles(r.messages)
	return r
}

// requestModel returns the model a request names, as parseRequest reads
// it, reading nothing else and keeping nothing: the body is only scanned.
func requestModel(ep endpoint, body bodyText) string {
	var model string
	if body.ok && !ep.op.modelInPath {
		var d decoder
		d.Reset(body.text)
		if d.Object() {
			for d.NextKey() {
				if d.Key() == "model" {
					model = d.Str()
				} else {
					d.Skip()
				}
			}
		}
		if d.Finish() != nil {
			model = ""
		}
		if ep.op.modelPrefix != "" {
			model = strings.TrimPrefix(model, ep.op.modelPrefix)
		}
	}
	if model == "" {
		model = ep.pathModel
	}
	return model
}

// normalizeRoles gives the role "tool" to a message made only of tool
// results, as Anthropic and Gemini send them in user messages.
func normalizeRoles(msgs []message) {
	for i := range msgs {
		m := &msgs[i]
		if len(m.parts) == 0 || m.role == "tool" {
			continue
		}
		all := true
		for _, p := range m.parts {
			if p.kind != "tool_call_response" {
				all = false
				break
			}
		}
		if all {
			m.role = "tool"
		}
	}
}

// parseResponse parses a whole successful response body of op; nil if it
// does not parse.
func parseResponse(op *operation, body string) (r *response) {
	defer func() {
		if recover() != nil {
			r = nil
		}
	}()
	return op.response(body)
}

// newStream returns the accumulator for op's streams, nil if op does not
// stream.
func newStream(op *operation) stream {
	if op.stream == nil {
		return nil
	}
	return op.stream()
}

// safeEvent passes one event to s, recovering from a panic.
func safeEvent(s stream, name, data []byte) {
	defer func() { _ = recover() }()
	s.event(name, data)
}

// safeResult returns s's result, or nil if it panics.
func safeResult(s stream) (r *response) {
	defer func() {
		if recover() != nil {
			r = nil
		}
	}()
	return s.result()
}

// errorBody is the union of the providers' error bodies:
// OpenAI {"error": {"message", "type", "code"}}, Anthropic {"type":
// "error", "error": {"type", "message"}}, Gemini {"error": {"code",
// "message", "status"}}, AWS {"__type", "message"}. Gemini sends it as a
// one-element array in streamGenerateContent without alt=sse.
type errorBody struct {
	Error   *errorObject
	Message string
	Type    string // AWS's __type
}

type errorObject struct {
	Message string
	Type    string
	Status  string
	Code    string // JSON text
}

func (in *errorBody) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "error":
			in.Error = decodeOptional(d, (*errorObject).decode)
		case "message", "Message":
			in.Message = d.Str()
		case "__type":
			in.Type = d.Str()
		default:
			d.Skip()
		}
	}
}

func (e *errorObject) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "message":
			e.Message = d.Str()
		case "type":
			e.Type = d.Str()
		case "status":
			e.Status = d.Str()
		case "code":
			e.Code = d.Raw()
		default:
			d.Skip()
		}
	}
}

// parseError returns the error type and message of an error response
// body, as the provider reports them; empty if the body says neither.
func parseError(body string) (kind, msg string) {
	defer func() {
		if recover() != nil {
			kind, msg = "", ""
		}
	}()
	var in errorBody
	if len(body) > 0 && body[0] == '[' {
		var list []errorBody
		if !decodeBody(body, func(d *decoder) { list = decodeList(d, (*errorBody).decode) }) || len(list) == 0 {
			return "", ""
		}
		in = list[0]
	} else if !decodeBody(body, in.decode) {
		return "", ""
	}
	if e := in.Error; e != nil {
		kind = e.Type
		if kind == "" {
			kind = e.Status
		}
		if kind == "" {
			if s, ok := rawString(e.Code); ok {
				kind = s
			}
		}
		return kind, e.Message
	}
	return awsErrorType(in.Type), in.Message
}

// awsErrorType is the name of an AWS error type, which may come with a
// namespace ("com.amazon.bedrock#ThrottlingException") or a URL after a
// colon.
func awsErrorType(t string) string {
	if i := strings.LastIndexByte(t, '#'); i >= 0 {
		t = t[i+1:]
	}
	t, _, _ = strings.Cut(t, ":")
	return t
}

// statusKind is the error type of an HTTP status without a better one.
func statusKind(status int) string {
	return strconv.Itoa(status)
}
