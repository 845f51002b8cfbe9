package toolexec

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const compileTool = "/usr/local/go/pkg/tool/linux_amd64/compile"

func TestParseInvocationCompile(t *testing.T) {
	inv, err := ParseInvocation([]string{compileTool,
		"-o", "/w/b002/_pkg_.a", "-trimpath", "/w/b002=>", "-p", "example.com/lib",
		"-lang=go1.26", "-complete", "-importcfg", "/w/b002/importcfg", "-pack",
		"/src/lib/a.go", "/src/lib/b.go"})
	if err != nil {
		t.Fatal(err)
	}
	if got := inv.Tool(); got != "compile" {
		t.Errorf("Tool() = %q, want compile", got)
	}
	if !inv.IsGoTool() || inv.GOROOT() != "/usr/local/go" {
		t.Errorf("IsGoTool() = %v, GOROOT() = %q; want true, /usr/local/go", inv.IsGoTool(), inv.GOROOT())
	}
	if inv.IsVersionQuery() {
		t.Error("a compile is not a version query")
	}
	for name, want := range map[string]string{"o": "/w/b002/_pkg_.a", "p": "example.com/lib", "lang": "go1.26", "importcfg": "/w/b002/importcfg", "complete": "", "pack": ""} {
		if got, ok := inv.Flag(name); !ok || got != want {
			t.Errorf("Flag(%q) = %q, %v; want %q, true", name, got, ok, want)
		}
	}
	if _, ok := inv.Flag("std"); ok || inv.HasFlag("std") {
		t.Error("Flag(std) found a flag that is not there")
	}
	if !inv.HasFlag("complete") {
		t.Error("HasFlag(complete) = false")
	}
	if got, want := inv.GoFiles(), []string{"/src/lib/a.go", "/src/lib/b.go"}; !reflect.DeepEqual(got, want) {
		t.Errorf("GoFiles() = %q, want %q", got, want)
	}
	if got := inv.workDir(); got != "/w" {
		t.Errorf("workDir() = %q, want /w", got)
	}
	args, err := inv.WithFlag("importcfg", "/new/cfg")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := flagValue(args, "importcfg"); v != "/new/cfg" {
		t.Errorf("after WithFlag, importcfg = %q", v)
	}
	args, err = inv.WithFlag("lang", "go1.22")
	if err != nil {
		t.Fatal(err)
	}
	if args[6] != "-lang=go1.22" {
		t.Errorf("WithFlag kept the -name=value form badly: %q", args[6])
	}
	if _, err := inv.WithFlag("embedcfg", "x"); err == nil {
		t.Error("WithFlag of an absent flag succeeded")
	}
	if inv.Args[9] != "/w/b002/importcfg" {
		t.Error("WithFlag changed the invocation's own arguments")
	}
}

func TestParseInvocationOthers(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		tool    string
		version bool
		goTool  bool
	}{
		{[]string{"/usr/local/go/pkg/tool/linux_amd64/link", "-V=full"}, "link", true, true},
		{[]string{`C:\go\pkg\tool\windows_amd64\asm.exe`, "-V=full"}, "asm", true, false},
		{[]string{"gcc", "-###", "-x", "c", "-c", "-"}, "gcc", false, false},
		{[]string{"/usr/local/go/pkg/tool/linux_amd64/vet", "/w/b001/vet.cfg"}, "vet", false, true},
	} {
		inv, err := ParseInvocation(tc.args)
		if err != nil {
			t.Fatal(err)
		}
		if inv.Tool() != tc.tool && filepath.Separator == '/' && tc.tool != "asm" {
			t.Errorf("%q: Tool() = %q, want %q", tc.args, inv.Tool(), tc.tool)
		}
		if inv.IsVersionQuery() != tc.version || inv.IsGoTool() != tc.goTool {
			t.Errorf("%q: IsVersionQuery() = %v, IsGoTool() = %v", tc.args, inv.IsVersionQuery(), inv.IsGoTool())
		}
		if len(inv.GoFiles()) != 0 {
			t.Errorf("%q: GoFiles() = %q", tc.args, inv.GoFiles())
		}
	}
	if _, err := ParseInvocation(nil); err == nil {
		t.Error("ParseInvocation(nil) succeeded")
	}
}

