package rewrite_test

import (
	"bytes"
	"flag"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/txtar"

	"github.com/overmind-core/overmind-go/instrument/generate"
	"github.com/overmind-core/overmind-go/instrument/toolexec"
	"github.com/overmind-core/overmind-go/internal/gentest"
	"github.com/overmind-core/overmind-go/rewrite"
)

var update = flag.Bool("update", false, "rewrite the expected outputs and diagnostics in ../testdata/*.txtar")

// A golden case is a txtar archive in ../testdata:
//
//	comment          what the case is about
//	-- a.go --       input files: one package (more files allowed)
//	-- out/a.go --   expected output of a file that changes
//	-- diagnostics --  expected diagnostics, file:line:col: message
//
// Cases named error_*.txtar must produce an error, and then no output;
// the others must not.
type goldenCase struct {
	name    string
	path    string
	archive *txtar.Archive
	inputs  map[string][]byte
	outputs map[string][]byte
	diags   string
}

func (c *goldenCase) isError() bool { return strings.HasPrefix(c.name, "error_") }

func loadCases(t *testing.T) []*goldenCase {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no golden cases in ../testdata")
	}
	var cases []*goldenCase
	for _, p := range paths {
		a, err := txtar.ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		c := &goldenCase{
			name:    strings.TrimSuffix(filepath.Base(p), ".txtar"),
			path:    p,
			archive: a,
			inputs:  map[string][]byte{},
			outputs: map[string][]byte{},
		}
		for _, f := range a.Files {
			switch {
			case f.Name == "diagnostics":
				c.diags = string(f.Data)
			case strings.HasPrefix(f.Name, "out/"):
				c.outputs[strings.TrimPrefix(f.Name, "out/")] = f.Data
			default:
				if formatted, err := format.Source(f.Data); err == nil && !bytes.Equal(formatted, f.Data) {
					t.Errorf("%s: input %s is not gofmt'd", p, f.Name)
				}
				c.inputs[f.Name] = f.Data
			}
		}
		cases = append(cases, c)
	}
	return cases
}

// run instruments (or removes) every package of the module in dir and
// returns, per case and file, the new contents of the files that change,
// and per case its diagnostics.
func run(t *testing.T, dir string, remove bool) (map[string]map[string][]byte, map[string]string, *generate.Result) {
	t.Helper()
	res, err := generate.Run(generate.Options{Dir: dir, Patterns: []string{"./..."}, Remove: remove, Env: gentest.Env()})
	if err != nil {
		t.Fatal(err)
	}
	changes := map[string]map[string][]byte{}
	for _, c := range res.Changes {
		caseName, file := splitCasePath(t, dir, c.Path)
		if changes[caseName] == nil {
			changes[caseName] = map[string][]byte{}
		}
		changes[caseName][file] = c.New
	}
	diags := map[string]string{}
	for _, d := range res.Diagnostics {
		caseName, file := splitCasePath(t, dir, d.Pos.Filename)
		d.Pos.Filename = file
		diags[caseName] += d.String() + "\n"
	}
	return changes, diags, res
}

func splitCasePath(t *testing.T, dir, path string) (caseName, file string) {
	rel, err := filepath.Rel(dir, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		t.Fatalf("%s is not in the test module (%v)", path, err)
	}
	caseName, file, _ = strings.Cut(filepath.ToSlash(rel), "/")
	return caseName, file
}

func writeCases(t *testing.T, dir string, cases []*goldenCase) {
	gentest.WriteModule(t, dir, "example.com/golden")
	for _, c := range cases {
		files := map[string][]byte{}
		for name, data := range c.inputs {
			files[c.name+"/"+name] = data
		}
		gentest.WriteFiles(t, dir, files)
	}
}

