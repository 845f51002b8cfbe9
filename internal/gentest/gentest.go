// Package gentest helps tests of the code generator build throwaway Go
// modules that import the runtime package from this repository, and its
// benchmarks time two commands in turns.
package gentest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// RuntimeModule is the module path of this repository.
const RuntimeModule = "github.com/overmind-core/overmind-go"

// RepoRoot returns the root of this repository: the nearest directory at
// or above the working directory whose go.mod declares [RuntimeModule].
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module "+RuntimeModule+"\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod for %s above the working directory", RuntimeModule)
		}
		dir = parent
	}
}

var moduleLine = regexp.MustCompile(`(?m)^module .*$`)

// WriteModule makes dir the root of a module named modPath that requires
// this repository through a replace directive. It copies the repository's
// requirements and go.sum, so that the module builds offline with exactly
// the dependency versions the repository uses.
func WriteModule(t testing.TB, dir, modPath string) {
	t.Helper()
	root := RepoRoot(t)
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	mod := moduleLine.ReplaceAllString(string(gomod), "module "+modPath)
	mod += fmt.Sprintf("\nrequire %s v0.0.0\n\nreplace %s => %s\n", RuntimeModule, RuntimeModule, root)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Env is the environment for go commands in throwaway modules: offline,
// and free to use requirements the module lists but does not need.
func Env() []string {
	// GOSUMDB=off: the module cache, verified when it was filled, is the
	// only source, and the checksum database may be out of reach.
	return append(os.Environ(), "GOPROXY=off", "GOSUMDB=off", "GOFLAGS=-mod=mod", "GOWORK=off")
}

// Go runs the go command in dir and returns its combined output, failing
// the test if it fails.
func Go(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := GoErr(dir, args...)
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// GoErr runs the go command in dir and returns its combined output.
func GoErr(dir string, args ...string) (string, error) {
	return GoEnvErr(dir, Env(), args...)
}

// OnlineEnv is [Env] with the module proxy of the go command's own
// configuration: for the few commands that must fetch, as a user's would,
// what the module cache may lack (go mod tidy of a module that has the
// command as a tool wants the modules of its dependencies' tests).
func OnlineEnv() []string {
	proxy, err := exec.Command("go", "env", "GOPROXY").Output()
	if err != nil || strings.TrimSpace(string(proxy)) == "off" {
		proxy = []byte("https://proxy.golang.org")
	}
	return append(Env(), "GOPROXY="+strings.TrimSpace(string(proxy)))
}

// GoEnvErr runs the go command in dir with the environment env and
// returns its combined output.
func GoEnvErr(dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// WriteFiles writes files (relative path to contents) under dir.
func WriteFiles(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
