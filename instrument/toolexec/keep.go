package toolexec

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/ast"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/overmind-core/overmind-go/rewrite"
)

// The rewrite of each file is kept across builds in the driver's cache
// directory (see persistDir), so that after an edit the compile of a
// package rewrites only the files that changed, and the compile of a
// package that imports it none. A kept rewrite is used only under a key
// made of everything the rewrite of the file can depend on:
//
//   - the overmind binary, and the environment that changes what it writes
//     (a package the runtime depends on, GOARCH for the type checker);
//   - the compiled package's paths (-p and the import path), its -lang,
//     the compile's directory and the list of its files;
//   - the file's bytes;
//   - the other files without the content of their function bodies: what
//     the rewrite of a file sees of another is the package's types and
//     names, which nothing in a function body can change. Where another
//     file's declarations are does not matter either: the one message of
//     the rewrite that names a place in another file is an error (a
//     redeclared nil), and a rewrite with an error is not kept;
//   - the export data of every import: the importcfg's lines, with each
//     archive named by its content, which is its name in the build cache,
//     and otherwise (an archive the build has just compiled) a hash of its
//     export data.

// keptHeader starts every kept rewrite; it changes with the entry format.
const keptHeader = "overmind rewrite v1\n"

// fileOutcome is what the rewrite made of one file.
type fileOutcome struct {
	// Source is the rewritten file, nil when the file was left as it is.
	Source []byte
	// Diagnostics are the problems found in the file.
	Diagnostics []rewrite.Diagnostic
}

// keptMeta is the line that follows keptHeader in a kept rewrite: the
// outcome without its source, which follows it.
type keptMeta struct {
	Changed     bool                 `json:"changed"`
	Size        int                  `json:"size"`
	Sum         string               `json:"sum"`
	Diagnostics []rewrite.Diagnostic `json:"diagnostics,omitempty"`
}

// keptRewrites are the kept rewrites of one compile's files.
type keptRewrites struct {
	dir  string   // where they are kept; "" keeps nothing
	keys []string // by file index; "" for a file that is never kept
	load bool     // whether kept rewrites are used, or only written
}

// rewriteKeys returns the kept rewrites of pkg, whose files' contents are
// srcs, compiled with the importcfg cfg as package pkgFlag (the compiler's
// -p flag). Keeping is off when the cache directory is, and when the
// inputs cannot all be read: the compile then rewrites every file.
func (d *driver) rewriteKeys(pkg *Package, srcs [][]byte, pkgFlag string, cfg *ImportConfig) *keptRewrites {
	kept := &keptRewrites{dir: d.keptDir, load: os.Getenv("OVERMIND_TOOLEXEC_NOCACHE") == ""}
	if kept.dir == "" {
		return kept
	}
	self, err := d.selfHash()
	if err != nil {
		return kept
	}
	cwd, err := os.Getwd()
	if err != nil {
		return kept
	}
	h := sha256.New()
	fmt.Fprintf(h, "%sovermind %s %s\n", keptHeader, d.version, self)
	fmt.Fprintf(h, "runtime-dependency %t\ngoarch %s\n", os.Getenv(childEnv) != "", goarch())
	fmt.Fprintf(h, "p %q path %q lang %q\ndir %q\n", pkgFlag, pkg.ImportPath, pkg.GoVersion, cwd)
	fileSums := make([][]byte, len(srcs))
	for i, src := range srcs {
		sum := sha256.Sum256(src)
		fileSums[i] = sum[:]
		fmt.Fprintf(h, "file %q %x\n", pkg.Filenames[i], outsideBodies(pkg, i, src))
	}
	if err := writeImportsDigest(h, cfg); err != nil {
		return kept
	}
	common := h.Sum(nil)
	kept.keys = make([]string, len(srcs))
	for i := range srcs {
		sum := sha256.Sum256(fmt.Appendf(nil, "%x %d %x", common, i, fileSums[i]))
		kept.keys[i] = hex.EncodeToString(sum[:])
	}
	return kept
}

// keptDir is the directory rewrites are kept in, "" when keeping is off.
func keptDir() string {
	if dir := persistDir(); dir != "" {
		return filepath.Join(dir, "rewrite")
	}
	return ""
}

// outsideBodies hashes file i of pkg, whose bytes are src, with the
// content of every function declaration's body left out.
func outsideBodies(pkg *Package, i int, src []byte) []byte {
	h := sha256.New()
	tf := pkg.Fset.File(pkg.Files[i].Pos())
	prev := 0
	for _, decl := range pkg.Files[i].Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Body == nil || tf == nil {
			continue
		}
		from, to := tf.Offset(fn.Body.Lbrace)+1, tf.Offset(fn.Body.Rbrace)
		if from < prev || to < from || to > len(src) {
			continue
		}
		h.Write(src[prev:from])
		prev = to
	}
	h.Write(src[prev:])
	return h.Sum(nil)
}

