package overmind

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestRuntimeStaysLight lists, once, every package the runtime and its
// internal packages import, and checks that none is heavy: no provider SDK
// (they are test dependencies of the integration module only), nor the
// server, its store and SQLite, the client or database/sql.
func TestRuntimeStaysLight(t *testing.T) {
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
	for _, want := range []string{
		"github.com/overmind-core/overmind-go/runtime/internal/llmcapture",
		"github.com/overmind-core/overmind-go/internal/spantree",
	} {
		if !slices.Contains(deps, want) {
			t.Fatalf("go list -deps does not list %s: %q", want, deps)
		}
	}
	// Module path prefixes: provider SDKs, and SQLite.
	prefixes := []string{
		"github.com/openai/",
		"github.com/anthropics/",
		"google.golang.org/genai",
		"github.com/sashabaranov/",
		"github.com/aws/",
		"github.com/tmc/langchaingo",
		"modernc.org/",
	}
	// Packages, with those below them: the server, the client and the
	// trace commands that use it; and database/sql itself.
	packages := []string{
		"github.com/overmind-core/overmind-go/server",
		"github.com/overmind-core/overmind-go/client",
		"github.com/overmind-core/overmind-go/internal/tracecmd",
	}
	if slices.Contains(deps, "database/sql") {
		t.Error("the runtime depends on database/sql")
	}
	for _, dep := range deps {
		for _, p := range prefixes {
			if strings.HasPrefix(dep, p) {
				t.Errorf("the runtime depends on %s", dep)
			}
		}
		for _, p := range packages {
			if dep == p || strings.HasPrefix(dep, p+"/") {
				t.Errorf("the runtime depends on %s", dep)
			}
		}
	}
}
