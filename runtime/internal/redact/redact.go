// Package redact holds the rules that keep secrets out of span attributes:
// which key and field names are secret, and how free text (error messages)
// is scrubbed of credentials. The serializer and the provider capture share
// these rules so a value is redacted the same way wherever it is recorded.
package redact

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Placeholder replaces the value of a secret-named key or field.
const Placeholder = "<redacted>"

// secretWords are the fragments that make a key secret when they appear in
// its lower-cased name, with '-' read as '_' (so "X-Api-Key" matches
// "api_key" and "apiKey" matches "apikey"). The first eight are the Python
// SDK's list; the rest are common spellings of the same idea.
var secretWords = []string{
	"password", "secret", "token", "credential", "authorization",
	"api_key", "apikey", "sensitive",
	"passwd", "private_key", "privatekey",
}

// tokenCounters are the suffixes after "token" (one '_' skipped) that mark
// a count or a setting rather than a credential: max_tokens, token_count,
// tokenizer, token_usage, token_limit, token_type. LLM requests and usage
// records are full of them and they must stay readable.
var tokenCounters = []string{"s", "iz", "count", "usage", "limit", "type"}

// IsSecretKey reports whether a map key, struct field or parameter called
// name holds a secret, so that its value must be replaced by [Placeholder].
func IsSecretKey(name string) bool {
	if len(name) < 5 { // shorter than the shortest secret word
		return false
	}
	// Fast path for the common case: ASCII names that contain none of the
	// first letters of the secret words need no lower-casing.
	if !mayContainSecret(name) {
		return false
	}
	lower := normalize(name)
	for _, w := range secretWords {
		if w == "token" {
			if hasSecretToken(lower) {
				return true
			}
			continue
		}
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

// mayContainSecret is a cheap pre-check: every secret word contains one of
// the letters p, s, t, c, a (in either case).
func mayContainSecret(name string) bool {
	for i := 0; i < len(name); i++ {
		switch name[i] | 0x20 {
		case 'p', 's', 't', 'c', 'a':
			return true
		}
		if name[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

func normalize(name string) string {
	lower := strings.ToLower(name)
	if strings.IndexByte(lower, '-') >= 0 {
		lower = strings.ReplaceAll(lower, "-", "_")
	}
	return lower
}

// hasSecretToken reports whether lower contains "token" not followed by one
// of tokenCounters.
func hasSecretToken(lower string) bool {
	rest := lower
	for {
		i := strings.Index(rest, "token")
		if i < 0 {
			return false
		}
		after := strings.TrimPrefix(rest[i+len("token"):], "_")
		counter := false
		for _, c := range tokenCounters {
			if strings.HasPrefix(after, c) {
				counter = true
				break
			}
		}
		if !counter {
			return true
		}
		rest = rest[i+len("token"):]
	}
}

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

var (
	// authScheme matches "Bearer xyz" and "Basic xyz" credentials.
	authScheme = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{6,}`)
	// keyPrefix matches the key and separator of key=value, key: value and
	// "key":"value" pairs; the key decides (through IsSecretKey) whether
	// the value after it is replaced.
	keyPrefix = regexp.MustCompile(`([A-Za-z0-9_.-]+)["']?\s*[:=]\s*["']?`)
	// userinfo matches the password of a URL such as https://u:p@host.
	userinfo = regexp.MustCompile(`(://[^/\s:@]+:)([^/\s@]+)(@)`)
	// knownTokens matches credentials recognisable by their shape: OpenAI
	// and Anthropic keys (sk-...), Google API keys (AIza...), GitHub and
	// Slack tokens, AWS access key ids and JSON Web Tokens.
	knownTokens = regexp.MustCompile(`\b(?:sk-[A-Za-z0-9_-]{16,}|AIza[0-9A-Za-z_-]{30,}|gh[pousr]_[A-Za-z0-9]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})`)
)

// Scrub replaces the credentials it recognises in free text with
// [Placeholder]: values of secret-named keys (api_key=..., "password": ...),
// Bearer and Basic credentials, URL passwords, and keys with a known shape
// (sk-..., AIza..., ghp_..., AKIA..., JSON Web Tokens). It is best-effort:
// it cannot know every secret, so callers should not put secrets in error
// messages in the first place.
func Scrub(s string) string {
	if s == "" {
		return s
	}
	s = knownTokens.ReplaceAllString(s, Placeholder)
	s = authScheme.ReplaceAllString(s, "${1}${2}"+Placeholder)
	s = userinfo.ReplaceAllString(s, "${1}"+Placeholder+"${3}")
	if !mayContainSecret(s) {
		return s
	}
	return scrubKeyValues(s)
}

// scrubKeyValues replaces the values that follow secret-named keys.
func scrubKeyValues(s string) string {
	var out strings.Builder
	last := 0
	for _, m := range keyPrefix.FindAllStringSubmatchIndex(s, -1) {
		if m[0] < last || !IsSecretKey(s[m[2]:m[3]]) {
			continue
		}
		end := m[1]
		for end < len(s) && !isValueEnd(s[end]) {
			end++
		}
		value := s[m[1]:end]
		if value == "" || value == Placeholder || isAuthScheme(value) {
			continue
		}
		out.WriteString(s[last:m[1]])
		out.WriteString(Placeholder)
		last = end
	}
	if last == 0 {
		return s
	}
	out.WriteString(s[last:])
	return out.String()
}

func isValueEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '&', ',', ';', '}', ']':
		return true
	}
	return false
}

// isAuthScheme reports whether v is the scheme word of an Authorization
// value, whose credential authScheme has already replaced.
func isAuthScheme(v string) bool {
	return strings.EqualFold(v, "bearer") || strings.EqualFold(v, "basic")
}
