package toolexec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The export data a build resolves (see resolveWithGoList) is kept across
// builds in the user's cache directory, under a key made of everything
// that decides how the go command compiles the runtime and its
// dependencies: the overmind binary, the runtime's identity (module
// versions, or the files of a local copy), the toolchain, the Go and cgo
// environment, the build flags, and the main module with its vendor
// directory. An entry is used only if every archive it names is still in
// the build cache.

// persisted is what is kept for one resolved package.
type persisted struct {
	Deps   []string          `json:"deps"`
	Export map[string]string `json:"export"`
}

// persistDir is where resolutions are kept: $OVERMIND_CACHE, or
// overmind-go/toolexec in the user's cache directory; "" disables keeping.
func persistDir() string {
	if dir := os.Getenv("OVERMIND_CACHE"); dir != "" {
		if dir == "off" {
			return ""
		}
		return dir
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "overmind-go", "toolexec")
}

// persistKey is the key resolutions of this build are kept under.
func (d *driver) persistKey(inv *Invocation, parent goInvocation, flags []string) string {
	self, err := d.selfHash()
	if err != nil {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "overmind %s %s\n", d.version, self)
	fmt.Fprintf(h, "runtime %s\n", runtimeIdentity(parent.Dir))
	// The toolchain, not the tool: a link then finds what a compile kept.
	if root := inv.GOROOT(); root != "" {
		fmt.Fprintf(h, "goroot %s\n", root)
	} else {
		fmt.Fprintf(h, "tool %s\n", inv.Path)
	}
	fmt.Fprintf(h, "flags %q\n", flags)
	if gomod := findUp(parent.Dir, "go.mod"); gomod != "" {
		fmt.Fprintf(h, "module %s\n", gomod)
		if info, err := os.Stat(filepath.Join(filepath.Dir(gomod), "vendor", "modules.txt")); err == nil {
			fmt.Fprintf(h, "vendor %d %d\n", info.Size(), info.ModTime().UnixNano())
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if buildEnv(name) {
			env = append(env, kv)
		}
	}
	slices.Sort(env)
	fmt.Fprintf(h, "env %q\n", env)
	return hex.EncodeToString(h.Sum(nil))
}

// buildEnv reports whether the environment variable name can change what
// the go command compiles.
func buildEnv(name string) bool {
	switch name {
	case "GOMAXPROCS", "GOGC", "GOMEMLIMIT", "GOTRACEBACK", "GOTELEMETRY", "GOTELEMETRYDIR":
		return false
	case "CC", "CXX", "AR", "PKG_CONFIG":
		return true
	}
	return strings.HasPrefix(name, "GO") || strings.HasPrefix(name, "CGO_")
}

// persistFile is the file a package's resolution is kept in.
func persistFile(key, root string) string {
	dir := persistDir()
	if dir == "" || key == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(key + "\x00" + root))
	name := hex.EncodeToString(sum[:])
	return filepath.Join(dir, name[:2], name+".json")
}

// loadPersisted returns the kept resolution of root, if there is one and
// every archive it names still exists.
func loadPersisted(key, root string) (persisted, bool) {
	name := persistFile(key, root)
	if name == "" || os.Getenv("OVERMIND_TOOLEXEC_NOCACHE") != "" {
		return persisted{}, false
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return persisted{}, false
	}
	var rec persisted
	if err := json.Unmarshal(data, &rec); err != nil || rec.Export[root] == "" {
		return persisted{}, false
	}
	for _, archive := range rec.Export {
		if !touchArchive(archive) { // in use: keep it in the build cache too
			return persisted{}, false
		}
	}
	markUsed(name)
	return rec, true
}

// storePersisted keeps the resolution of root. Failing to is not an error:
// the next build resolves again.
func storePersisted(key, root string, rec persisted) {
	name := persistFile(key, root)
	if name == "" {
		return
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o777); err != nil {
		return
	}
	writeFileAtomic(name, data)
	trimPersisted(filepath.Dir(filepath.Dir(name)), time.Now())
}

// markUsed refreshes the modification time of a kept file that a build
// used, so that trimPersisted keeps it.
func markUsed(name string) {
	now := time.Now()
	if info, err := os.Stat(name); err == nil && now.Sub(info.ModTime()) > archiveUsedInterval {
		os.Chtimes(name, now, now)
	}
}

// Kept resolutions unused for persistUnused are deleted, at most once
// every persistTrimEvery, as the go command trims its build cache.
const (
	persistUnused    = 14 * 24 * time.Hour
	persistTrimEvery = 24 * time.Hour
)

// trimPersisted deletes the kept resolutions, tool version answers and
// rewrites in dir that no build used for persistUnused, if it was not
// done in the last persistTrimEvery.
func trimPersisted(dir string, now time.Time) {
	mark := filepath.Join(dir, "trim.txt")
	if info, err := os.Stat(mark); err == nil && now.Sub(info.ModTime()) < persistTrimEvery {
		return
	}
	if err := os.WriteFile(mark, []byte(now.UTC().Format(time.RFC3339)+"\n"), 0o666); err != nil {
		return
	}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path == mark {
			return nil
		}
		if ext := filepath.Ext(path); ext != ".json" && ext != ".txt" && ext != ".rw" {
			return nil
		}
		if info, err := d.Info(); err == nil && now.Sub(info.ModTime()) > persistUnused {
			os.Remove(path)
		}
		return nil
	})
}
