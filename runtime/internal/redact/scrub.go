package redact

import "strings"

// Scrub replaces the credentials it recognises in free text with
// [Placeholder]. It reads the text once, left to right, and allocates only
// when it replaces something. It recognises:
//
//   - the value after a secret-named key (see [IsSecretKey]) and ':' or
//     '=': api_key=..., token: ..., "password": "...", and the same in
//     text that was quoted with %q ({\"password\":\"...\"}) at any depth.
//     A quoted value is replaced up to its closing quote, spaces and all
//     (or to the end of the line, if the quote is not closed on it);
//     a value in brackets, as fmt prints an http.Header
//     (map[Authorization:[Bearer ...]]), up to the closing bracket; any
//     other value up to the next space, quote, '&', ',', ';', '}' or ']';
//   - after "signature=" and "auth=" too (AWS Signature= and Firebase
//     auth= query parameters). In a URL's query (after '?' or '&') a
//     value also ends at '#';
//   - header lines: after "Authorization:", "Proxy-Authorization:",
//     "Cookie:" and "Set-Cookie:" the rest of the line. An Authorization
//     value keeps its scheme word ("Bearer <redacted>", "Token
//     <redacted>", "AWS4-HMAC-SHA256 <redacted>");
//   - "Bearer X" and "Basic X" anywhere, when X looks like a credential
//     (six characters or more, with a digit, an inner capital or a
//     punctuation character of tokens, or twenty characters or more);
//   - the password of a URL (https://user:<redacted>@host);
//   - the body of a PEM private key block ("-----BEGIN RSA PRIVATE
//     KEY-----<redacted>-----END RSA PRIVATE KEY-----");
//   - keys with a known shape: see knownTokens.
//
// It is best-effort: it cannot know every secret, so callers should not
// put secrets in error messages in the first place.
func Scrub(s string) string {
	if s == "" {
		return s
	}
	sc := scrubber{s: s}
	sc.run()
	return sc.result()
}

// knownToken is the shape of a credential recognisable without a key
// before it: a prefix, then at least min characters of a set.
type knownToken struct {
	prefix string
	chars  func(byte) bool
	min    int
}

// knownTokens are the credentials recognised by their shape alone, where a
// word starts: OpenAI and Anthropic keys (sk-...), Stripe keys, Google API
// keys (AIza...), GitHub, GitLab, Slack and Hugging Face tokens, AWS access
// key ids (long-term AKIA..., temporary ASIA...). JSON Web Tokens (eyJ...)
// are recognised by jwtEnd. Add a shape here to recognise it everywhere.
var knownTokens = []knownToken{
	{"sk-", isTokenChar, 16},
	{"sk_live_", isAlnum, 16},
	{"sk_test_", isAlnum, 16},
	{"rk_live_", isAlnum, 16},
	{"AIza", isTokenChar, 30},
	{"ghp_", isAlnum, 30},
	{"gho_", isAlnum, 30},
	{"ghu_", isAlnum, 30},
	{"ghs_", isAlnum, 30},
	{"ghr_", isAlnum, 30},
	{"github_pat_", isWordChar, 30},
	{"glpat-", isTokenChar, 20},
	{"xoxa-", isSlackChar, 10},
	{"xoxb-", isSlackChar, 10},
	{"xoxp-", isSlackChar, 10},
	{"xoxr-", isSlackChar, 10},
	{"xoxs-", isSlackChar, 10},
	{"AKIA", isUpperOrDigit, 16},
	{"ASIA", isUpperOrDigit, 16},
	{"hf_", isAlnum, 30},
}

// tokensByFirstByte indexes knownTokens by the first byte of their
// prefix, so that most words are passed over with one lookup.
var tokensByFirstByte = func() (index [256][]knownToken) {
	for _, t := range knownTokens {
		index[t.prefix[0]] = append(index[t.prefix[0]], t)
	}
	return index
}()

// headerKeys are the keys whose value, after ':', is the rest of the line
// (an HTTP header line); the first one keeps its scheme word.
var headerKeys = []string{"authorization", "proxy_authorization", "cookie", "set_cookie"}

// scrubber is one Scrub: s is read left to right; out, created at the
// first replacement, holds s[:last] with its replacements made.
type scrubber struct {
	s    string
	out  strings.Builder
	last int
}

