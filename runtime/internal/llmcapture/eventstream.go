package llmcapture

import "encoding/binary"

// eventStreamParser splits an AWS event stream (Content-Type
// application/vnd.amazon.eventstream, as Bedrock's ConverseStream
// answers) into events as its bytes arrive, in whatever pieces: it is fed
// what the caller reads. Each message is
//
//	total length (4 bytes, big-endian), headers length (4), prelude CRC (4),
//	headers, payload, message CRC (4)
//
// and each header is a name (1-byte length, then the name), a value type
// (1 byte) and a value whose size the type gives (a string or bytes value
// has a 2-byte length first). The parser passes on the event's type (the
// :event-type header, or :exception-type for an exception, :error-code for
// an error) and its payload (for an error, {"message": :error-message}).
// It does not check the CRCs: the client does, and the capture only
// observes. A message larger than max is skipped; a message that cannot be
// one (shorter than its own prelude and CRC) ends the parsing, as the
// client fails there too.
type eventStreamParser struct {
	max     int
	buf     []byte // the unfinished message
	skip    int    // bytes left of a message over max
	broken  bool
	onEvent func(name, data []byte)
}

// The sizes of a message's fixed parts.
const (
	esPrelude = 12 // total length, headers length, prelude CRC
	esTrailer = 4  // message CRC
)

// feed parses the next piece of the stream.
func (p *eventStreamParser) feed(b []byte) {
	for len(b) > 0 && !p.broken {
		if p.skip > 0 {
			n := min(p.skip, len(b))
			p.skip -= n
			b = b[n:]
			continue
		}
		if len(p.buf) == 0 && len(b) >= esPrelude {
			// The common case: whole messages in the piece, parsed in place.
			total := int(binary.BigEndian.Uint32(b))
			if total <= len(b) && total <= p.max && p.valid(total) {
				p.message(b[:total])
				b = b[total:]
				continue
			}
		}
		b = p.gather(b)
	}
}

// gather adds the start of b to the unfinished message, parses the message
// if that completes it, and returns the rest of b.
func (p *eventStreamParser) gather(b []byte) []byte {
	if len(p.buf) < esPrelude {
		n := min(esPrelude-len(p.buf), len(b))
		p.buf = append(p.buf, b[:n]...)
		b = b[n:]
		if len(p.buf) < esPrelude {
			return b
		}
	}
	total := int(binary.BigEndian.Uint32(p.buf))
	if !p.valid(total) {
		return nil
	}
	if total > p.max {
		p.skip = total - len(p.buf)
		p.buf = p.buf[:0]
		return b
	}
	n := min(total-len(p.buf), len(b))
	p.buf = append(p.buf, b[:n]...)
	if len(p.buf) == total {
		p.message(p.buf)
		p.buf = p.buf[:0]
	}
	return b[n:]
}

// valid reports whether total can be a message's length, and marks the
// stream broken if not.
func (p *eventStreamParser) valid(total int) bool {
	if total < esPrelude+esTrailer {
		p.broken, p.buf = true, nil
		return false
	}
	return true
}

// end is called when the stream ends: an unfinished message is dropped.
func (p *eventStreamParser) end() { p.buf = nil }

// message parses one whole message and passes its event on.
func (p *eventStreamParser) message(m []byte) {
	headersLen := int(binary.BigEndian.Uint32(m[4:]))
	if esPrelude+headersLen+esTrailer > len(m) {
		return
	}
	headers := m[esPrelude : esPrelude+headersLen]
	payload := m[esPrelude+headersLen : len(m)-esTrailer]
	var messageType, eventType, exceptionType, errorCode, errorMessage []byte
	ok := eachHeader(headers, func(name, value []byte) {
		switch string(name) {
		case ":message-type":
			messageType = value
		case ":event-type":
			eventType = value
		case ":exception-type":
			exceptionType = value
		case ":error-code":
			errorCode = value
		case ":error-message":
			errorMessage = value
		}
	})
	if !ok {
		return
	}
	switch string(messageType) {
	case "event":
		p.onEvent(eventType, payload)
	case "exception":
		p.onEvent(exceptionType, payload)
	case "error":
		p.onEvent(errorCode, append(appendString([]byte(`{"message":`), string(errorMessage)), '}'))
	}
}

// eachHeader calls fn with the name of each header and the value of those
// whose value is a string; it reports whether the headers parsed.
func eachHeader(h []byte, fn func(name, value []byte)) bool {
	for len(h) > 0 {
		n := int(h[0])
		if len(h) < 1+n+1 {
			return false
		}
		name := h[1 : 1+n]
		typ := h[1+n]
		h = h[2+n:]
		size, ok := esValueSize(typ, h)
		if !ok || size > len(h) {
			return false
		}
		if typ == esString {
			fn(name, h[2:size])
		}
		h = h[size:]
	}
	return true
}

// The header value types.
const (
	esTrue = iota
	esFalse
	esByte
	esShort
	esInt
	esLong
	esBytes
	esString
	esTimestamp
	esUUID
)

// esValueSize returns the size of a header value of type typ at the start
// of h, its length prefix included.
func esValueSize(typ byte, h []byte) (int, bool) {
	switch typ {
	case esTrue, esFalse:
		return 0, true
	case esByte:
		return 1, true
	case esShort:
		return 2, true
	case esInt:
		return 4, true
	case esLong, esTimestamp:
		return 8, true
	case esUUID:
		return 16, true
	case esBytes, esString:
		if len(h) < 2 {
			return 0, false
		}
		return 2 + int(binary.BigEndian.Uint16(h)), true
	}
	return 0, false
}
