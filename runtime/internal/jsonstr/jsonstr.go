// Package jsonstr writes Go strings as JSON strings, the one escaper the
// runtime's encoders share: invalid UTF-8 becomes U+FFFD, control
// characters, quotes and backslashes are escaped, and so are U+2028 and
// U+2029, which end lines in JavaScript. The characters <, > and & are
// escaped only when asked, for JSON that may be embedded in HTML.
package jsonstr

import "unicode/utf8"

// safe reports, for each ASCII byte, whether it is written as it is:
// plain for JSON only, html for JSON that may sit in a <script> element.
var plain, html [utf8.RuneSelf]bool

func init() {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		plain[c] = c != '"' && c != '\\'
		html[c] = plain[c] && c != '<' && c != '>' && c != '&'
	}
}

const hexDigits = "0123456789abcdef"

// Append appends s to b as a quoted JSON string; escapeHTML also escapes
// <, > and &.
func Append(b []byte, s string, escapeHTML bool) []byte {
	b = append(b, '"')
	b = AppendContent(b, s, escapeHTML)
	return append(b, '"')
}

// AppendContent appends s to b escaped as [Append] does, without the
// quotes.
func AppendContent(b []byte, s string, escapeHTML bool) []byte {
	safe := &plain
	if escapeHTML {
		safe = &html
	}
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = appendEscaped(b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}

// appendEscaped appends the escape of the ASCII byte c.
func appendEscaped(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
}