// writeImportsDigest writes to h the importcfg's lines, each packagefile
// line with its archive named by its content: the build cache's name for
// it, or a hash of its export data.
func writeImportsDigest(h hash.Hash, cfg *ImportConfig) error {
	for _, line := range strings.Split(string(cfg.Bytes()), "\n") {
		line = strings.TrimSpace(line)
		verb, args, _ := strings.Cut(line, " ")
		path, archive, _ := strings.Cut(args, "=")
		if verb != "packagefile" || contentNamed(archive) {
			fmt.Fprintf(h, "%s\n", line)
			continue
		}
		sum, err := exportDataSum(archive)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "packagefile %s export %x\n", path, sum)
	}
	return nil
}

// contentNamed reports whether archive is a file of the build cache,
// which names each output by the hash of its content
// (GOCACHE/xx/xxxx...-d), so that its name stands for its content.
func contentNamed(archive string) bool {
	base := filepath.Base(archive)
	sum, ok := strings.CutSuffix(base, "-d")
	if !ok || len(sum) != 2*sha256.Size || filepath.Base(filepath.Dir(archive)) != sum[:2] {
		return false
	}
	_, err := hex.DecodeString(sum)
	return err == nil
}

// exportDataSum hashes what the type checker reads of an archive: its
// export data (the __.PKGDEF member) without the build ID line, which
// changes with every compile of the package even when its export data
// does not. A file that is not an archive is hashed whole.
func exportDataSum(archive string) ([]byte, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	r := bufio.NewReader(f)
	head, _ := r.Peek(len(arMagic) + arHeaderLen)
	if len(head) == len(arMagic)+arHeaderLen && string(head[:len(arMagic)]) == arMagic &&
		strings.TrimSpace(string(head[len(arMagic):len(arMagic)+16])) == "__.PKGDEF" {
		size, err := strconv.Atoi(strings.TrimSpace(string(head[len(arMagic)+48 : len(arMagic)+58])))
		if err != nil || size < 0 {
			return nil, fmt.Errorf("%s: malformed archive header", archive)
		}
		r.Discard(len(head))
		data := make([]byte, size)
		if _, err := io.ReadFull(r, data); err != nil {
			return nil, fmt.Errorf("%s: %w", archive, err)
		}
		h.Write(withoutBuildID(data))
		return h.Sum(nil), nil
	}
	if _, err := io.Copy(h, r); err != nil {
		return nil, fmt.Errorf("%s: %w", archive, err)
	}
	return h.Sum(nil), nil
}

// withoutBuildID is export data without the "build id" line of its text
// header (which ends where the binary data starts, at "\n$$B\n").
func withoutBuildID(data []byte) []byte {
	end := bytes.Index(data, []byte("\n$$B\n"))
	if end < 0 {
		return data
	}
	i := bytes.Index(data[:end], []byte("\nbuild id "))
	if i < 0 {
		return data
	}
	j := i + 1 + bytes.IndexByte(data[i+1:], '\n')
	return append(append([]byte(nil), data[:i]...), data[j:]...)
}

// file is where the rewrite of file i is kept, "" when it is not.
func (k *keptRewrites) file(i int) string {
	if k.dir == "" || i >= len(k.keys) || k.keys[i] == "" {
		return ""
	}
	key := k.keys[i]
	return filepath.Join(k.dir, key[:2], key+".rw")
}

// get returns the kept rewrite of file i. An entry that is missing,
// unreadable or damaged is not there.
func (k *keptRewrites) get(i int) (fileOutcome, bool) {
	name := k.file(i)
	if name == "" || !k.load {
		return fileOutcome{}, false
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return fileOutcome{}, false
	}
	out, ok := decodeKept(data)
	if ok {
		markUsed(name)
	}
	return out, ok
}

// decodeKept decodes a kept rewrite, reporting whether it is whole.
func decodeKept(data []byte) (fileOutcome, bool) {
	rest, ok := bytes.CutPrefix(data, []byte(keptHeader))
	if !ok {
		return fileOutcome{}, false
	}
	line, src, ok := bytes.Cut(rest, []byte("\n"))
	var meta keptMeta
	if !ok || json.Unmarshal(line, &meta) != nil || meta.Size != len(src) {
		return fileOutcome{}, false
	}
	if sum := sha256.Sum256(src); hex.EncodeToString(sum[:]) != meta.Sum {
		return fileOutcome{}, false
	}
	out := fileOutcome{Diagnostics: meta.Diagnostics}
	if meta.Changed {
		out.Source = src
	}
	return out, true
}

// put keeps the rewrite of file i. Failing to is not an error: the next
// build rewrites the file again.
func (k *keptRewrites) put(i int, out fileOutcome) {
	name := k.file(i)
	if name == "" {
		return
	}
	sum := sha256.Sum256(out.Source)
	meta, err := json.Marshal(keptMeta{Changed: out.Source != nil, Size: len(out.Source), Sum: hex.EncodeToString(sum[:]), Diagnostics: out.Diagnostics})
	if err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o777); err != nil {
		return
	}
	data := append(append(append([]byte(keptHeader), meta...), '\n'), out.Source...)
	if writeFileAtomic(name, data) == nil {
		trimPersisted(k.dir, time.Now())
	}
}
