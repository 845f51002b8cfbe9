// Package otlpin decodes OTLP/HTTP trace export requests, protobuf or
// JSON, gzipped or not, into trace/v1.TracesData (the same message, on the
// wire, as ExportTraceServiceRequest, without the gRPC service package),
// and encodes the responses the OTLP/HTTP specification asks for.
package otlpin

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Encoding is a request's body format.
type Encoding int

// The OTLP/HTTP body formats.
const (
	Protobuf Encoding = iota
	JSON
)

// Errors a caller maps to HTTP statuses.
var (
	// ErrTooLarge: the body, or what it decompresses to, is over the limit
	// (413).
	ErrTooLarge = errors.New("request body too large")
	// ErrMediaType: a Content-Type or Content-Encoding that OTLP/HTTP
	// does not use (415).
	ErrMediaType = errors.New("unsupported media type")
)

// ContentEncoding returns the format a Content-Type names.
func ContentEncoding(contentType string) (Encoding, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil && contentType != "" {
		return 0, fmt.Errorf("%w: Content-Type %q: %v", ErrMediaType, contentType, err)
	}
	switch mt {
	case "application/x-protobuf", "application/protobuf":
		return Protobuf, nil
	case "application/json":
		return JSON, nil
	}
	return 0, fmt.Errorf("%w: Content-Type %q (OTLP/HTTP sends application/x-protobuf or application/json)", ErrMediaType, contentType)
}

// Decode reads a request body of the given Content-Encoding ("" or
// "gzip") and format, reading at most limit bytes of it and decompressing
// it to at most limit bytes.
func Decode(body io.Reader, contentEncoding string, enc Encoding, limit int64) (*tracepb.TracesData, error) {
	raw, err := readBody(body, contentEncoding, limit)
	if err != nil {
		return nil, err
	}
	td := &tracepb.TracesData{}
	if enc == JSON {
		err = decodeJSON(raw, td)
	} else {
		err = proto.Unmarshal(raw, td)
	}
	if err != nil {
		return nil, fmt.Errorf("decode OTLP %s: %w", enc, err)
	}
	return td, nil
}

func (e Encoding) String() string {
	if e == JSON {
		return "JSON"
	}
	return "protobuf"
}

// readBody reads the whole body, decompressed.
func readBody(body io.Reader, contentEncoding string, limit int64) ([]byte, error) {
	raw, err := readAtMost(body, limit)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(strings.TrimSpace(contentEncoding)) {
	case "", "identity":
		return raw, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		out, err := readAtMost(zr, limit)
		if err != nil && !errors.Is(err, ErrTooLarge) {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		return out, err
	}
	return nil, fmt.Errorf("%w: Content-Encoding %q (OTLP/HTTP sends gzip or none)", ErrMediaType, contentEncoding)
}

// readAtMost reads r to its end, failing with ErrTooLarge past limit bytes.
func readAtMost(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, limit)
	}
	return b, nil
}

// decodeJSON decodes OTLP/JSON. It differs from the protobuf JSON
// mapping in one way protojson does not know: trace and span IDs are hex,
// not base64. The IDs are turned into base64 before protojson reads the
// message.
func decodeJSON(raw []byte, td *tracepb.TracesData) error {
	var doc any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		return err
	}
	if d.More() {
		return errors.New("data after the JSON object")
	}
	fixIDs(doc)
	fixed, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(fixed, td)
}

// idKeys are the OTLP/JSON fields that hold hex IDs, in both spellings
// protojson accepts.
var idKeys = map[string]bool{
	"traceId": true, "trace_id": true,
	"spanId": true, "span_id": true,
	"parentSpanId": true, "parent_span_id": true,
}

// fixIDs rewrites, everywhere in v, the hex strings of ID fields as
// base64. Strings that are not hex are left for protojson to judge.
func fixIDs(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && idKeys[k] {
				if b, err := hex.DecodeString(s); err == nil {
					v[k] = base64.StdEncoding.EncodeToString(b)
				}
				continue
			}
			fixIDs(x)
		}
	case []any:
		for _, x := range v {
			fixIDs(x)
		}
	}
}

// Response is the body of a successful export response in enc: an
// ExportTraceServiceResponse, with partial_success when rejected > 0.
func Response(enc Encoding, rejected int64, message string) []byte {
	if enc == JSON {
		if rejected == 0 {
			return []byte("{}")
		}
		b, _ := json.Marshal(map[string]any{"partialSuccess": map[string]any{
			"rejectedSpans": fmt.Sprint(rejected), "errorMessage": message,
		}})
		return b
	}
	if rejected == 0 {
		return nil
	}
	// ExportTracePartialSuccess{rejected_spans = 1, error_message = 2} in
	// field 1 of ExportTraceServiceResponse.
	var ps []byte
	ps = protowire.AppendTag(ps, 1, protowire.VarintType)
	ps = protowire.AppendVarint(ps, uint64(rejected))
	ps = protowire.AppendTag(ps, 2, protowire.BytesType)
	ps = protowire.AppendString(ps, message)
	var out []byte
	out = protowire.AppendTag(out, 1, protowire.BytesType)
	return protowire.AppendBytes(out, ps)
}

// Status is an error body in enc: a google.rpc.Status for protobuf (what
// OTLP exporters decode and log), {"error": message} for JSON.
func Status(enc Encoding, grpcCode int, message string) []byte {
	if enc == JSON {
		b, _ := json.Marshal(map[string]any{"error": message, "code": grpcCode})
		return b
	}
	var out []byte
	out = protowire.AppendTag(out, 1, protowire.VarintType)
	out = protowire.AppendVarint(out, uint64(grpcCode))
	out = protowire.AppendTag(out, 2, protowire.BytesType)
	return protowire.AppendString(out, message)
}
