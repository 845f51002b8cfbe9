package generate

import (
	"errors"
	"strings"
	"testing"
)

// TestExplainLoadError checks what the command says when the go command
// cannot load the packages: outside a module, and with go.sum entries
// missing (as in a module whose go.mod predates module graph pruning).
func TestExplainLoadError(t *testing.T) {
	outside := errors.New("err: exit status 1: stderr: go: go.mod file not found in current directory or any parent directory; see 'go help modules'\n")
	if got := explainLoadError(outside); got != errNotInModule {
		t.Errorf("outside a module: %v", got)
	}
	sum := errors.New("err: exit status 1: stderr: go: example.com/x@v1.0.0: missing go.sum entry for go.mod file; to add it:\n\tgo mod download example.com/x\n")
	got := explainLoadError(sum).Error()
	if strings.Contains(got, "exit status") || !strings.Contains(got, "missing go.sum entry") || !strings.Contains(got, "run go mod tidy") {
		t.Errorf("missing go.sum entry: %v", got)
	}
}