func (sc *scrubber) result() string {
	if sc.last == 0 {
		return sc.s
	}
	sc.out.WriteString(sc.s[sc.last:])
	return sc.out.String()
}

// replace replaces s[start:end] with the placeholder.
func (sc *scrubber) replace(start, end int) {
	if sc.last == 0 {
		sc.out.Grow(len(sc.s) + len(Placeholder))
	}
	sc.out.WriteString(sc.s[sc.last:start])
	sc.out.WriteString(Placeholder)
	sc.last = end
}

func (sc *scrubber) run() {
	s := sc.s
	for i := 0; i < len(s); {
		c := s[i]
		if isKeyChar(c) {
			j := i + 1
			for j < len(s) && isKeyChar(s[j]) {
				j++
			}
			if isEscapeLetter(s, i) && i+1 < j {
				i++ // "\nCookie: ..." in quoted text: the word is "Cookie"
			}
			i = sc.word(i, j)
			continue
		}
		if c == ':' && strings.HasPrefix(s[i:], "://") {
			i = sc.userinfo(i + len("://"))
			continue
		}
		i++
	}
}

// word handles the run of key characters s[i:j] and returns where to go
// on: after the value it replaced, else after the run.
func (sc *scrubber) word(i, j int) int {
	s := sc.s
	if end, ok := sc.keyValue(i, j); ok {
		return end
	}
	if s[i] == '-' {
		if start, end := privateKeyBody(s, i); end > start {
			sc.replace(start, end)
			return end
		}
	}
	for k := i; k < j; k++ {
		if k > i && (isWordChar(s[k-1]) || !isWordChar(s[k])) {
			continue // not where a word starts
		}
		if end := tokenEnd(s, k); end > k {
			sc.replace(k, end)
			return end
		}
	}
	if equalFolded(s[i:j], "bearer") || equalFolded(s[i:j], "basic") {
		if start, end := credentialAfter(s, j); end > start {
			sc.replace(start, end)
			return end
		}
	}
	return j
}

// keyValue replaces the value after s[i:j] if s[i:j] is a secret key
// followed by a separator. It reports false when it is not.
func (sc *scrubber) keyValue(i, j int) (int, bool) {
	s := sc.s
	sep, ok := parseSeparator(s, j)
	if !ok || !isSecretTextKey(s[i:j], sep.op) {
		return 0, false
	}
	sep.query = i > 0 && (s[i-1] == '?' || s[i-1] == '&')
	start, end := sep.valueStart, valueEnd(s, sep, isHeaderKey(s[i:j]))
	if end <= start {
		return sep.valueStart, true
	}
	if indexFolded(s[i:j], "authorization", 0) >= 0 {
		start = afterScheme(s, start, end)
	}
	sc.replace(start, end)
	return end, true
}

// isSecretTextKey reports whether a key followed by the separator op
// (':' or '=') introduces a secret in free text: a secret key name, or
// a parameter (key=value) named "signature" or "auth".
func isSecretTextKey(key string, op byte) bool {
	if IsSecretKey(key) {
		return true
	}
	return op == '=' && (equalFolded(key, "signature") || equalFolded(key, "auth"))
}

func isHeaderKey(key string) bool {
	for _, h := range headerKeys {
		if equalFolded(key, h) {
			return true
		}
	}
	return false
}

// separator is what parseSeparator found after a key.
type separator struct {
	op         byte // ':' or '='
	valueStart int
	// open is the byte that opens the value: a quote, '[', or 0.
	open byte
	// escapes is the number of backslashes before an opening quote: 1 in
	// text quoted once with %q, 3 twice, and so on.
	escapes int
	// query is set for a parameter of a URL's query, whose value '#' ends.
	query bool
}

// parseSeparator parses what may follow a key at i: an optional closing
// quote (escaped or not), blanks, ':' or '=' (or ":="), blanks, and an
// optional opening quote (escaped or not) or '['.
func parseSeparator(s string, i int) (separator, bool) {
	p := i
	if q := skipBackslashes(s, p); q < len(s) && isQuote(s[q]) {
		p = q + 1
	}
	p = skipBlanks(s, p)
	if p >= len(s) || s[p] != ':' && s[p] != '=' {
		return separator{}, false
	}
	sep := separator{op: s[p]}
	p++
	if sep.op == ':' && p < len(s) && s[p] == '=' {
		p++
	}
	p = skipBlanks(s, p)
	if q := skipBackslashes(s, p); q < len(s) && isQuote(s[q]) {
		sep.open, sep.escapes, p = s[q], q-p, q+1
	} else if p < len(s) && s[p] == '[' {
		sep.open, p = '[', p+1
	}
	sep.valueStart = p
	return sep, true
}

