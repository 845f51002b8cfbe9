package toolexec

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	// Original are the tool's arguments as they were passed, response
	// files unexpanded: what a tool run unchanged gets. Nil means Args.
	Original []string
}

// ParseInvocation splits the arguments that follow "overmind toolexec"
// into the tool and its arguments. Response-file arguments (@file), which
// the Go tools accept, are expanded as those tools expand them, so that
// flags and files can be inspected; the arguments as passed are kept for
// running the tool unchanged. (cmd/go writes response files only for the
// Go tools it runs itself, when the command line grows past 30 KiB; under
// -toolexec they come from programs that wrap the driver or the tools.)
func ParseInvocation(args []string) (*Invocation, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("missing tool: expected 'toolexec TOOL [ARGS...]', as run by go build -toolexec")
	}
	inv := &Invocation{Path: args[0], Args: args[1:], Original: args[1:]}
	if inv.UsesResponseFile() {
		expanded, err := expandResponseFiles(inv.Args, 0)
		if err != nil {
			return nil, err
		}
		inv.Args = expanded
	}
	return inv, nil
}

// UsesResponseFile reports whether the tool was given (some of) its
// arguments in a response file.
func (inv *Invocation) UsesResponseFile() bool {
	for _, a := range inv.original() {
		if strings.HasPrefix(a, "@") {
			return true
		}
	}
	return false
}

// original are the arguments as passed (see Invocation.Original).
func (inv *Invocation) original() []string {
	if inv.Original == nil {
		return inv.Args
	}
	return inv.Original
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

// maxResponseFileDepth bounds how deeply response files may name other
// response files.
const maxResponseFileDepth = 16

// expandResponseFiles replaces each @file argument by the arguments the
// file lists, as the Go tools read them (cmd/internal/objabi): the file's
// text without carriage returns and surrounding white space, split at
// newlines, each line decoded (see decodeResponseArg), and expanded in
// turn.
func expandResponseFiles(args []string, depth int) ([]string, error) {
	var out []string
	for _, a := range args {
		name, ok := strings.CutPrefix(a, "@")
		if !ok {
			out = append(out, a)
			continue
		}
		if depth >= maxResponseFileDepth {
			return nil, fmt.Errorf("response file %s: response files nested more than %d deep", name, maxResponseFileDepth)
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading response file: %w", err)
		}
		lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(string(data), "\r", "")), "\n")
		for i, line := range lines {
			if lines[i], err = decodeResponseArg(line); err != nil {
				return nil, fmt.Errorf("response file %s, line %d: %w", name, i+1, err)
			}
		}
		expanded, err := expandResponseFiles(lines, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, expanded...)
	}
	return out, nil
}

// decodeResponseArg decodes one line of a response file as the Go tools
// do (objabi.DecodeArg): cmd/go writes a backslash as two and a newline
// as backslash-n (see encodeResponseArg); nothing else is escaped, and a
// backslash at the end of the line is dropped. Any other escape, which
// the tools reject, is an error.
func decodeResponseArg(line string) (string, error) {
	if !strings.Contains(line, `\`) {
		return line, nil
	}
	var b strings.Builder
	escaped := false
	for _, r := range line {
		switch {
		case !escaped && r == '\\':
			escaped = true
			continue
		case !escaped:
			b.WriteRune(r)
		case r == '\\':
			b.WriteByte('\\')
		case r == 'n':
			b.WriteByte('\n')
		default:
			return "", fmt.Errorf("malformed argument %q: unknown escape \\%c", line, r)
		}
		escaped = false
	}
	return b.String(), nil
}

// encodeResponseArg encodes an argument for a response file as cmd/go
// does: a backslash becomes two, a newline backslash-n.
func encodeResponseArg(arg string) string {
	return responseArgEncoder.Replace(arg)
}

var responseArgEncoder = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

// argsForTool returns the arguments to run inv's tool with, args being
// what it is to get: args themselves, or, when cmd/go gave the tool a
// response file, a response file holding them, written to name in cmd/go's
// encoding, so that a long command line stays within the system's limits.
func (inv *Invocation) argsForTool(args []string, name string) ([]string, error) {
	if !inv.UsesResponseFile() {
		return args, nil
	}
	var b strings.Builder
	for _, a := range args {
		b.WriteString(encodeResponseArg(a))
		b.WriteByte('\n')
	}
	if err := writeFileAtomic(name, []byte(b.String())); err != nil {
		return nil, fmt.Errorf("writing response file: %w", err)
	}
	return []string{"@" + name}, nil
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
// cmd/go runs through -toolexec: the absolute path of an executable file,
// as cmd/go passes the Go tools, or, under a go command (which puts
// GOVERSION in the environment of everything it runs), a program on $PATH,
// as it passes the C compiler. It lets "-toolexec=/path/to/overmind" work
// without the "toolexec" word, which is handy in GOFLAGS. Check the
// command's own subcommands first.
func IsTool(arg string) bool {
	if filepath.IsAbs(arg) {
		_, err := exec.LookPath(arg) // an executable file, not a directory
		return err == nil
	}
	if os.Getenv("GOVERSION") == "" || strings.ContainsAny(arg, `/\`) {
		return false
	}
	_, err := exec.LookPath(arg)
	return err == nil
}
