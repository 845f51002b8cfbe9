package llmcapture

import "bytes"

// sseParser splits a server-sent event stream into events as its bytes
// arrive, in whatever pieces: it is fed what the caller reads and keeps the
// unfinished line between reads. An event whose data grows past max is
// dropped, and so is a line longer than max.
type sseParser struct {
	max     int
	line    []byte // the unfinished line
	skip    bool   // the unfinished line is over max: drop it
	lastCR  bool   // the last piece ended with '\r': a leading '\n' ends that line
	event   []byte
	data    []byte
	hasData bool
	dropped bool // the current event's data went over max
	onEvent func(name, data []byte)
}

// feed parses the next piece of the stream.
func (p *sseParser) feed(b []byte) {
	if p.lastCR {
		p.lastCR = false
		if len(b) > 0 && b[0] == '\n' {
			b = b[1:]
		}
	}
	for len(b) > 0 {
		i := bytes.IndexAny(b, "\r\n")
		if i < 0 {
			p.keep(b)
			return
		}
		if len(p.line) == 0 && !p.skip {
			p.processLine(b[:i])
		} else {
			p.keep(b[:i])
			if !p.skip {
				p.processLine(p.line)
			}
			p.line, p.skip = p.line[:0], false
		}
		if b[i] == '\r' {
			if i+1 == len(b) {
				p.lastCR = true
			} else if b[i+1] == '\n' {
				i++
			}
		}
		b = b[i+1:]
	}
}

// keep adds b to the unfinished line.
func (p *sseParser) keep(b []byte) {
	if p.skip {
		return
	}
	if len(p.line)+len(b) > p.max {
		p.line, p.skip = p.line[:0], true
		return
	}
	p.line = append(p.line, b...)
}

// end dispatches an event the stream ended without a blank line after.
func (p *sseParser) end() {
	if len(p.line) > 0 && !p.skip {
		p.processLine(p.line)
		p.line = p.line[:0]
	}
	p.processLine(nil)
}

func (p *sseParser) processLine(line []byte) {
	if len(line) == 0 {
		if p.hasData && !p.dropped {
			p.onEvent(p.event, p.data)
		}
		p.event, p.data, p.hasData, p.dropped = p.event[:0], p.data[:0], false, false
		return
	}
	if line[0] == ':' {
		return // a comment
	}
	field, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		field, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(field) {
	case "event":
		p.event = append(p.event[:0], value...)
	case "data":
		if p.dropped {
			return
		}
		if len(p.data)+len(value)+1 > p.max {
			p.dropped = true
			p.hasData = true
			return
		}
		if p.hasData {
			p.data = append(p.data, '\n')
		}
		p.data = append(p.data, value...)
		p.hasData = true
	}
}
