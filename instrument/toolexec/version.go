package toolexec

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// answerVersion answers cmd/go's "-V=full" probe of the compiler or the
// linker: the tool's own answer with overmind's identity appended. cmd/go
// keys every cache entry the tool produces on this line (for a release
// toolchain the whole line, for a development one the part after the
// last "/"), so instrumented builds never share cache entries with plain
// ones, and a new overmind binary, or a different runtime module,
// invalidates them.
func (d *driver) answerVersion(ctx context.Context, inv *Invocation) int {
	real, ok := cachedToolVersion(inv)
	if !ok {
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, inv.Path, inv.Args...)
		cmd.Stdin = d.stdin
		cmd.Stdout = &out
		cmd.Stderr = d.stderr
		if err := cmd.Run(); err != nil {
			return d.exitCode(err, inv)
		}
		real = strings.TrimSpace(out.String())
		storeToolVersion(inv, real)
	}
	suffix, err := d.versionSuffix()
	if err != nil {
		fmt.Fprintf(d.stderr, "overmind: %v\n", err)
		return 2
	}
	fmt.Fprintln(d.stdout, versionLine(real, suffix))
	return 0
}

// The tool's own -V=full answer is kept in the user's cache directory
// (see persistDir), keyed by the tool's path, size and modification time
// and the Go environment (GOEXPERIMENT changes the answer), so that a
// build need not run the compiler and the linker just to ask.

// toolVersionFile is where the answer of inv's tool is kept, with the
// stamp that must match for it to be used; "" if it is not kept.
func toolVersionFile(inv *Invocation) (name, stamp string) {
	dir := persistDir()
	if dir == "" {
		return "", ""
	}
	info, err := os.Stat(inv.Path)
	if err != nil || !info.Mode().IsRegular() {
		return "", ""
	}
	var env []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); buildEnv(name) {
			env = append(env, kv)
		}
	}
	slices.Sort(env)
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%q", inv.Path, env)))
	return filepath.Join(dir, "version", hex.EncodeToString(sum[:16])+".txt"),
		fmt.Sprintf("%d %d", info.Size(), info.ModTime().UnixNano())
}

// cachedToolVersion returns the kept -V=full answer of inv's tool.
func cachedToolVersion(inv *Invocation) (string, bool) {
	name, stamp := toolVersionFile(inv)
	if name == "" {
		return "", false
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return "", false
	}
	got, answer, ok := strings.Cut(string(data), "\n")
	if !ok || got != stamp || answer == "" {
		return "", false
	}
	markUsed(name)
	return answer, true
}

// storeToolVersion keeps the -V=full answer of inv's tool. Failing to is
// not an error.
func storeToolVersion(inv *Invocation, answer string) {
	name, stamp := toolVersionFile(inv)
	if name == "" || strings.Contains(answer, "\n") {
		return
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o777); err == nil {
		writeFileAtomic(name, []byte(stamp+"\n"+answer))
		trimPersisted(filepath.Dir(filepath.Dir(name)), time.Now())
	}
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

// versionSuffix is what answerVersion appends: overmind's version and
// binary hash, and the runtime's identity. The linker's answer carries the
// runtime's identity too: when nothing in a program imports the runtime,
// cmd/go does not count it among the link's inputs, and a runtime change
// that leaves its export data as it was would otherwise leave the program
// (or a test's result) cached with the old runtime linked in.
func (d *driver) versionSuffix() (string, error) {
	self, err := d.selfHash()
	if err != nil {
		return "", err
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return "overmind@" + d.version + "+" + self + "+rt" + runtimeIdentity(wd), nil
}
