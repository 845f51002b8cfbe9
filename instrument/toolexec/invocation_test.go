package toolexec

import (
	"os"
	"path/filepath"
	"reflect"
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

func TestParseInvocationResponseFile(t *testing.T) {
	rsp := filepath.Join(t.TempDir(), "args")
	if err := os.WriteFile(rsp, []byte("-p\nexample.com/lib\n\"/src/with space/a.go\"\n/src/b.go\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	inv, err := ParseInvocation([]string{compileTool, "-o", "/w/b002/_pkg_.a", "@" + rsp})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-o", "/w/b002/_pkg_.a", "-p", "example.com/lib", "/src/with space/a.go", "/src/b.go"}
	if !reflect.DeepEqual(inv.Args, want) {
		t.Errorf("Args = %q, want %q", inv.Args, want)
	}
	if _, err := ParseInvocation([]string{compileTool, "@" + rsp + ".missing"}); err == nil {
		t.Error("a missing response file was not an error")
	}
}

func TestIsTool(t *testing.T) {
	t.Setenv("GOVERSION", "")
	for arg, want := range map[string]bool{"/usr/local/go/pkg/tool/linux_amd64/compile": true, "sh": false, "instrument": false} {
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
