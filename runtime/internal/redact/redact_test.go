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
		"Cookie", "Set-Cookie", "sessionCookie", "X-Amz-Signature", "X-Goog-Signature", "sig", "SIG", "Pwd",
		"Ünicode_PASSWORD",
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
		"signature", "function_signature", "signal", "design", "sigma", "pwds", "cookbook", "passage",
	}
	for _, k := range plain {
		if IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = true, want false", k)
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
