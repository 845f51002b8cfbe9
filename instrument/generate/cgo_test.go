package generate

import "testing"

// TestImportsC checks which files make a run list its packages again with
// the files cgo makes: those that import "C", not those that merely
// mention the string.
func TestImportsC(t *testing.T) {
	t.Parallel()
	for src, want := range map[string]bool{
		"package p\n\nimport \"C\"\n":                                true,
		"package p\n\nimport (\n\t\"fmt\"\n\t`C`\n)\n":               true,
		"package p\n\n// int x;\nimport \"C\"\n\nvar _ = C.x\n":      true,
		"package p\n\nimport (\"C\" x\n":                             true, // does not parse: may
		"package p\n\nvar c = \"C\"\n":                               false,
		"package p\n\nimport \"fmt\"\n\nvar _ = fmt.Sprint(\"C\")\n": false,
		"package p\n\nimport \"fmt\"\n":                              false,
	} {
		if got := importsC([]byte(src)); got != want {
			t.Errorf("importsC(%q) = %v, want %v", src, got, want)
		}
	}
}