// valueEnd returns where the value that sep opens ends (exclusive).
func valueEnd(s string, sep separator, header bool) int {
	switch {
	case isQuote(sep.open):
		return closingQuote(s, sep.valueStart, sep.open, sep.escapes)
	case sep.open == '[':
		if k := strings.IndexByte(s[sep.valueStart:], ']'); k >= 0 {
			return sep.valueStart + k
		}
		return lineEnd(s, sep.valueStart)
	case header && sep.op == ':':
		return lineEnd(s, sep.valueStart)
	}
	p := sep.valueStart
	for p < len(s) && !isValueEnd(s[p]) && !(sep.query && s[p] == '#') {
		p++
	}
	return p
}

// closingQuote returns where the value ends that q, after escapes
// backslashes, opened: at the escapes backslashes before the quote that
// closes it, else at the end of the line. In JSON (escapes 0) the closing quote follows an even number of
// backslashes; in JSON quoted once with %q (escapes 1) it follows 1, 5,
// 9, ...; in general, when escapes+1 is a power of two, n backslashes
// close if (n+1) mod 2(escapes+1) is escapes+1.
func closingQuote(s string, from int, q byte, escapes int) int {
	for p := from; p < len(s); p++ {
		if s[p] == '\n' {
			return p // quoted text does not span lines: an unclosed quote
		}
		if s[p] != q {
			continue
		}
		n := 0
		for p-n-1 >= from && s[p-n-1] == '\\' {
			n++
		}
		if closes(n, escapes) {
			return p - escapes
		}
	}
	return len(s)
}

func closes(n, escapes int) bool {
	level := escapes + 1
	if level&(level-1) != 0 {
		return n == escapes // not a nesting of %q: only the same escaping closes
	}
	return (n+1)%(2*level) == level
}

// isEscapeLetter reports whether s[i] is the letter of an escape sequence
// of quoted text, \n, \r or \t.
func isEscapeLetter(s string, i int) bool {
	return i > 0 && s[i-1] == '\\' && (s[i] == 'n' || s[i] == 'r' || s[i] == 't')
}

// lineEnd returns the end of the line that starts at or before p: a line
// feed or carriage return, or their escaped forms \n and \r in quoted
// text.
func lineEnd(s string, p int) int {
	for ; p < len(s); p++ {
		switch s[p] {
		case '\n', '\r':
			return p
		case '\\':
			if p+1 < len(s) && (s[p+1] == 'n' || s[p+1] == 'r') {
				return p
			}
		}
	}
	return p
}

// afterScheme returns where the credential of an Authorization value
// s[start:end] begins: after its scheme word and blanks ("Bearer xyz",
// "Token xyz", "AWS4-HMAC-SHA256 Credential=..."), or start when the value
// is one word.
func afterScheme(s string, start, end int) int {
	p := start
	for p < end && isKeyChar(s[p]) {
		p++
	}
	if p == start || p >= end || !isBlank(s[p]) {
		return start
	}
	if q := skipBlanks(s[:end], p); q < end {
		return q
	}
	return start
}

// credentialAfter returns the credential after "Bearer" or "Basic" ending
// at i: blanks, then a run of token characters that looks like a
// credential. It returns an empty range when there is none.
func credentialAfter(s string, i int) (start, end int) {
	start = skipBlanks(s, i)
	if start == i {
		return 0, 0
	}
	end = start
	for end < len(s) && isCredentialChar(s[end]) {
		end++
	}
	if !looksLikeCredential(s[start:end]) {
		return 0, 0
	}
	return start, end
}

// looksLikeCredential tells a credential after "Bearer" or "Basic" from an
// English word ("Basic authentication required"): six characters or more,
// and a digit, a capital after the first character, a punctuation
// character of tokens, or twenty characters or more.
func looksLikeCredential(c string) bool {
	if len(c) < 6 {
		return false
	}
	if len(c) >= 20 {
		return true
	}
	for i := 0; i < len(c); i++ {
		switch b := c[i]; {
		case '0' <= b && b <= '9', i > 0 && 'A' <= b && b <= 'Z':
			return true
		case !isAlnum(b):
			return true
		}
	}
	return false
}

