package redact

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// scrubCases are texts with credentials and what Scrub makes of them. Add
// a row for every shape of leak found.
var scrubCases = []struct {
	name, in, want string
}{
	// Keys and separators.
	{"query parameter", "request failed: api_key=abc123def&model=gpt", "request failed: api_key=<redacted>&model=gpt"},
	{"json with space", `body {"password": "hunter2", "user": "bob"}`, `body {"password": "<redacted>", "user": "bob"}`},
	{"json multi-word value", `{"password":"correct horse X"}`, `{"password":"<redacted>"}`},
	{"json escaped quote in value", `{"password":"a\"b c","user":"bob"}`, `{"password":"<redacted>","user":"bob"}`},
	{"json escaped backslash ends value", `{"password":"a b\\","user":"bob"}`, `{"password":"<redacted>","user":"bob"}`},
	{"json quoted with %q", `{\"password\":\"correct horse X\"}`, `{\"password\":\"<redacted>\"}`},
	{"json quoted twice with %q", `"{\\\"password\\\":\\\"correct horse\\\",\\\"u\\\":1}"`, `"{\\\"password\\\":\\\"<redacted>\\\",\\\"u\\\":1}"`},
	{"single quotes", `password='two words' user=bob`, `password='<redacted>' user=bob`},
	{"colon", "token: t0ps3cret", "token: <redacted>"},
	{"yaml", "client_secret: abc123\nname: x", "client_secret: <redacted>\nname: x"},
	{"env", "OPENAI_API_KEY=sk-live.abc", "OPENAI_API_KEY=<redacted>"},
	{"go assignment", "password := hunter2", "password := <redacted>"},
	{"fmt struct", "{User:bob Password:hunter2 Port:5432}", "{User:bob Password:<redacted> Port:5432}"},
	{"empty value untouched", `{"password":"","user":"bob"}`, `{"password":"","user":"bob"}`},

	// Authorization and cookies.
	{"bearer header", "Authorization: Bearer abcdef123456", "Authorization: Bearer <redacted>"},
	{"token scheme", "Authorization: Token abc123 (retrying)", "Authorization: Token <redacted>"},
	{"one-word authorization", "authorization=abc123&x=1", "authorization=<redacted>&x=1"},
	{"json authorization", `{"Authorization":"Basic dXNlcjpwYXNz","Accept":"*/*"}`, `{"Authorization":"Basic <redacted>","Accept":"*/*"}`},
	{"proxy authorization", "Proxy-Authorization: Basic dXNlcjpwYXNz\r\nHost: x", "Proxy-Authorization: Basic <redacted>\r\nHost: x"},
	{"aws authorization", "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
		"Authorization: AWS4-HMAC-SHA256 <redacted>"},
	{"cookie header", "Cookie: theme=dark; session=9f8e7d\nHost: example.com", "Cookie: <redacted>\nHost: example.com"},
	{"set-cookie header", "Set-Cookie: id=a3fWa; Expires=Thu, 21 Oct 2031 07:28:00 GMT; HttpOnly", "Set-Cookie: <redacted>"},
	{"header dump quoted with %q", `"GET / HTTP/1.1\r\nCookie: sid=abc123\r\nHost: x\r\n"`, `"GET / HTTP/1.1\r\nCookie: <redacted>\r\nHost: x\r\n"`},
	{"http.Header printed by fmt", "map[Authorization:[Bearer abc123] Cookie:[a=b c=d] Content-Type:[application/json]]",
		"map[Authorization:[Bearer <redacted>] Cookie:[<redacted>] Content-Type:[application/json]]"},
	{"bearer in prose", "auth bearer abcdef123456 rejected", "auth bearer <redacted> rejected"},
	{"basic in prose", "auth basic dXNlcjpwYXNz failed", "auth basic <redacted> failed"},

	// URLs.
	{"userinfo", "dial https://bob:s3cr3t@example.com/x", "dial https://bob:<redacted>@example.com/x"},
	{"userinfo with @ in password", "postgres://app:p@ss@db:5432/app", "postgres://app:<redacted>@db:5432/app"},
	{"token as user name", "https://ghp_0123456789abcdefghijABCDEFGHIJ0123:x-oauth@github.com/o/r", "https://<redacted>@github.com/o/r"},
	{"query token and access_token", `Get "https://x.io/cb?token=abc&access_token=def#state=1": EOF`, `Get "https://x.io/cb?token=<redacted>&access_token=<redacted>#state=1": EOF`},
	{"fragment access_token", "https://app/#access_token=abc&token_type=bearer", "https://app/#access_token=<redacted>&token_type=bearer"},
	{"azure sas", "https://a.blob.core.windows.net/c/b?sv=2022-11-02&sig=Ab%2Bc%3D&se=2031", "https://a.blob.core.windows.net/c/b?sv=2022-11-02&sig=<redacted>&se=2031"},
	{"aws presigned", "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIDEXAMPLE%2F2015&X-Amz-Signature=fe5f80f7&X-Amz-Expires=60",
		"https://b.s3.amazonaws.com/k?X-Amz-Credential=<redacted>&X-Amz-Signature=<redacted>&X-Amz-Expires=60"},
	{"aws sigv2", "https://b.s3.amazonaws.com/k?AWSAccessKeyId=AKIDEXAMPLE&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D&Expires=1", "https://b.s3.amazonaws.com/k?AWSAccessKeyId=AKIDEXAMPLE&Signature=<redacted>&Expires=1"},
	{"google signed url", "https://storage.googleapis.com/b/o?X-Goog-Signature=0a1b2c&X-Goog-Date=2031", "https://storage.googleapis.com/b/o?X-Goog-Signature=<redacted>&X-Goog-Date=2031"},
	{"firebase auth", "https://p.firebaseio.com/a.json?auth=abc123", "https://p.firebaseio.com/a.json?auth=<redacted>"},

	// Known shapes.
	{"openai key", "invalid key sk-proj-ABCDEFGHIJKLMNOPQRSTUV provided", "invalid key <redacted> provided"},
	{"anthropic key", "x-api-key sk-ant-api03-abcdefghijklmnop-XYZ", "x-api-key <redacted>"},
	{"stripe key", "key sk_live_51H8abcdefghijklmnop", "key <redacted>"},
	{"google key", "key AIzaSyA1234567890abcdefghijklmnopqrstuv rejected", "key <redacted> rejected"},
	{"aws access key", "AKIAIOSFODNN7EXAMPLE denied", "<redacted> denied"},
	{"aws temporary key", "ASIAIOSFODNN7EXAMPLE denied", "<redacted> denied"},
	{"github token", "push with ghp_0123456789abcdefghijABCDEFGHIJ0123 failed", "push with <redacted> failed"},
	{"gitlab token", "glpat-0123456789abcdefghij rejected", "<redacted> rejected"},
	{"slack token", "xoxb-123456789012-abcdefghij", "<redacted>"},
	{"hugging face token", "hf_abcdefghijklmnopqrstuvwxyz0123456789", "<redacted>"},
	{"jwt", "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "jwt <redacted>"},
	{"pem private key", "bad key: -----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nq83x==\n-----END RSA PRIVATE KEY-----\n",
		"bad key: -----BEGIN RSA PRIVATE KEY-----<redacted>-----END RSA PRIVATE KEY-----\n"},
	{"pem private key cut", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "-----BEGIN PRIVATE KEY-----<redacted>"},

	// Quotes are closed on their line.
	{"unclosed quote", "password=\"abc def\nnext line", "password=\"<redacted>\nnext line"},
}

func TestScrub(t *testing.T) {
	t.Parallel()
	for _, tt := range scrubCases {
		if got := Scrub(tt.in); got != tt.want {
			t.Errorf("%s: Scrub(%q)\n got %q\nwant %q", tt.name, tt.in, got, tt.want)
		}
		if got := Scrub(tt.want); got != tt.want {
			t.Errorf("%s: Scrub is not idempotent: %q -> %q", tt.name, tt.want, got)
		}
	}
}

// ordinaryTexts must come out of Scrub unchanged: error messages and
// prose with words that look like the rules' but carry no credential.
var ordinaryTexts = []string{
	"no secrets here",
	"open /etc/overmind/config.yaml: no such file or directory",
	"dial tcp 10.0.0.7:443: connect: connection refused",
	`Get "http://localhost:8080/api/v1/items?page=2&sort=asc": context deadline exceeded`,
	"max_tokens=4096 exceeded",
	`{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150}`,
	"token count: 42, tokenizer: cl100k_base, token_type=bearer",
	"invalid token",
	"the password is incorrect",
	"password: ",
	"token expired at 12:00",
	"Basic authentication required",
	"bearer credentials invalid",
	"Bearer token missing",
	"invalid signature: expected 3 got 4",
	"Signature verification failed",
	"cookie consent required",
	"auth: permission denied",
	"secret santa",
	"passage: the quick brown fox",
	"authored by: bob",
	"send mail to user@example.com",
	"status: 401 Unauthorized",
	"runtime error: index out of range [5] with length 3",
	"task-0123456789abcdefghij finished",
	"sk-learn is a Python library",
	"session_id=abc123 user_id=42",
	"key: value",
	"function_signature=func(int) error",
	"https://example.com/path?q=golang&lang=en#top",
	"ssh://git@github.com/org/repo.git",
	"postgres://app@db:5432/app?sslmode=disable",
	"données invalides: clé manquante",
	"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
	"--- FAIL: TestX (0.00s)",
	"",
}

func TestScrubLeavesOrdinaryText(t *testing.T) {
	t.Parallel()
	for _, s := range ordinaryTexts {
		if got := Scrub(s); got != s {
			t.Errorf("Scrub(%q) = %q, want it unchanged", s, got)
		}
	}
}

// plantShapes are the shapes in which the fuzzer plants a secret (at %s)
// in random surrounding text; alphabet is what the secret is made of (a
// secret of other characters would end the value early, which no scrubber
// can tell from the end of the secret), min its shortest length when the
// shape needs one. Add a row for every shape Scrub learns.
var plantShapes = []struct {
	name, template, alphabet string
	min                      int
}{
	{"authorization bearer", "Authorization: Bearer %s", credentialChars, 0},
	{"authorization token", "Authorization: Token %s", credentialChars, 0},
	{"authorization json", `{"Authorization":"Basic %s","Accept":"*/*"}`, credentialChars, 0},
	{"bearer in prose", "rejected Bearer %s for user", credentialChars, 0},
	{"json password", `{"user":"bob","password":"%s","n":1}`, quotedChars, 0},
	{"json password spaced", `{ "password" : "%s" }`, quotedChars, 0},
	{"json quoted with %q", `{\"password\":\"%s\"}`, quotedChars, 0},
	{"json quoted twice with %q", `"{\\\"api_key\\\":\\\"%s\\\"}"`, quotedChars, 0},
	{"single quotes", `secret='%s'`, quotedChars, 0},
	{"unquoted value", "login failed password=%s user=bob", valueChars, 0},
	{"yaml value", "client_secret: %s\nname: x", valueChars, 0},
	{"query api_key", "GET /v1/items?page=2&api_key=%s&q=x", urlChars, 0},
	{"query token", "Get \"https://x.io/cb?token=%s\": EOF", urlChars, 0},
	{"query access_token", "https://app/#access_token=%s&state=1", urlChars, 0},
	{"query sig", "https://a.blob.core.windows.net/c/b?sv=2022&sig=%s&se=1", urlChars, 0},
	{"aws signature", "https://b.s3.amazonaws.com/k?X-Amz-Signature=%s&X-Amz-Expires=60", urlChars, 0},
	{"aws sigv2", "https://b.s3.amazonaws.com/k?Signature=%s&Expires=1", urlChars, 0},
	{"aws authorization", "Authorization: AWS4-HMAC-SHA256 Credential=x/y, SignedHeaders=host, Signature=%s", urlChars, 0},
	{"cookie", "Cookie: theme=dark; session=%s; lang=en", headerChars, 0},
	{"set-cookie", "Set-Cookie: id=%s; Path=/; HttpOnly", headerChars, 0},
	{"header printed by fmt", "map[Accept:[*/*] Authorization:[Bearer %s]]", credentialChars, 0},
	{"cookie printed by fmt", "map[Cookie:[session=%s] Accept:[*/*]]", valueChars, 0},
	{"url password", "dial postgres://app:%s@db.example.com:5432/app", userinfoChars, 0},
	{"openai key", "invalid key sk-%s provided", tokenChars, 16},
	{"jwt", "jwt eyJhbGciOiJIUzI1NiJ9.%s.c2lnbmF0dXJl", tokenChars, 0},
	{"pem private key", "-----BEGIN EC PRIVATE KEY-----\n%s\n-----END EC PRIVATE KEY-----", tokenChars + "+/=\n", 0},
}

const (
	letters         = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	tokenChars      = letters + "-_"
	credentialChars = letters + "-._~+/="
	urlChars        = letters + "-._~%+!*()$:@/?="
	userinfoChars   = letters + "-._~%+!*()$;=,&:"
	valueChars      = letters + "-._~%+!*()$:@/?=#^|<>{"
	headerChars     = valueChars + "\"' ,;&[]}"
	quotedChars     = valueChars + " ,;&[]}'\t" + "éß漢"
)

// plantedSecret makes a secret of at least max(8, min) characters of
// alphabet from seed. It starts with 'Q' and ends with '7', so that it is
// not part of the placeholder and it looks like a credential to the Bearer
// rule.
func plantedSecret(seed []byte, alphabet string, min int) string {
	runes := []rune(alphabet)
	var b strings.Builder
	b.WriteByte('Q')
	for i := 0; i < max(6, min-2) || i < len(seed) && i < 64; i++ {
		x := byte(i * 37)
		if i < len(seed) {
			x = seed[i]
		}
		b.WriteRune(runes[int(x)%len(runes)])
	}
	b.WriteByte('7')
	return b.String()
}

// FuzzScrubPlanted plants a secret in each shape of plantShapes, on a line
// of its own between random text, and checks that Scrub always removes it,
// that what it returns is valid UTF-8 when the input is, and that
// scrubbing twice changes nothing more.
func FuzzScrubPlanted(f *testing.F) {
	f.Add("request failed", "retrying", []byte("hunter2"), uint8(0))
	f.Add(`password="`, `"`, []byte("correct horse"), uint8(4))
	f.Add("token=[", "]", []byte{0, 1, 2, 3, 250}, uint8(7))
	f.Add("https://u:p@h/x?token=1", "\xff\xfe", []byte("x"), uint8(21))
	f.Add(`{\"a\":\"`, `\"}`, []byte("a b c"), uint8(6))
	f.Fuzz(func(t *testing.T, before, after string, seed []byte, shape uint8) {
		sh := plantShapes[int(shape)%len(plantShapes)]
		secret := plantedSecret(seed, sh.alphabet, sh.min)
		text := before + "\n" + fmt.Sprintf(sh.template, secret) + "\n" + after
		if strings.Count(text, secret) != 1 {
			t.Skip("the secret is also in the surrounding text")
		}
		got := Scrub(text)
		if strings.Contains(got, secret) {
			t.Fatalf("%s: the planted secret %q survived:\n in %q\nout %q", sh.name, secret, text, got)
		}
		if utf8.ValidString(text) && !utf8.ValidString(got) {
			t.Fatalf("Scrub broke UTF-8: %q -> %q", text, got)
		}
		if again := Scrub(got); again != got {
			t.Fatalf("Scrub is not idempotent:\n%q\n%q", got, again)
		}
	})
}

// FuzzScrub checks Message on any text: valid UTF-8 stays valid, the cut
// holds, and scrubbing what was scrubbed changes nothing.
func FuzzScrub(f *testing.F) {
	f.Add("api_key=abc123 and Bearer xyz123456")
	f.Add("https://u:p@h/x?token=1")
	f.Add("\xff\xfe password: \x00")
	for _, c := range scrubCases {
		f.Add(c.in)
	}
	for _, s := range ordinaryTexts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Message(s)
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("Message broke UTF-8: %q -> %q", s, out)
		}
		if utf8.RuneCountInString(out) > MaxMessageChars {
			t.Fatalf("Message longer than %d characters", MaxMessageChars)
		}
		if again := Scrub(Scrub(s)); again != Scrub(s) {
			t.Fatalf("Scrub is not idempotent: %q -> %q -> %q", s, Scrub(s), again)
		}
	})
}

// benchTexts are typical error messages: most carry no credential.
var benchTexts = []struct{ name, text string }{
	{"clean", "open /etc/overmind/config.yaml: no such file or directory"},
	{"url", `Get "https://api.example.com/v1/items?page=2&api_key=abc123def456": dial tcp 10.0.0.7:443: connect: connection refused`},
	{"bearer", "POST https://api.openai.com/v1/chat/completions: 401 Unauthorized: Authorization: Bearer sk-proj-ABCDEFGHIJKLMNOPQRSTUV rejected"},
	{"json", `status 400: {"error":{"message":"invalid request","type":"invalid_request_error"},"user":"bob","password":"correct horse battery"}`},
	{"long_clean", strings.Repeat("the upstream service returned an unexpected status while reading the response body; ", 12)},
}

// BenchmarkScrub compares Scrub with the regular-expression scrubber it
// replaced (baseline_test.go) on the same texts.
func BenchmarkScrub(b *testing.B) {
	for _, bt := range benchTexts {
		b.Run(bt.name+"/scanner", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Scrub(bt.text)
			}
		})
		b.Run(bt.name+"/regexp", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				regexpScrub(bt.text)
			}
		})
	}
}