// TestGolden checks every case in ../testdata: the output and diagnostics
// match; every output builds and passes go vet against the real runtime
// package; instrumenting the output changes nothing; and removing the
// instrumentation from the output gives what removing it from the input
// gives (for a clean input, the input itself).
func TestGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	var okCases, errCases []*goldenCase
	for _, c := range loadCases(t) {
		if c.isError() {
			errCases = append(errCases, c)
		} else {
			okCases = append(okCases, c)
		}
	}

	if len(errCases) == 0 || len(okCases) == 0 {
		t.Fatal("want both error_* cases and others")
	}
	errDir := filepath.Join(t.TempDir(), "errors")
	writeCases(t, errDir, errCases)
	_, errDiags, _ := run(t, errDir, false)
	for _, c := range errCases {
		if *update {
			c.diags = errDiags[c.name]
			c.outputs = map[string][]byte{}
			continue
		}
		if !rewrite.HasErrors(parseSeverity(errDiags[c.name])) {
			t.Errorf("%s: no error reported; got:\n%s", c.name, errDiags[c.name])
		}
		if got := errDiags[c.name]; got != c.diags {
			t.Errorf("%s: diagnostics differ\ngot:\n%swant:\n%s", c.name, got, c.diags)
		}
	}

	dir := filepath.Join(t.TempDir(), "golden")
	writeCases(t, dir, okCases)
	got, diags, res := run(t, dir, false)
	if res.HasErrors() {
		t.Fatalf("errors in cases not named error_*:\n%v", res.Diagnostics)
	}
	removedIn, _, _ := run(t, dir, true)
	for _, c := range okCases {
		if *update {
			c.outputs, c.diags = got[c.name], diags[c.name]
			continue
		}
		if diags[c.name] != c.diags {
			t.Errorf("%s: diagnostics differ\ngot:\n%swant:\n%s", c.name, diags[c.name], c.diags)
		}
		for _, name := range sortedKeys(c.inputs, got[c.name], c.outputs) {
			if g, w := got[c.name][name], c.outputs[name]; !bytes.Equal(g, w) {
				t.Errorf("%s: %s differs (-want +got):\n%s", c.name, name, generate.Diff(generate.Change{Path: name, Old: w, New: g}, ""))
			}
		}
	}
	if *update {
		for _, c := range append(okCases, errCases...) {
			writeArchive(t, c)
		}
	}

	// toolexec mode rewrites the same packages to the same code: its
	// output with the /*line*/ directives it adds taken out is generate
	// mode's, and it finds the same problems.
	viaToolexec, toolexecDiags := runToolexec(t, dir)
	for _, c := range okCases {
		for _, name := range sortedKeys(got[c.name], viaToolexec[c.name]) {
			if g, x := stripLineComments(got[c.name][name]), stripLineComments(viaToolexec[c.name][name]); !bytes.Equal(g, x) {
				t.Errorf("%s: %s: toolexec mode's output differs from generate mode's (-generate +toolexec):\n%s", c.name, name, generate.Diff(generate.Change{Path: name, Old: g, New: x}, ""))
			}
		}
		if toolexecDiags[c.name] != diags[c.name] {
			t.Errorf("%s: toolexec mode's diagnostics differ:\n%s\ngenerate mode's:\n%s", c.name, toolexecDiags[c.name], diags[c.name])
		}
	}
	_, errToolexecDiags := runToolexec(t, errDir)
	for _, c := range errCases {
		if !rewrite.HasErrors(parseSeverity(errToolexecDiags[c.name])) && !loaderError(c) {
			t.Errorf("%s: toolexec mode reports no error; got:\n%s", c.name, errToolexecDiags[c.name])
		}
		for _, line := range strings.SplitAfter(errToolexecDiags[c.name], "\n") {
			if !strings.Contains(errDiags[c.name], line) {
				t.Errorf("%s: toolexec mode reports %q, generate mode does not", c.name, line)
			}
		}
	}

	// Replace the inputs by the outputs, then build and vet them all.
	for _, c := range okCases {
		files := map[string][]byte{}
		for name, data := range got[c.name] {
			files[c.name+"/"+name] = data
		}
		gentest.WriteFiles(t, dir, files)
	}
	gentest.Go(t, dir, "build", "./...")
	gentest.Go(t, dir, "vet", "./...")

	again, _, _ := run(t, dir, false)
	for caseName, files := range again {
		for name := range files {
			t.Errorf("%s: %s: instrumenting the output changes it again", caseName, name)
		}
	}
	removedOut, _, _ := run(t, dir, true)
	for _, c := range okCases {
		for name, in := range c.inputs {
			want := in
			if r, ok := removedIn[c.name][name]; ok {
				want = r
			}
			have := got[c.name][name]
			if have == nil {
				have = in
			}
			if r, ok := removedOut[c.name][name]; ok {
				have = r
			}
			if !bytes.Equal(have, want) {
				t.Errorf("%s: %s: -remove on the output does not give back the input (-want +got):\n%s", c.name, name, generate.Diff(generate.Change{Path: name, Old: want, New: have}, ""))
			}
		}
	}
}

