package toolexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// GoConfig configures [RunGo].
type GoConfig struct {
	// Self is the path of the overmind binary that -toolexec runs; ""
	// means the running executable.
	Self string
	// Go is the go command to run; "" means "go" from $PATH.
	Go string
	// Stdin, Stdout and Stderr are the go command's standard streams; nil
	// means the process's own.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// ReplaceProcess makes the go command replace the running process
	// where the system allows, instead of running as a child.
	ReplaceProcess bool
}

// goSubcommands are the go subcommands "overmind go" runs.
var goSubcommands = map[string]bool{"build": true, "test": true, "run": true, "install": true, "vet": true}

// RunGo runs "go ARGS..." (for instance "build ./...", "-C dir test
// -race ./...") with "-toolexec=SELF toolexec" added after the
// subcommand, and returns the go command's exit code. The go command's
// flags, GOFLAGS and environment are kept; a -toolexec already set on the
// command line or in GOFLAGS is an error rather than silently replaced.
func RunGo(ctx context.Context, cfg GoConfig, args []string) int {
	stderr := cfg.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	goArgs, err := goCommandArgs(cfg.Self, args, os.Getenv("GOFLAGS"))
	if err != nil {
		fmt.Fprintf(stderr, "overmind go: %v\n", err)
		return 2
	}
	goBin := cfg.Go
	if goBin == "" {
		if goBin, err = exec.LookPath("go"); err != nil {
			fmt.Fprintf(stderr, "overmind go: %v\n", err)
			return 2
		}
	}
	if cfg.ReplaceProcess {
		os.Setenv(goArgsEnv, goArgsForEnv(goArgs))
		if err := replaceProcess(goBin, goArgs); err != nil && !errors.Is(err, errReplaceUnsupported) {
			fmt.Fprintf(stderr, "overmind go: %v\n", err)
			return 2
		}
	}
	cmd := exec.CommandContext(ctx, goBin, goArgs...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = cfg.Stdin, cfg.Stdout, stderr
	if cmd.Stdin == nil {
		cmd.Stdin = os.Stdin
	}
	if cmd.Stdout == nil {
		cmd.Stdout = os.Stdout
	}
	cmd.Env = append(os.Environ(), goArgsEnv+"="+goArgsForEnv(goArgs))
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return ee.ExitCode()
	}
	fmt.Fprintf(stderr, "overmind go: %v\n", err)
	return 2
}

// goCommandArgs builds the go command's arguments for RunGo.
func goCommandArgs(self string, args []string, goflags string) ([]string, error) {
	if self == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("locating the overmind binary: %w", err)
		}
		self = exe
	}
	sub, rest := splitGoArgs(args)
	if sub == "" {
		return nil, errors.New("missing command: usage: overmind go build|test|run|install|vet [arguments]")
	}
	if !goSubcommands[sub] {
		return nil, fmt.Errorf("unsupported command %q: overmind go runs build, test, run, install and vet", sub)
	}
	if hasToolexecFlag(sub, rest) {
		return nil, errors.New("-toolexec is already set on the command line; overmind go sets it itself (use go " + sub + ` -toolexec="overmind toolexec" to combine tools by hand)`)
	}
	if strings.Contains(goflags, "-toolexec") {
		return nil, fmt.Errorf("GOFLAGS already sets -toolexec (%s); run the go command directly, or unset it", goflags)
	}
	quoted, err := quoteToolexecWord(self)
	if err != nil {
		return nil, err
	}
	prefix := args[:len(args)-len(rest)-1] // -C dir, if any
	out := append([]string(nil), prefix...)
	out = append(out, sub, "-toolexec="+quoted+" toolexec")
	return append(out, rest...), nil
}

// hasToolexecFlag reports whether go subcommand arguments set -toolexec.
func hasToolexecFlag(sub string, args []string) bool {
	for _, a := range args {
		if a == "--" || (sub == "test" && (a == "-args" || a == "--args")) {
			return false
		}
		if !strings.HasPrefix(a, "-") && sub != "test" {
			return false
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "toolexec" {
			return true
		}
	}
	return false
}

// quoteToolexecWord quotes a path for the -toolexec flag, whose value
// cmd/go splits into words at spaces, honouring single and double quotes
// (without escapes).
func quoteToolexecWord(s string) (string, error) {
	if !strings.ContainsAny(s, " \t\n'\"") {
		return s, nil
	}
	if !strings.Contains(s, "'") {
		return "'" + s + "'", nil
	}
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`, nil
	}
	return "", fmt.Errorf("the path of the overmind binary, %q, has both kinds of quotes and cannot be passed to -toolexec", s)
}
