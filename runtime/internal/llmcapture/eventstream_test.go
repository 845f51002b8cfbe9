package llmcapture

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
)

// esMessage encodes one AWS event stream message with string headers.
func esMessage(headers [][2]string, payload string) []byte {
	return esMessageRaw(nil, headers, payload)
}

// esMessageRaw encodes a message whose headers start with raw, encoded
// headers.
func esMessageRaw(raw []byte, headers [][2]string, payload string) []byte {
	h := append([]byte(nil), raw...)
	for _, kv := range headers {
		h = append(h, byte(len(kv[0])))
		h = append(h, kv[0]...)
		h = append(h, esString)
		h = binary.BigEndian.AppendUint16(h, uint16(len(kv[1])))
		h = append(h, kv[1]...)
	}
	total := esPrelude + len(h) + len(payload) + esTrailer
	m := binary.BigEndian.AppendUint32(nil, uint32(total))
	m = binary.BigEndian.AppendUint32(m, uint32(len(h)))
	m = binary.BigEndian.AppendUint32(m, crc32.ChecksumIEEE(m))
	m = append(m, h...)
	m = append(m, payload...)
	return binary.BigEndian.AppendUint32(m, crc32.ChecksumIEEE(m))
}

func esEvent(kind, payload string) []byte {
	return esMessage([][2]string{{":message-type", "event"}, {":event-type", kind}, {":content-type", "application/json"}}, payload)
}

// esStream is a stream of three events, an exception and an error.
func esStream() []byte {
	var b []byte
	b = append(b, esEvent("messageStart", `{"role":"assistant"}`)...)
	// Headers of other types before the strings.
	other := []byte{1, 'a', esTrue, 1, 'b', esInt, 0, 0, 0, 1, 1, 'c', esBytes, 0, 2, 'x', 'y', 1, 'd', esUUID}
	other = append(other, make([]byte, 16)...)
	b = append(b, esMessageRaw(other, [][2]string{{":message-type", "event"}, {":event-type", "contentBlockDelta"}}, `{"contentBlockIndex":0,"delta":{"text":"Hi"}}`)...)
	b = append(b, esEvent("messageStop", `{"stopReason":"end_turn"}`)...)
	b = append(b, esMessage([][2]string{{":message-type", "exception"}, {":exception-type", "throttlingException"}}, `{"message":"slow down"}`)...)
	b = append(b, esMessage([][2]string{{":message-type", "error"}, {":error-code", "InternalFailure"}, {":error-message", `it "broke"`}}, "")...)
	return b
}

const esWant = `messageStart {"role":"assistant"}|contentBlockDelta {"contentBlockIndex":0,"delta":{"text":"Hi"}}|messageStop {"stopReason":"end_turn"}|throttlingException {"message":"slow down"}|InternalFailure {"message":"it \"broke\""}|`

// esParse feeds stream to a parser in pieces of n bytes and returns the
// events it passed on.
func esParse(stream []byte, n, max int) string {
	var got strings.Builder
	p := &eventStreamParser{max: max, onEvent: func(name, data []byte) {
		fmt.Fprintf(&got, "%s %s|", name, data)
	}}
	for len(stream) > 0 {
		k := min(n, len(stream))
		p.feed(stream[:k])
		stream = stream[k:]
	}
	p.end()
	return got.String()
}

func TestEventStreamParser(t *testing.T) {
	t.Parallel()
	stream := esStream()
	for _, n := range []int{1, 2, 3, 7, 12, 13, 64, len(stream)} {
		if got := esParse(stream, n, 1<<20); got != esWant {
			t.Errorf("pieces of %d:\n\tgot  %s\n\twant %s", n, got, esWant)
		}
	}
}

// TestEventStreamParserLimits: a message over max is skipped, the rest
// parsed; a length that cannot be a message's ends the parsing.
func TestEventStreamParserLimits(t *testing.T) {
	t.Parallel()
	big := esEvent("contentBlockDelta", `{"delta":{"text":"`+strings.Repeat("x", 500)+`"}}`)
	stream := append(append(esEvent("messageStart", `{}`), big...), esEvent("messageStop", `{}`)...)
	for _, n := range []int{1, 5, len(stream)} {
		if got, want := esParse(stream, n, 300), "messageStart {}|messageStop {}|"; got != want {
			t.Errorf("pieces of %d: got %s, want %s", n, got, want)
		}
	}
	broken := append(esEvent("messageStart", `{}`), 0, 0, 0, 3, 0, 0, 0, 0)
	broken = append(broken, esEvent("messageStop", `{}`)...)
	if got, want := esParse(broken, 4, 300), "messageStart {}|"; got != want {
		t.Errorf("broken stream: got %s, want %s", got, want)
	}
}

// FuzzEventStreamParser: any bytes, in any pieces, parse without a panic,
// and a valid stream gives the same events however it is cut.
func FuzzEventStreamParser(f *testing.F) {
	f.Add(esStream(), uint8(5))
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 9, 1, 2, 3, 4, 5}, uint8(1))
	f.Fuzz(func(t *testing.T, stream []byte, n uint8) {
		esParse(stream, int(n)+1, 1<<10)
	})
}