// runToolexec loads the packages of the module in dir, with types, and
// instruments each through toolexec mode's rewriter, as a compile would.
// It returns per case and file the changed files, and per case the
// diagnostics, as run does.
func runToolexec(t *testing.T, dir string) (map[string]map[string][]byte, map[string]string) {
	t.Helper()
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles | packages.NeedImports |
			packages.NeedTypes | packages.NeedTypesInfo | packages.NeedSyntax,
		Dir: dir,
		Env: gentest.Env(),
	}
	pkgs, err := packages.Load(cfg, "./...")
	if err != nil {
		t.Fatal(err)
	}
	changes := map[string]map[string][]byte{}
	diags := map[string]string{}
	for _, pkg := range pkgs {
		if len(pkg.Syntax) == 0 || pkg.TypesInfo == nil {
			continue
		}
		tp := &toolexec.Package{ImportPath: pkg.PkgPath, Fset: pkg.Fset, Files: pkg.Syntax, Filenames: pkg.CompiledGoFiles, Types: pkg.Types, Info: pkg.TypesInfo}
		res, err := toolexec.Rewrite(tp)
		if err != nil {
			t.Fatalf("%s: %v", pkg.PkgPath, err)
		}
		for _, d := range res.Diagnostics {
			caseName, file := splitCasePath(t, dir, d.Pos.Filename)
			d.Pos.Filename = file
			diags[caseName] += d.String() + "\n"
		}
		for _, f := range res.Files {
			caseName, file := splitCasePath(t, dir, tp.Filenames[f.Index])
			if changes[caseName] == nil {
				changes[caseName] = map[string][]byte{}
			}
			changes[caseName][file] = f.Source
		}
	}
	return changes, diags
}

// lineComment matches the /*line file:line:col*/ directives toolexec mode
// inserts (and any the input has, taken out of both sides alike).
var lineComment = regexp.MustCompile(`/\*line [^*]*\*/`)

func stripLineComments(src []byte) []byte { return lineComment.ReplaceAll(src, nil) }

// loaderError reports whether an error case's errors are the loader's
// (type errors), which toolexec mode leaves to the compiler.
func loaderError(c *goldenCase) bool { return strings.Contains(c.name, "typecheck") }

func parseSeverity(diags string) []rewrite.Diagnostic {
	var out []rewrite.Diagnostic
	for _, line := range strings.Split(strings.TrimSpace(diags), "\n") {
		if line == "" {
			continue
		}
		d := rewrite.Diagnostic{Message: line}
		if strings.Contains(line, ": warning: ") {
			d.Severity = rewrite.Warning
		}
		out = append(out, d)
	}
	return out
}

func sortedKeys(maps ...map[string][]byte) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range maps {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// writeArchive stores the case's current outputs and diagnostics.
func writeArchive(t *testing.T, c *goldenCase) {
	a := &txtar.Archive{Comment: c.archive.Comment}
	for _, f := range c.archive.Files {
		if f.Name != "diagnostics" && !strings.HasPrefix(f.Name, "out/") {
			a.Files = append(a.Files, f)
		}
	}
	for _, name := range sortedKeys(c.outputs) {
		a.Files = append(a.Files, txtar.File{Name: "out/" + name, Data: c.outputs[name]})
	}
	if c.diags != "" {
		a.Files = append(a.Files, txtar.File{Name: "diagnostics", Data: []byte(c.diags)})
	}
	if err := os.WriteFile(c.path, txtar.Format(a), 0o644); err != nil {
		t.Fatal(err)
	}
}
