package toolexec

import (
	"reflect"
	"testing"
)

func TestMirroredBuildFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"build", "-race", "-o", "bin", "-tags", "a,b", "-gcflags=all=-N -l", "-x", "./..."},
			[]string{"-race", "-tags=a,b", "-gcflags=all=-N -l"}},
		{[]string{"build", "-gcflags", "-N -l", "-asmflags=-D=X", "-gcflags=example.com/...=-m", "./..."},
			[]string{"-gcflags=example.com/...=-m"}},
		{[]string{"-C", "sub", "build", "-trimpath", "-mod=vendor", "-toolexec", "overmind toolexec", "."},
			[]string{"-trimpath", "-mod=vendor", "-toolexec=overmind toolexec"}},
		{[]string{"run", "-race", ".", "-tags", "x"}, []string{"-race"}},
		{[]string{"test", "-run", "-race", "./...", "-count=1", "-race", "-cover", "-coverprofile", "c.out", "-args", "-tags=x"},
			[]string{"-race"}},
		{[]string{"test", "-cover", "-covermode=atomic", "-coverpkg", "./...", "./lib"},
			[]string{"-cover", "-covermode=atomic", "-coverpkg=./..."}},
		{[]string{"build", "-pgo=auto", "-pgo", "off", "--asan", "."}, []string{"-pgo=off", "-asan"}},
		{[]string{"vet", "-printf.funcs=Logf", "-buildmode=pie", "./..."}, []string{"-buildmode=pie"}},
		{[]string{"build"}, nil},
		{nil, nil},
	} {
		if got := mirroredBuildFlags(tc.args); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("mirroredBuildFlags(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestIsGoCommand(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want bool
	}{
		{[]string{"/usr/local/go/bin/go", "build", "./..."}, true},
		{[]string{"go", "-C", "x", "test"}, true},
		{[]string{"go1.26.8", "vet"}, true},
		{[]string{"go", "env"}, false},
		{[]string{"gopls", "build"}, false},
		{[]string{"/usr/bin/time", "go", "build"}, false},
		{[]string{"go"}, false},
	} {
		if got := isGoCommand(tc.argv); got != tc.want {
			t.Errorf("isGoCommand(%q) = %v, want %v", tc.argv, got, tc.want)
		}
	}
}

func TestVersionedPackage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"install", "example.com/tool@v1.2.3"}, "example.com/tool@v1.2.3"},
		{[]string{"install", "-trimpath", "-o", "x@y", "./cmd", "example.com/tool/cmd/...@latest"}, "example.com/tool/cmd/...@latest"},
		{[]string{"-C", "d", "run", "-race", "example.com/tool@v1", "arg@x"}, "example.com/tool@v1"},
		{[]string{"run", ".", "user@example.com"}, ""},
		{[]string{"install", "./cmd/..."}, ""},
		{[]string{"build", "example.com/tool@v1"}, ""},
		{[]string{"run", "-tags", "a@b", "main.go"}, ""},
		{nil, ""},
	} {
		if got := versionedPackage(tc.args); got != tc.want {
			t.Errorf("versionedPackage(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestToolBuildFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"-o", "/w/b002/_pkg_.a", "-trimpath", "/w/b002=>", "-p", "x", "a.go"}, nil},
		{[]string{"-trimpath", "/src/lib=>example.com/lib;/w/b002=>", "-race", "a.go"}, []string{"-race", "-trimpath"}},
		{[]string{"-trimpath=/tmp/overlay/a.go=>/src/lib/a.go;/w/b002=>", "-asan", "a.go"}, []string{"-asan"}},
		{[]string{"-o", "a.out", "-importcfg", "cfg", "-msan", "-buildmode=exe", "main.a"}, []string{"-msan"}},
		{[]string{"-trimpath", "/src/x=>example.com/x@v1.0.0;/w/b002=>", "-pgoprofile=/w/b003/pgo.preprofile", "a.go"}, []string{"-trimpath"}},
	} {
		if got := toolBuildFlags(&Invocation{Path: "compile", Args: tc.args}); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("toolBuildFlags(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
	got := goListFlags([]string{"build", "-trimpath", "-pgo=auto", "."}, "", []string{"-race", "-trimpath"})
	if want := []string{"-trimpath", "-race"}; !reflect.DeepEqual(got, want) {
		t.Errorf("goListFlags with the tool's flags = %q, want %q", got, want)
	}
}
