package server

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestRuntimeImportsNoServer keeps the runtime light: neither the server,
// its store and SQLite, nor the client enter a program through it.
func TestRuntimeImportsNoServer(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs go list")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "list", "-deps", "github.com/overmind-core/overmind-go/runtime/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/overmind-core/overmind-go/internal/spantree") {
		t.Fatalf("go list -deps does not list the span tree the runtime renders with: %q", deps)
	}
	if slices.Contains(deps, "database/sql") {
		t.Error("the runtime depends on database/sql")
	}
	for _, dep := range deps {
		for _, heavy := range []string{
			"github.com/overmind-core/overmind-go/server",
			"github.com/overmind-core/overmind-go/client",
			"github.com/overmind-core/overmind-go/internal/tracecmd",
			"modernc.org/",
		} {
			if dep == heavy || strings.HasPrefix(dep, strings.TrimSuffix(heavy, "/")+"/") {
				t.Errorf("the runtime depends on %s", dep)
			}
		}
	}
}
