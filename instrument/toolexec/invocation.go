package toolexec

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Invocation is one tool command that cmd/go runs through -toolexec:
// the tool's path followed by its arguments.
type Invocation struct {
	// Path is the tool's path as cmd/go passed it, for instance
	// $GOROOT/pkg/tool/linux_amd64/compile, or gcc.
	Path string
	// Args are the tool's arguments, with response files (@file) expanded.
	Args []string
}

// ParseInvocation splits the arguments that follow "overmind toolexec"
// into the tool and its arguments. Response-file arguments (@file), which
// the Go tools accept, are expanded so flags and files can be inspected.
func ParseInvocation(args []string) (*Invocation, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("missing tool: expected 'toolexec TOOL [ARGS...]', as run by go build -toolexec")
	}
	inv := &Invocation{Path: args[0], Args: args[1:]}
	for _, a := range inv.Args {
		if strings.HasPrefix(a, "@") {
			expanded, err := expandResponseFiles(inv.Args)
			if err != nil {
				return nil, err
			}
			inv.Args = expanded
			break
		}
	}
	return inv, nil
}

// Tool is the tool's name: the base name of its path without an .exe
// suffix ("compile", "link", "asm", "gcc", ...).
func (inv *Invocation) Tool() string {
	return strings.TrimSuffix(filepath.Base(inv.Path), ".exe")
}

// IsVersionQuery reports whether this is cmd/go's "-V=full" probe, which
// it uses to key the build cache on the tool's identity.
func (inv *Invocation) IsVersionQuery() bool {
	return len(inv.Args) == 1 && inv.Args[0] == "-V=full"
}

// IsGoTool reports whether the tool lives in the Go tool directory
// ($GOROOT/pkg/tool/GOOS_GOARCH), as compile, link and asm do.
func (inv *Invocation) IsGoTool() bool {
	return filepath.Base(filepath.Dir(filepath.Dir(inv.Path))) == "tool" &&
		filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(inv.Path)))) == "pkg"
}

// GOROOT is the Go root the tool belongs to, derived from its path, or ""
// for a tool outside the Go tool directory.
func (inv *Invocation) GOROOT() string {
	if !inv.IsGoTool() {
		return ""
	}
	return filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(inv.Path))))
}

// Flag returns the value of a flag given as "-name value" or "-name=value"
// among the arguments before the first file, and whether it was present.
// A boolean flag given as "-name" is present with the value "".
func (inv *Invocation) Flag(name string) (string, bool) {
	return flagValue(inv.Args[:inv.firstFile()], name)
}

// flagValue finds -name's value in args (see Invocation.Flag).
func flagValue(args []string, name string) (string, bool) {
	dash := "-" + name
	for i, a := range args {
		if a == dash || a == "-"+dash {
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				return args[i+1], true
			}
			return "", true
		}
		if v, ok := strings.CutPrefix(a, dash+"="); ok {
			return v, true
		}
		if v, ok := strings.CutPrefix(a, "-"+dash+"="); ok {
			return v, true
		}
	}
	return "", false
}

// HasFlag reports whether the boolean flag -name is set.
func (inv *Invocation) HasFlag(name string) bool {
	v, ok := inv.Flag(name)
	return ok && (v == "" || v == "true" || v == "1")
}

// GoFiles are the Go source files on a compile command line: cmd/go puts
// them last, after every flag.
func (inv *Invocation) GoFiles() []string {
	return inv.Args[inv.firstFile():]
}

// firstFile is the index of the first Go file in Args, or len(Args).
func (inv *Invocation) firstFile() int {
	i := len(inv.Args)
	for i > 0 {
		a := inv.Args[i-1]
		if strings.HasPrefix(a, "-") || !strings.HasSuffix(a, ".go") {
			break
		}
		i--
	}
	return i
}

// WithFlag returns a copy of the arguments with the value of flag -name
// replaced, in whichever of the two forms it was given.
func (inv *Invocation) WithFlag(name, value string) ([]string, error) {
	args := append([]string(nil), inv.Args...)
	dash := "-" + name
	for i, a := range args[:inv.firstFile()] {
		switch {
		case a == dash && i+1 < len(args):
			args[i+1] = value
			return args, nil
		case strings.HasPrefix(a, dash+"="):
			args[i] = dash + "=" + value
			return args, nil
		}
	}
	return nil, fmt.Errorf("%s has no %s flag", inv.Tool(), dash)
}

// expandResponseFiles replaces each @file argument by the arguments the
// file lists, one a line, in the format the Go tools read (cmd/internal/
// objabi): a line starting with a double quote is a Go string literal.
func expandResponseFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		name, ok := strings.CutPrefix(a, "@")
		if !ok {
			out = append(out, a)
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading response file: %w", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, `"`) {
				unq, err := strconv.Unquote(line)
				if err != nil {
					return nil, fmt.Errorf("response file %s: malformed line %q: %w", name, line, err)
				}
				line = unq
			}
			out = append(out, line)
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("reading response file %s: %w", name, err)
		}
	}
	return out, nil
}

// workDir is cmd/go's $WORK directory for a compile or link: its importcfg
// lives in $WORK/bNNN/. It returns "" when there is no importcfg.
func (inv *Invocation) workDir() string {
	cfg, ok := inv.Flag("importcfg")
	if !ok || cfg == "" {
		return ""
	}
	return filepath.Dir(filepath.Dir(cfg))
}

// IsTool reports whether arg, the first argument of a command, is a tool
// cmd/go runs through -toolexec: an absolute path, as cmd/go passes the Go
// tools, or, under a go command (which puts GOVERSION in the environment
// of everything it runs), a program on $PATH, as it passes the C compiler.
// It lets "-toolexec=/path/to/overmind" work without the "toolexec" word,
// which is handy in GOFLAGS. Check the command's own subcommands first.
func IsTool(arg string) bool {
	if filepath.IsAbs(arg) {
		return true
	}
	if os.Getenv("GOVERSION") == "" || strings.ContainsAny(arg, `/\`) {
		return false
	}
	_, err := exec.LookPath(arg)
	return err == nil
}
