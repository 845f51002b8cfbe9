package redact

import (
	"strings"
	"unicode/utf8"
)

// secretWords are the fragments that make a key secret when they appear in
// its name, compared case-insensitively with '-' read as '_' (so
// "X-Api-Key" matches "api_key" and "apiKey" matches "apikey"). The first
// eight are the Python SDK's list; the rest are common spellings of the
// same idea, the cookie headers (Cookie, Set-Cookie) and the signatures of
// pre-signed AWS and Google Cloud URLs (X-Amz-Signature,
// X-Goog-Signature).
var secretWords = []string{
	"password", "secret", "token", "credential", "authorization",
	"api_key", "apikey", "sensitive",
	"passwd", "private_key", "privatekey", "cookie",
	"amz_signature", "goog_signature",
}

// secretNames are whole key names that are secret, too short to be looked
// for inside longer names: Azure shared access signatures (sig=) and
// connection-string passwords (Pwd=).
var secretNames = []string{"sig", "pwd"}

// tokenCounters are the suffixes after "token" (one '_' skipped) that mark
// a count or a setting rather than a credential: max_tokens, token_count,
// tokenizer, token_usage, token_limit, token_type. LLM requests and usage
// records are full of them and they must stay readable.
var tokenCounters = []string{"s", "iz", "count", "usage", "limit", "type"}

// IsSecretKey reports whether a map key, struct field or parameter called
// name holds a secret, so that its value must be replaced by [Placeholder].
// It does not allocate for ASCII names.
func IsSecretKey(name string) bool {
	if len(name) < 3 { // shorter than the shortest secret name
		return false
	}
	// Fast path for the common case: names that contain none of the
	// letters p, s, t, c, a (every secret word has one) are not secret.
	if !mayContainSecret(name) {
		return false
	}
	if !isASCII(name) {
		name = normalize(name)
	}
	for _, w := range secretNames {
		if equalFolded(name, w) {
			return true
		}
	}
	for _, w := range secretWords {
		if w == "token" {
			if hasSecretToken(name) {
				return true
			}
			continue
		}
		if indexFolded(name, w, 0) >= 0 {
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

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// normalize lower-cases a name that is not ASCII (with Unicode's rules, as
// the folded comparisons below do for ASCII) and reads '-' as '_'.
func normalize(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), "-", "_")
}

// folded returns c lower-cased if it is an ASCII letter, with '-' read as
// '_': the form in which key names are compared with the secret words.
func folded(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c + 'a' - 'A'
	case c == '-':
		return '_'
	}
	return c
}

// indexFolded returns the index of the first occurrence of word (lower
// case, '_' for '-') in name at or after from, comparing folded bytes, or
// -1.
func indexFolded(name, word string, from int) int {
	for i := from; i+len(word) <= len(name); i++ {
		if folded(name[i]) != word[0] {
			continue
		}
		j := 1
		for j < len(word) && folded(name[i+j]) == word[j] {
			j++
		}
		if j == len(word) {
			return i
		}
	}
	return -1
}

// hasPrefixFolded reports whether name starts with word, comparing folded
// bytes.
func hasPrefixFolded(name, word string) bool {
	return len(name) >= len(word) && indexFolded(name[:len(word)], word, 0) == 0
}

// equalFolded reports whether name is word, comparing folded bytes.
func equalFolded(name, word string) bool {
	return len(name) == len(word) && hasPrefixFolded(name, word)
}

// hasSecretToken reports whether name contains "token" not followed by
// one of tokenCounters.
func hasSecretToken(name string) bool {
	for from := 0; ; {
		i := indexFolded(name, "token", from)
		if i < 0 {
			return false
		}
		after := name[i+len("token"):]
		if len(after) > 0 && folded(after[0]) == '_' {
			after = after[1:]
		}
		counter := false
		for _, c := range tokenCounters {
			if hasPrefixFolded(after, c) {
				counter = true
				break
			}
		}
		if !counter {
			return true
		}
		from = i + len("token")
	}
}
