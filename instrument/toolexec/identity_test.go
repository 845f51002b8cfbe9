package toolexec

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRuntimeIdentityVersions(t *testing.T) {
	t.Setenv("GOWORK", "")
	dir := t.TempDir()
	sub := filepath.Join(dir, "cmd", "app")
	os.MkdirAll(sub, 0o777)
	mod := func(overmind, otel, other string) {
		writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/app\n\ngo 1.26\n\nrequire (\n\t"+ModulePath+" "+overmind+"\n\tgo.opentelemetry.io/otel "+otel+"\n\texample.com/other "+other+"\n)\n")
	}
	// Without the runtime module's go.mod at hand, every requirement counts.
	t.Setenv("GOMODCACHE", t.TempDir())
	mod("v0.1.0", "v1.0.0", "v1.0.0")
	base := runtimeIdentity(sub)
	if runtimeIdentity(dir) != base {
		t.Error("identity depends on the directory within the module")
	}
	mod("v0.2.0", "v1.0.0", "v1.0.0")
	if runtimeIdentity(sub) == base {
		t.Error("a new runtime version keeps the identity")
	}
	mod("v0.1.0", "v1.0.0", "v1.1.0")
	if runtimeIdentity(sub) == base {
		t.Error("without the runtime's go.mod, a dependency change must change the identity")
	}

	// With the runtime module's go.mod in the module cache, only the
	// modules it requires count.
	cache := t.TempDir()
	t.Setenv("GOMODCACHE", cache)
	writeFile(t, filepath.Join(cache, "cache/download/github.com/overmind-core/overmind-go/@v/v0.1.0.mod"),
		"module "+ModulePath+"\n\nrequire go.opentelemetry.io/otel v1.0.0\n")
	mod("v0.1.0", "v1.0.0", "v1.0.0")
	base = runtimeIdentity(sub)
	mod("v0.1.0", "v1.0.0", "v1.1.0")
	if runtimeIdentity(sub) != base {
		t.Error("a module the runtime does not use changed the identity")
	}
	mod("v0.1.0", "v1.2.0", "v1.1.0")
	if runtimeIdentity(sub) == base {
		t.Error("a new version of a runtime dependency keeps the identity")
	}

	// A module the runtime module requires only for the command does not
	// count either: listing it (as a module with the command as a tool
	// does) or upgrading it keeps the identity.
	writeFile(t, filepath.Join(cache, "cache/download/github.com/overmind-core/overmind-go/@v/v0.1.0.mod"),
		"module "+ModulePath+"\n\nrequire (\n\tgo.opentelemetry.io/otel v1.0.0\n\tgithub.com/dave/dst v0.28.0\n)\n")
	mod("v0.1.0", "v1.0.0", "v1.0.0")
	base = runtimeIdentity(sub)
	for _, dst := range []string{"v0.28.0", "v0.29.0"} {
		writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/app\n\ngo 1.26\n\nrequire (\n\t"+ModulePath+" v0.1.0\n\tgo.opentelemetry.io/otel v1.0.0\n\texample.com/other v1.0.0\n\tgithub.com/dave/dst "+dst+"\n)\n")
		if runtimeIdentity(sub) != base {
			t.Errorf("requiring github.com/dave/dst %s changed the identity", dst)
		}
	}
}

// TestCommandOnlyModules checks that no package the runtime package
// imports, on the platforms the go command lists it for here, comes from
// a module commandOnlyModules leaves out of the runtime's identity.
func TestCommandOnlyModules(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		cmd := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", ModulePath+"/runtime")
		cmd.Dir = filepath.Join("..", "..")
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64", "GOFLAGS=-mod=mod", "GOPROXY=off")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("GOOS=%s go list: %v", goos, err)
		}
		for _, mod := range strings.Fields(string(out)) {
			if commandOnlyModules[mod] {
				t.Errorf("GOOS=%s: the runtime imports a package of %s, which commandOnlyModules leaves out of its identity", goos, mod)
			}
		}
	}
}

func TestRuntimeIdentityLocalReplace(t *testing.T) {
	t.Setenv("GOWORK", "")
	dir := t.TempDir()
	local := t.TempDir()
	writeFile(t, filepath.Join(local, "go.mod"), "module "+ModulePath+"\n")
	writeFile(t, filepath.Join(local, "runtime", "call.go"), "package overmind\n")
	writeFile(t, filepath.Join(local, "runtime", "call_test.go"), "package overmind\n")
	writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/app\n\nrequire "+ModulePath+" v0.0.0\n\nreplace "+ModulePath+" => "+local+"\n")
	base := runtimeIdentity(dir)

	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(local, "runtime", "call_test.go"), later, later)
	if runtimeIdentity(dir) != base {
		t.Error("a test file of the runtime changed the identity")
	}
	os.Chtimes(filepath.Join(local, "runtime", "call.go"), later, later)
	if runtimeIdentity(dir) == base {
		t.Error("editing the local runtime keeps the identity")
	}
	base = runtimeIdentity(dir)
	writeFile(t, filepath.Join(local, "runtime", "internal", "x.go"), "package x\n")
	if runtimeIdentity(dir) == base {
		t.Error("a new file in the local runtime keeps the identity")
	}
}

func TestRuntimeIdentityWorkspaceAndNoModule(t *testing.T) {
	dir := t.TempDir()
	local := filepath.Join(dir, "overmind-go")
	writeFile(t, filepath.Join(local, "go.mod"), "module "+ModulePath+"\n")
	writeFile(t, filepath.Join(local, "runtime", "call.go"), "package overmind\n")
	writeFile(t, filepath.Join(dir, "app", "go.mod"), "module example.com/app\n")
	writeFile(t, filepath.Join(dir, "go.work"), "go 1.26\n\nuse (\n\t./app\n\t./overmind-go\n)\n")
	t.Setenv("GOWORK", "")
	base := runtimeIdentity(filepath.Join(dir, "app"))
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(local, "runtime", "call.go"), later, later)
	if runtimeIdentity(filepath.Join(dir, "app")) == base {
		t.Error("editing the runtime in the workspace keeps the identity")
	}
	t.Setenv("GOWORK", "off")
	if runtimeIdentity(filepath.Join(dir, "app")) == base {
		t.Error("GOWORK=off still reads the workspace")
	}
}
