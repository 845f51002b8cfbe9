package rewrite

import "testing"

func TestHasDirective(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{"package p\n\n//overmind:tool\nfunc F() {}\n", true},
		{"//overmind:tool\nfunc F() {}\n", true},
		{"package p\r\n//overmind:workflow x\r\n", true},
		{"package p\n\t//overmind:function\n", true},
		{"package p\n// see //overmind:tool in the docs\n", false},
		{"package p\n//\t//overmind:tool lookup\n", false},
		{"package p\n// overmind:tool (a space: warned about)\n", true},
		{"package p\n//\t overmind:tool\n", true},
		{"package p\n// the overmind: prefix\n", false},
		{"package p\n/ overmind:tool\n", false},
		{"overmind:tool\n", false},
		{"package p\nvar s = \"//overmind:tool\"\n", false},
		{"package p\n", false},
		{"", false},
		{"x //overmind:a\n//overmind:b", true},
	} {
		if got := HasDirective([]byte(tc.src)); got != tc.want {
			t.Errorf("HasDirective(%q) = %v, want %v", tc.src, got, tc.want)
		}
	}
}
