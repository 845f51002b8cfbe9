package llmcapture

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestNoProviderSDKInRuntime checks that the runtime and its internal
// packages import no provider SDK: they are test dependencies only.
func TestNoProviderSDKInRuntime(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "list", "-deps", "github.com/overmind-core/overmind-go/runtime/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !contains(deps, "github.com/overmind-core/overmind-go/runtime/internal/llmcapture") {
		t.Fatalf("go list -deps does not list llmcapture: %q", deps)
	}
	for _, dep := range deps {
		for _, sdk := range []string{
			"github.com/openai/",
			"github.com/anthropics/",
			"google.golang.org/genai",
			"github.com/sashabaranov/",
			"github.com/aws/",
			"github.com/tmc/langchaingo",
		} {
			if strings.HasPrefix(dep, sdk) {
				t.Errorf("the runtime depends on %s", dep)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
