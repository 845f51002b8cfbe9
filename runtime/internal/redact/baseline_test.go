package redact

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// This file keeps the scrubber as it was before the single-pass scanner
// (regular expressions, and key checks that lower-case into a new string),
// unchanged but for its names, as the baseline of BenchmarkScrub: the
// figures compare both on the same inputs in the same run.

var regexpSecretWords = []string{
	"password", "secret", "token", "credential", "authorization",
	"api_key", "apikey", "sensitive",
	"passwd", "private_key", "privatekey",
}

var regexpTokenCounters = []string{"s", "iz", "count", "usage", "limit", "type"}

var (
	// authScheme matches "Bearer xyz" and "Basic xyz" credentials.
	regexpAuthScheme = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{6,}`)
	// keyPrefix matches the key and separator of key=value, key: value and
	// "key":"value" pairs; the key decides (through IsSecretKey) whether
	// the value after it is replaced.
	regexpKeyPrefix = regexp.MustCompile(`([A-Za-z0-9_.-]+)["']?\s*[:=]\s*["']?`)
	// userinfo matches the password of a URL such as https://u:p@host.
	regexpUserinfo = regexp.MustCompile(`(://[^/\s:@]+:)([^/\s@]+)(@)`)
	// knownTokens matches credentials recognisable by their shape: OpenAI
	// and Anthropic keys (sk-...), Google API keys (AIza...), GitHub and
	// Slack tokens, AWS access key ids and JSON Web Tokens.
	regexpKnownTokens = regexp.MustCompile(`\b(?:sk-[A-Za-z0-9_-]{16,}|AIza[0-9A-Za-z_-]{30,}|gh[pousr]_[A-Za-z0-9]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})`)
)

func regexpIsSecretKey(name string) bool {
	if len(name) < 5 { // shorter than the shortest secret word
		return false
	}
	// Fast path for the common case: ASCII names that contain none of the
	// first letters of the secret words need no lower-casing.
	if !regexpMayContainSecret(name) {
		return false
	}
	lower := regexpNormalize(name)
	for _, w := range regexpSecretWords {
		if w == "token" {
			if regexpHasSecretToken(lower) {
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

func regexpMayContainSecret(name string) bool {
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

func regexpNormalize(name string) string {
	lower := strings.ToLower(name)
	if strings.IndexByte(lower, '-') >= 0 {
		lower = strings.ReplaceAll(lower, "-", "_")
	}
	return lower
}

func regexpHasSecretToken(lower string) bool {
	rest := lower
	for {
		i := strings.Index(rest, "token")
		if i < 0 {
			return false
		}
		after := strings.TrimPrefix(rest[i+len("token"):], "_")
		counter := false
		for _, c := range regexpTokenCounters {
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

func regexpScrub(s string) string {
	if s == "" {
		return s
	}
	s = regexpKnownTokens.ReplaceAllString(s, Placeholder)
	s = regexpAuthScheme.ReplaceAllString(s, "${1}${2}"+Placeholder)
	s = regexpUserinfo.ReplaceAllString(s, "${1}"+Placeholder+"${3}")
	if !regexpMayContainSecret(s) {
		return s
	}
	return regexpScrubKeyValues(s)
}

func regexpScrubKeyValues(s string) string {
	var out strings.Builder
	last := 0
	for _, m := range regexpKeyPrefix.FindAllStringSubmatchIndex(s, -1) {
		if m[0] < last || !regexpIsSecretKey(s[m[2]:m[3]]) {
			continue
		}
		end := m[1]
		for end < len(s) && !regexpIsValueEnd(s[end]) {
			end++
		}
		value := s[m[1]:end]
		if value == "" || value == Placeholder || regexpIsAuthScheme(value) {
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

func regexpIsValueEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '&', ',', ';', '}', ']':
		return true
	}
	return false
}

func regexpIsAuthScheme(v string) bool {
	return strings.EqualFold(v, "bearer") || strings.EqualFold(v, "basic")
}