// TestParseInvocationResponseFile reads response files written as cmd/go
// writes them (encodeArg in cmd/go/internal/work: one argument a line, a
// backslash doubled, a newline as backslash-n), and as the Go tools read
// them (objabi.DecodeArg): carriage returns dropped, white space around the
// whole trimmed, nested files expanded.
func TestParseInvocationResponseFile(t *testing.T) {
	dir := t.TempDir()
	inner := filepath.Join(dir, "inner")
	if err := os.WriteFile(inner, []byte("-D\r\n\r\n-nested\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rsp := filepath.Join(dir, "args")
	content := "-p\n" +
		"example.com/lib\n" +
		`C:\\Users\\me\\a.go` + "\n" +
		`"quoted"` + "\n" +
		`two\nlines` + "\n" +
		`ends with \\n` + "\n" +
		"/src/with space/a.go\n" +
		"@" + inner + "\n" +
		"/src/b.go\n"
	if err := os.WriteFile(rsp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	orig := []string{"-o", "/w/b002/_pkg_.a", "@" + rsp}
	inv, err := ParseInvocation(append([]string{compileTool}, orig...))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-o", "/w/b002/_pkg_.a", "-p", "example.com/lib", `C:\Users\me\a.go`, `"quoted"`,
		"two\nlines", `ends with \n`, "/src/with space/a.go", "-D", "", "-nested", "/src/b.go"}
	if !reflect.DeepEqual(inv.Args, want) {
		t.Errorf("Args = %q, want %q", inv.Args, want)
	}
	if !reflect.DeepEqual(inv.Original, orig) || !inv.UsesResponseFile() {
		t.Errorf("Original = %q, UsesResponseFile = %v; want the arguments as passed", inv.Original, inv.UsesResponseFile())
	}
	if _, err := ParseInvocation([]string{compileTool, "@" + rsp + ".missing"}); err == nil {
		t.Error("a missing response file was not an error")
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte(`C:\Users`+"\n"), 0o644)
	if _, err := ParseInvocation([]string{compileTool, "@" + bad}); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("a response file the Go tools reject: err = %v", err)
	}
	loop := filepath.Join(dir, "loop")
	os.WriteFile(loop, []byte("@"+loop+"\n"), 0o644)
	if _, err := ParseInvocation([]string{compileTool, "@" + loop}); err == nil {
		t.Error("a response file that names itself was expanded")
	}
	plain, _ := ParseInvocation([]string{compileTool, "-p", "x"})
	if plain.UsesResponseFile() {
		t.Error("UsesResponseFile without one")
	}
}

func TestResponseArgRoundTrip(t *testing.T) {
	for _, arg := range []string{"", "plain", `C:\Users\me`, "a\nb", `\n`, "\\\n\\", `"q"`, "tab\there"} {
		enc := encodeResponseArg(arg)
		if strings.Contains(enc, "\n") {
			t.Errorf("encodeResponseArg(%q) = %q spans lines", arg, enc)
		}
		if dec, err := decodeResponseArg(enc); err != nil || dec != arg {
			t.Errorf("decode(encode(%q)) = %q, %v", arg, dec, err)
		}
	}
}

// TestArgsForTool checks the arguments a tool gets when the driver changed
// them: on the command line, or in a new response file in cmd/go's
// encoding when cmd/go used one.
func TestArgsForTool(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-importcfg", `C:\w\b001\importcfg`, "-X=main.v=a\nb", "/w/a.go"}
	inv := &Invocation{Path: compileTool, Args: []string{"-p", "x"}}
	if got, err := inv.argsForTool(args, filepath.Join(dir, "args")); err != nil || !reflect.DeepEqual(got, args) {
		t.Errorf("without a response file: %q, %v", got, err)
	}
	inv.Original = []string{"@" + filepath.Join(dir, "orig")}
	name := filepath.Join(dir, "args")
	got, err := inv.argsForTool(args, name)
	if err != nil || !reflect.DeepEqual(got, []string{"@" + name}) {
		t.Fatalf("with a response file: %q, %v", got, err)
	}
	data, _ := os.ReadFile(name)
	if want := "-importcfg\n" + `C:\\w\\b001\\importcfg` + "\n" + `-X=main.v=a\nb` + "\n/w/a.go\n"; string(data) != want {
		t.Errorf("response file:\n%s\nwant:\n%s", data, want)
	}
	back, err := ParseInvocation(append([]string{compileTool}, got...))
	if err != nil || !reflect.DeepEqual(back.Args, args) {
		t.Errorf("reading it back: %q, %v", back.Args, err)
	}
}

func TestIsTool(t *testing.T) {
	t.Setenv("GOVERSION", "")
	dir := t.TempDir()
	notExecutable := filepath.Join(dir, "notes.txt")
	os.WriteFile(notExecutable, []byte("x"), 0o644)
	for arg, want := range map[string]bool{filepath.Join(toolDir(), "compile"): true, dir: false, notExecutable: false, filepath.Join(dir, "missing"): false, "sh": false, "instrument": false} {
		if got := IsTool(arg); got != want {
			t.Errorf("outside a go command: IsTool(%q) = %v, want %v", arg, got, want)
		}
	}
	t.Setenv("GOVERSION", "go1.26.8")
	for arg, want := range map[string]bool{"sh": true, "no-such-program-here": false, "./sh": false} {
		if got := IsTool(arg); got != want {
			t.Errorf("under a go command: IsTool(%q) = %v, want %v", arg, got, want)
		}
	}
}
