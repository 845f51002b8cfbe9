package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math"
	"strconv"
	"unicode/utf8"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// Attribute keys the store reads to classify and summarize spans.
const (
	keySpanType      = "overmind.span.type"
	keyStatus        = "overmind.status"
	keyGenAIOp       = "gen_ai.operation.name"
	keyInputTokens   = "gen_ai.usage.input_tokens"
	keyOutputTokens  = "gen_ai.usage.output_tokens"
	keyServiceName   = "service.name"
	spanTypeLLM      = "llm_call"
	spanTypeTool     = "tool_call"
	genAIExecuteTool = "execute_tool"
)

// spanRow is one span as the spans table stores it.
type spanRow struct {
	traceID, spanID, parentID []byte
	name                      string
	kind                      int32
	spanType, operation       string
	startNs, endNs            int64
	statusCode                int32
	statusMessage             string
	attributes, events, links []byte // JSON
	resource                  *resourceRow
	scopeName, scopeVersion   string
	serviceName               string
	status                    string // overmind.status, else from the status code
	failed                    bool
	inputTokens, outputTokens int64
	hasInputTok, hasOutputTok bool
	llm                       bool
	receivedNs                int64
}

// resourceRow is a resource's attributes, stored once for all its spans.
type resourceRow struct {
	hash  []byte
	attrs []byte // JSON
	id    int64  // its row, once resolved
}

// rowsOf flattens an export request into span rows. Spans without a valid
// trace or span ID cannot be stored and are counted as rejected.
func rowsOf(td *tracepb.TracesData, receivedNs int64) (rows []spanRow, rejected int64) {
	for _, rs := range td.GetResourceSpans() {
		resAttrs := attrsJSON(rs.GetResource().GetAttributes())
		sum := sha256.Sum256(resAttrs)
		res := &resourceRow{hash: sum[:], attrs: resAttrs}
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == keyServiceName {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				if len(s.GetTraceId()) != 16 || len(s.GetSpanId()) != 8 || allZero(s.GetTraceId()) || allZero(s.GetSpanId()) {
					rejected++
					continue
				}
				r := rowOf(s)
				r.resource = res
				r.serviceName = service
				r.scopeName = ss.GetScope().GetName()
				r.scopeVersion = ss.GetScope().GetVersion()
				r.receivedNs = receivedNs
				rows = append(rows, r)
			}
		}
	}
	return rows, rejected
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// rowOf maps one span's own fields.
func rowOf(s *tracepb.Span) spanRow {
	r := spanRow{
		traceID:       s.GetTraceId(),
		spanID:        s.GetSpanId(),
		name:          s.GetName(),
		kind:          int32(s.GetKind()),
		startNs:       int64(s.GetStartTimeUnixNano()),
		endNs:         int64(s.GetEndTimeUnixNano()),
		statusCode:    int32(s.GetStatus().GetCode()),
		statusMessage: s.GetStatus().GetMessage(),
		attributes:    attrsJSON(s.GetAttributes()),
		events:        eventsJSON(s.GetEvents(), s.GetDroppedEventsCount()),
		links:         linksJSON(s.GetLinks(), s.GetDroppedLinksCount()),
	}
	if p := s.GetParentSpanId(); len(p) == 8 && !allZero(p) {
		r.parentID = p
	}
	var ownType, genAIOp string
	for _, kv := range s.GetAttributes() {
		v := kv.GetValue()
		switch kv.GetKey() {
		case keySpanType:
			ownType = v.GetStringValue()
		case keyStatus:
			r.status = v.GetStringValue()
		case keyGenAIOp:
			genAIOp = v.GetStringValue()
		case keyInputTokens:
			r.inputTokens, r.hasInputTok = intValue(v)
		case keyOutputTokens:
			r.outputTokens, r.hasOutputTok = intValue(v)
		}
	}
	r.operation, r.spanType = classify(ownType, genAIOp, s.GetKind())
	r.llm = r.spanType == spanTypeLLM
	if r.status == "" {
		r.status = "success"
		if s.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR {
			r.status = "failed"
		}
	}
	r.failed = r.status == "failed" || s.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR
	return r
}

// classify returns a span's operation and span_type. operation is the
// span's own type (overmind.span.type), else its gen_ai.operation.name,
// else its OpenTelemetry kind; span_type is llm_call for model calls and
// tool_call for every other span, the two values the API knows.
func classify(ownType, genAIOp string, kind tracepb.Span_SpanKind) (operation, spanType string) {
	switch {
	case ownType != "":
		operation = ownType
	case genAIOp != "":
		operation = genAIOp
	default:
		operation = kindName(kind)
	}
	spanType = spanTypeTool
	if ownType == spanTypeLLM || ownType == "" && genAIOp != "" && genAIOp != genAIExecuteTool {
		spanType = spanTypeLLM
	}
	return operation, spanType
}

// kindName is the lower-case name of an OpenTelemetry span kind.
func kindName(k tracepb.Span_SpanKind) string {
	switch k {
	case tracepb.Span_SPAN_KIND_INTERNAL:
		return "internal"
	case tracepb.Span_SPAN_KIND_SERVER:
		return "server"
	case tracepb.Span_SPAN_KIND_CLIENT:
		return "client"
	case tracepb.Span_SPAN_KIND_PRODUCER:
		return "producer"
	case tracepb.Span_SPAN_KIND_CONSUMER:
		return "consumer"
	}
	return "unspecified"
}

