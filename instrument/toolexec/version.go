package toolexec

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// answerVersion answers cmd/go's "-V=full" probe of the compiler or the
// linker: the tool's own answer with overmind's identity appended. cmd/go
// keys every cache entry the tool produces on this line (for a release
// toolchain the whole line, for a development one the part after the
// last "/"), so instrumented builds never share cache entries with plain
// ones, and a new overmind binary, or a different runtime module for the
// compiler, invalidates them.
func (d *driver) answerVersion(ctx context.Context, inv *Invocation) int {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, inv.Path, inv.Args...)
	cmd.Stdin = d.stdin
	cmd.Stdout = &out
	cmd.Stderr = d.stderr
	if err := cmd.Run(); err != nil {
		return d.exitCode(err, inv)
	}
	suffix, err := d.versionSuffix(inv.Tool())
	if err != nil {
		fmt.Fprintf(d.stderr, "overmind: %v\n", err)
		return 2
	}
	fmt.Fprintln(d.stdout, versionLine(strings.TrimSpace(out.String()), suffix))
	return 0
}

// versionLine adds suffix to a tool's -V=full answer where cmd/go reads
// it: for a development toolchain ("compile version devel ...
// buildID=..."), cmd/go keeps only the build ID's last part, so the suffix
// joins it; for a release, cmd/go keeps the whole line, so the suffix is
// one more word at its end.
func versionLine(real, suffix string) string {
	f := strings.Fields(real)
	if len(f) >= 3 && strings.Contains(f[2], "devel") && strings.HasPrefix(f[len(f)-1], "buildID=") {
		return real + ":" + suffix
	}
	return real + " " + suffix
}

// versionSuffix is what answerVersion appends for tool: overmind's version
// and binary hash, and for the compiler the runtime's identity.
func (d *driver) versionSuffix(tool string) (string, error) {
	self, err := d.selfHash()
	if err != nil {
		return "", err
	}
	s := "overmind@" + d.version + "+" + self
	if tool == "compile" {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		s += "+rt" + runtimeIdentity(wd)
	}
	return s, nil
}
