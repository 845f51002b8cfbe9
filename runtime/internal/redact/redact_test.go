package redact

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestIsSecretKey(t *testing.T) {
	secret := []string{
		"password", "Password", "db_password", "PASSWORD_HASH", "secret", "clientSecret",
		"token", "access_token", "accessToken", "refresh-token", "id_token_hint", "credentials",
		"Authorization", "proxy-authorization", "api_key", "API-KEY", "X-Api-Key", "apiKey",
		"openaiApiKey", "sensitive_data", "passwd", "private_key", "privateKey", "csrftoken",
	}
	for _, k := range secret {
		if !IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = false, want true", k)
		}
	}
	plain := []string{
		"", "name", "query", "orderID", "max_tokens", "maxTokens", "prompt_tokens", "completion_tokens",
		"total_tokens", "token_count", "tokenCount", "tokenizer", "token_usage", "token_limit",
		"token_type", "input_tokens_details", "model", "temperature", "api", "key", "userKey",
	}
	for _, k := range plain {
		if IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = true, want false", k)
		}
	}
}

func TestScrub(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"no secrets here", "no secrets here"},
		{"request failed: api_key=abc123def&model=gpt", "request failed: api_key=<redacted>&model=gpt"},
		{`body {"password": "hunter2", "user": "bob"}`, `body {"password": "<redacted>", "user": "bob"}`},
		{"Authorization: Bearer abcdef123456", "Authorization: Bearer <redacted>"},
		{"auth basic dXNlcjpwYXNz failed", "auth basic <redacted> failed"},
		{"dial https://bob:s3cr3t@example.com/x", "dial https://bob:<redacted>@example.com/x"},
		{"invalid key sk-proj-ABCDEFGHIJKLMNOPQRSTUV provided", "invalid key <redacted> provided"},
		{"key AIzaSyA1234567890abcdefghijklmnopqrstuv rejected", "key <redacted> rejected"},
		{"AKIAIOSFODNN7EXAMPLE denied", "<redacted> denied"},
		{"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "jwt <redacted>"},
		{"max_tokens=4096 exceeded", "max_tokens=4096 exceeded"},
		{"token: t0ps3cret", "token: <redacted>"},
	}
	for _, tt := range tests {
		if got := Scrub(tt.in); got != tt.want {
			t.Errorf("Scrub(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestMessageTruncates(t *testing.T) {
	long := strings.Repeat("é", 3000)
	got := Message(long)
	if n := utf8.RuneCountInString(got); n != MaxMessageChars {
		t.Fatalf("Message: %d characters, want %d", n, MaxMessageChars)
	}
	if !strings.HasSuffix(got, "…") {
		t.Fatalf("Message does not mark the cut: %q", got[len(got)-10:])
	}
	if short := Message("boom"); short != "boom" {
		t.Fatalf("Message(boom) = %q", short)
	}
	if got := Message(strings.Repeat("x", 100000) + " password=zzz"); utf8.RuneCountInString(got) != MaxMessageChars {
		t.Fatalf("huge message not cut: %d", len(got))
	}
}

func FuzzScrub(f *testing.F) {
	f.Add("api_key=abc123 and Bearer xyz123456")
	f.Add("https://u:p@h/x?token=1")
	f.Add("\xff\xfe password: \x00")
	f.Fuzz(func(t *testing.T, s string) {
		out := Message(s)
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("Message broke UTF-8: %q -> %q", s, out)
		}
		if utf8.RuneCountInString(out) > MaxMessageChars {
			t.Fatalf("Message longer than %d characters", MaxMessageChars)
		}
	})
}

func TestShorten(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"héllo wörld", 5, "héll…"},
		{"", 1, ""},
	} {
		if got := Shorten(c.in, c.max); got != c.want {
			t.Errorf("Shorten(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}