// privateKeyBody returns the body of the PEM private key block whose
// "-----BEGIN ... PRIVATE KEY-----" line starts at i: from after that line
// to its "-----END" line, or to the end of s. It returns an empty range
// when no such block starts at i.
func privateKeyBody(s string, i int) (start, end int) {
	const begin, label, endLine = "-----BEGIN ", "PRIVATE KEY-----", "-----END"
	if !strings.HasPrefix(s[i:], begin) {
		return 0, 0
	}
	header := lineEnd(s, i)
	k := strings.Index(s[i:header], label)
	if k < 0 {
		return 0, 0
	}
	start = i + k + len(label)
	if e := strings.Index(s[start:], endLine); e >= 0 {
		return start, start + e
	}
	return start, len(s)
}

// userinfo replaces the password of a URL whose authority starts at i,
// right after "://", and returns where to go on.
func (sc *scrubber) userinfo(i int) int {
	s := sc.s
	end := i
	for end < len(s) && !isAuthorityEnd(s[end]) {
		end++
	}
	at := strings.LastIndexByte(s[i:end], '@')
	if at < 0 {
		return i
	}
	at += i
	colon := strings.IndexByte(s[i:at], ':')
	if colon < 0 || i+colon+1 == at {
		return i // no password: the user name may still be a known token
	}
	if tokenEnd(s, i) > i {
		sc.replace(i, at) // a token as the user name, and the password
	} else {
		sc.replace(i+colon+1, at)
	}
	return at + 1
}

// tokenEnd returns the end of the known token that starts at i, or i.
func tokenEnd(s string, i int) int {
	if s[i] == 'e' && strings.HasPrefix(s[i:], "eyJ") {
		return jwtEnd(s, i)
	}
	for _, t := range tokensByFirstByte[s[i]] {
		if !strings.HasPrefix(s[i:], t.prefix) {
			continue
		}
		p := i + len(t.prefix)
		for p < len(s) && t.chars(s[p]) {
			p++
		}
		if p-i-len(t.prefix) >= t.min {
			return p
		}
	}
	return i
}

// jwtEnd returns the end of the JSON Web Token at i (three dot-separated
// base64url parts of eight characters or more, the first starting "eyJ"),
// or i.
func jwtEnd(s string, i int) int {
	p := i
	for part := 0; part < 3; part++ {
		if part > 0 {
			if p >= len(s) || s[p] != '.' {
				return i
			}
			p++
		}
		start := p
		for p < len(s) && isTokenChar(s[p]) {
			p++
		}
		if p-start < 8 {
			return i
		}
	}
	return p
}

func skipBlanks(s string, p int) int {
	for p < len(s) && isBlank(s[p]) {
		p++
	}
	return p
}

func skipBackslashes(s string, p int) int {
	for p < len(s) && s[p] == '\\' {
		p++
	}
	return p
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func isQuote(c byte) bool { return c == '"' || c == '\'' }

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isUpperOrDigit(c byte) bool { return 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' }

// isWordChar is a character of a word in the sense of regular
// expressions' \b.
func isWordChar(c byte) bool { return isAlnum(c) || c == '_' }

// isKeyChar is a character of a key name: api_key, X-Api-Key, user.password.
func isKeyChar(c byte) bool { return isWordChar(c) || c == '-' || c == '.' }

// isTokenChar is a character of base64url text: keys and JWT parts.
func isTokenChar(c byte) bool { return isWordChar(c) || c == '-' }

func isSlackChar(c byte) bool { return isAlnum(c) || c == '-' }

// isCredentialChar is a character of a Bearer or Basic credential
// (RFC 6750's b64token).
func isCredentialChar(c byte) bool {
	switch c {
	case '.', '_', '~', '+', '/', '=', '-':
		return true
	}
	return isAlnum(c)
}

// isValueEnd is a character that ends an unquoted value.
func isValueEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '&', ',', ';', '}', ']':
		return true
	}
	return false
}

// isAuthorityEnd is a character that ends a URL's authority.
func isAuthorityEnd(c byte) bool {
	switch c {
	case '/', '?', '#', ' ', '\t', '\n', '\r', '"', '\'', '`', '\\':
		return true
	}
	return false
}
