// Package redact holds the rules that keep secrets out of span attributes:
// which key and field names are secret, and how free text (error messages)
// is scrubbed of credentials. The serializer and the provider capture share
// these rules so a value is redacted the same way wherever it is recorded.
package redact

import "unicode/utf8"

// Placeholder replaces the value of a secret-named key or field.
const Placeholder = "<redacted>"

// MaxMessageChars is the length, in characters, that [Message] cuts an
// error message to.
const MaxMessageChars = 1024

// scanLimit bounds how much of a message is scrubbed: far more than
// MaxMessageChars survives anyway, and regular expressions over megabytes of
// text would cost the failing call real time.
const scanLimit = 8 * MaxMessageChars

// Message scrubs s with [Scrub] and cuts it to [MaxMessageChars] characters,
// marking a cut with "…". It is how error and panic messages are recorded.
func Message(s string) string {
	if len(s) > scanLimit {
		s = cutValid(s, scanLimit)
	}
	return Shorten(Scrub(s), MaxMessageChars)
}

// Shorten returns s if it has at most max characters (runes), else its
// first max-1 characters followed by "…", so the result has max.
func Shorten(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// cutValid cuts s to at most n bytes without splitting a UTF-8 sequence.
func cutValid(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