// intValue reads a token count, whichever type the sender gave it.
func intValue(v *commonpb.AnyValue) (int64, bool) {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_IntValue:
		return x.IntValue, true
	case *commonpb.AnyValue_DoubleValue:
		if math.IsNaN(x.DoubleValue) || math.IsInf(x.DoubleValue, 0) {
			return 0, false
		}
		return int64(x.DoubleValue), true
	case *commonpb.AnyValue_StringValue:
		n, err := strconv.ParseInt(x.StringValue, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// attrsJSON is an attribute list as a JSON object. A key given twice keeps
// its last value, as OpenTelemetry SDKs do.
func attrsJSON(kvs []*commonpb.KeyValue) []byte {
	var b bytes.Buffer
	writeAttrs(&b, kvs)
	return b.Bytes()
}

func writeAttrs(b *bytes.Buffer, kvs []*commonpb.KeyValue) {
	last := make(map[string]int, len(kvs))
	for i, kv := range kvs {
		last[kv.GetKey()] = i
	}
	b.WriteByte('{')
	first := true
	for i, kv := range kvs {
		if last[kv.GetKey()] != i {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeString(b, kv.GetKey())
		b.WriteByte(':')
		writeValue(b, kv.GetValue())
	}
	b.WriteByte('}')
}

// writeValue writes an AnyValue as JSON: strings, numbers and booleans as
// themselves, arrays and key-value lists as lists and objects, bytes as
// base64, a double that JSON cannot hold as a string, and a missing value
// as null.
func writeValue(b *bytes.Buffer, v *commonpb.AnyValue) {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		writeString(b, x.StringValue)
	case *commonpb.AnyValue_BoolValue:
		b.WriteString(strconv.FormatBool(x.BoolValue))
	case *commonpb.AnyValue_IntValue:
		b.WriteString(strconv.FormatInt(x.IntValue, 10))
	case *commonpb.AnyValue_DoubleValue:
		f := x.DoubleValue
		if math.IsNaN(f) || math.IsInf(f, 0) {
			writeString(b, strconv.FormatFloat(f, 'g', -1, 64))
			return
		}
		b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	case *commonpb.AnyValue_BytesValue:
		writeString(b, base64.StdEncoding.EncodeToString(x.BytesValue))
	case *commonpb.AnyValue_ArrayValue:
		b.WriteByte('[')
		for i, e := range x.ArrayValue.GetValues() {
			if i > 0 {
				b.WriteByte(',')
			}
			writeValue(b, e)
		}
		b.WriteByte(']')
	case *commonpb.AnyValue_KvlistValue:
		writeAttrs(b, x.KvlistValue.GetValues())
	default:
		b.WriteString("null")
	}
}

// writeString writes s as a JSON string, escaped as encoding/json
// escapes it (HTML characters included); invalid UTF-8 becomes U+FFFD.
func writeString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(s[start:i])
			b.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b.WriteString(s[start:i])
			b.WriteString(`\u202`)
			b.WriteByte(hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}

const hexDigits = "0123456789abcdef"

// eventsJSON is a span's events in the API's shape: {} for none, else
// {"items": [{"name", "time_ns", "attributes"}], "dropped": n}.
func eventsJSON(events []*tracepb.Span_Event, dropped uint32) []byte {
	if len(events) == 0 && dropped == 0 {
		return []byte("{}")
	}
	var b bytes.Buffer
	b.WriteString(`{"items":[`)
	for i, e := range events {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"name":`)
		writeString(&b, e.GetName())
		b.WriteString(`,"time_ns":`)
		b.WriteString(strconv.FormatUint(e.GetTimeUnixNano(), 10))
		b.WriteString(`,"attributes":`)
		writeAttrs(&b, e.GetAttributes())
		b.WriteByte('}')
	}
	b.WriteByte(']')
	writeDropped(&b, dropped)
	return b.Bytes()
}

// linksJSON is a span's links in the API's shape: {} for none, else
// {"items": [{"trace_id", "span_id", "trace_state", "attributes"}]}.
func linksJSON(links []*tracepb.Span_Link, dropped uint32) []byte {
	if len(links) == 0 && dropped == 0 {
		return []byte("{}")
	}
	var b bytes.Buffer
	b.WriteString(`{"items":[`)
	for i, l := range links {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"trace_id":`)
		writeString(&b, hex.EncodeToString(l.GetTraceId()))
		b.WriteString(`,"span_id":`)
		writeString(&b, hex.EncodeToString(l.GetSpanId()))
		if ts := l.GetTraceState(); ts != "" {
			b.WriteString(`,"trace_state":`)
			writeString(&b, ts)
		}
		b.WriteString(`,"attributes":`)
		writeAttrs(&b, l.GetAttributes())
		b.WriteByte('}')
	}
	b.WriteByte(']')
	writeDropped(&b, dropped)
	return b.Bytes()
}

func writeDropped(b *bytes.Buffer, dropped uint32) {
	if dropped > 0 {
		b.WriteString(`,"dropped":`)
		b.WriteString(strconv.FormatUint(uint64(dropped), 10))
	}
	b.WriteByte('}')
}
