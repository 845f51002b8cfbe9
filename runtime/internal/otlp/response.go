package otlp

import (
	"cmp"
	"encoding/json"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// PartialSuccess is the error of an export the server accepted with some
// spans rejected, or with a warning (Rejected 0, a Message).
type PartialSuccess struct {
	Rejected int64
	Message  string
}

func (p *PartialSuccess) Error() string {
	msg := p.Message
	if msg == "" {
		msg = "no message"
	}
	return fmt.Sprintf("server accepted the request but rejected %d spans: %s", p.Rejected, msg)
}

// mediaType is the media type of a Content-Type header, lower-cased, or
// "" when it cannot be parsed.
func mediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return mt
}

// parsePartialSuccess reads the partial_success of an
// ExportTraceServiceResponse, protobuf or JSON as contentType says. It is
// nil when the body holds none (or cannot be read, which an accepted
// export does not make a failure).
func parsePartialSuccess(contentType string, body []byte) *PartialSuccess {
	var p PartialSuccess
	switch mediaType(contentType) {
	case "application/x-protobuf", "application/protobuf":
		inner, ok := protoField(body, 1)
		if !ok {
			return nil
		}
		p.Rejected = int64(protoVarint(inner, 1))
		p.Message, _ = protoStringField(inner, 2)
	case "application/json":
		var resp struct {
			PartialSuccess  *jsonPartialSuccess `json:"partialSuccess"`
			PartialSuccess2 *jsonPartialSuccess `json:"partial_success"`
		}
		if json.Unmarshal(body, &resp) != nil {
			return nil
		}
		ps := resp.PartialSuccess
		if ps == nil {
			ps = resp.PartialSuccess2
		}
		if ps == nil {
			return nil
		}
		p.Rejected = jsonInt(ps.RejectedSpans, ps.RejectedSpans2)
		p.Message = ps.ErrorMessage + ps.ErrorMessage2
	default:
		return nil
	}
	if p.Rejected == 0 && p.Message == "" {
		return nil
	}
	return &p
}

// jsonPartialSuccess is ExportTracePartialSuccess in JSON, under its
// lowerCamelCase or its original field names (receivers of the protobuf
// JSON mapping accept both, so servers may send either).
type jsonPartialSuccess struct {
	RejectedSpans  any    `json:"rejectedSpans"`
	RejectedSpans2 any    `json:"rejected_spans"`
	ErrorMessage   string `json:"errorMessage"`
	ErrorMessage2  string `json:"error_message"`
}

// jsonInt is the first of values that is an int64 as the protobuf JSON
// mapping writes one: a number, or a string holding one.
func jsonInt(values ...any) int64 {
	for _, v := range values {
		switch x := v.(type) {
		case float64:
			return int64(x)
		case string:
			if n, err := strconv.ParseInt(x, 10, 64); err == nil {
				return n
			}
		}
	}
	return 0
}

// errorMessage is the message of an error answer's body: the message of a
// google.rpc.Status (protobuf or JSON), which OTLP servers send, or else
// the body itself when it is readable text, cut to 256 bytes.
func errorMessage(contentType string, body []byte) string {
	var msg string
	switch mediaType(contentType) {
	case "application/x-protobuf", "application/protobuf":
		msg, _ = protoStringField(body, 2)
	case "application/json":
		// A google.rpc.Status in JSON has "message"; some servers say
		// "error".
		var status struct {
			Message string `json:"message"`
			Error   string `json:"error"`
		}
		if json.Unmarshal(body, &status) == nil {
			msg = cmp.Or(status.Message, status.Error)
		}
	}
	if msg == "" && readableText(body) {
		msg = string(body)
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > 256 {
		msg = strings.ToValidUTF8(msg[:256], "") + "..."
	}
	return msg
}

// readableText reports whether body is UTF-8 text without control
// characters other than white space.
func readableText(body []byte) bool {
	if !utf8.Valid(body) {
		return false
	}
	for _, r := range string(body) {
		if unicode.IsControl(r) && !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// protoField is the content of the last length-delimited field num of a
// protobuf message, and whether there is one.
func protoField(msg []byte, num protowire.Number) ([]byte, bool) {
	var found []byte
	ok := false
	walkProto(msg, func(n protowire.Number, typ protowire.Type, v []byte, _ uint64) {
		if n == num && typ == protowire.BytesType {
			found, ok = v, true
		}
	})
	return found, ok
}

// protoStringField is field num of msg as a string, when it is valid
// UTF-8.
func protoStringField(msg []byte, num protowire.Number) (string, bool) {
	v, ok := protoField(msg, num)
	if !ok || !utf8.Valid(v) {
		return "", false
	}
	return string(v), true
}

// protoVarint is the last varint field num of msg, or 0.
func protoVarint(msg []byte, num protowire.Number) uint64 {
	var found uint64
	walkProto(msg, func(n protowire.Number, typ protowire.Type, _ []byte, x uint64) {
		if n == num && typ == protowire.VarintType {
			found = x
		}
	})
	return found
}

// walkProto calls visit for each field of a protobuf message, with its
// content (length-delimited fields) or value (varints), and stops at the
// first malformed field.
func walkProto(msg []byte, visit func(protowire.Number, protowire.Type, []byte, uint64)) {
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return
		}
		msg = msg[n:]
		switch typ {
		case protowire.BytesType:
			v, m := protowire.ConsumeBytes(msg)
			if m < 0 {
				return
			}
			visit(num, typ, v, 0)
			n = m
		case protowire.VarintType:
			x, m := protowire.ConsumeVarint(msg)
			if m < 0 {
				return
			}
			visit(num, typ, nil, x)
			n = m
		default:
			n = protowire.ConsumeFieldValue(num, typ, msg)
			if n < 0 {
				return
			}
		}
		msg = msg[n:]
	}
}
