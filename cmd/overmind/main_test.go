package main

import (
	"bytes"
	"go/format"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/overmind-core/overmind-go/internal/gentest"
)

const shopSrc = `package shop

import (
	"context"
	"errors"
)

// Order is an order.
type Order struct{ ID string }

// LookupOrder finds an order.
//
//overmind:tool lookup_order
func LookupOrder(ctx context.Context, id string) (Order, error) {
	if id == "" {
		return Order{}, errors.New("no id")
	}
	return Order{ID: id}, ctx.Err()
}
`

const plainSrc = `package shop

// Plain has no directive and is never touched.
func Plain() int { return 1 }
`

// module writes a throwaway module with the shop package and makes it the
// working directory, with the go command set up to work offline.
func module(t *testing.T, files map[string]string) string {
	return moduleAt(t, "example.com/shop", files)
}

// moduleAt is module with another module path.
func moduleAt(t *testing.T, modPath string, files map[string]string) string {
	dir := t.TempDir()
	gentest.WriteModule(t, dir, modPath)
	bs := map[string][]byte{}
	for name, src := range files {
		bs[name] = []byte(src)
	}
	gentest.WriteFiles(t, dir, bs)
	t.Chdir(dir)
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("GOWORK", "off")
	return dir
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestInstrumentLifecycle(t *testing.T) {
	dir := module(t, map[string]string{"shop/shop.go": shopSrc, "shop/plain.go": plainSrc})
	shop := filepath.Join(dir, "shop", "shop.go")
	plain := filepath.Join(dir, "shop", "plain.go")
	if err := os.Chmod(shop, 0o600); err != nil {
		t.Fatal(err)
	}
	plainInfo, _ := os.Stat(plain)

	// -l lists what would change and exits 1; -diff prints it; neither writes.
	code, out, errOut := runCLI(t, "instrument", "-l", "./...")
	if code != 1 || out != "shop/shop.go\n" || errOut != "" {
		t.Fatalf("-l: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, "instrument", "-diff", "./...")
	if code != 0 || !strings.HasPrefix(out, "--- a/shop/shop.go\n+++ b/shop/shop.go\n") || !strings.Contains(out, "+\tctx, _om := overmind.EnterContext(ctx, overmind.SpanTypeTool, \"lookup_order\"") {
		t.Fatalf("-diff: code %d, stdout:\n%s", code, out)
	}
	if read(t, shop) != shopSrc {
		t.Fatal("-l or -diff wrote the file")
	}

	// instrument writes, keeps the mode, and leaves other files alone.
	if code, _, errOut := runCLI(t, "instrument", "./..."); code != 0 {
		t.Fatalf("instrument: code %d: %s", code, errOut)
	}
	instrumented := read(t, shop)
	if !strings.Contains(instrumented, "\tif _om != nil {\n\t\tdefer _om.Leave(&_omr1, func(out *overmind.Values) { out.Add(\"\", _omr0) })\n\t}\n") {
		t.Fatalf("not instrumented:\n%s", instrumented)
	}
	if info, _ := os.Stat(shop); info.Mode().Perm() != 0o600 {
		t.Errorf("mode changed to %v", info.Mode().Perm())
	}
	if info, _ := os.Stat(plain); !info.ModTime().Equal(plainInfo.ModTime()) {
		t.Error("a file without directives was rewritten")
	}
	gentest.Go(t, dir, "build", "./...")

	// A second run changes nothing and touches nothing.
	before, _ := os.Stat(shop)
	if code, out, _ := runCLI(t, "instrument", "-l", "./..."); code != 0 || out != "" {
		t.Fatalf("second -l: code %d, stdout %q", code, out)
	}
	if code, _, _ := runCLI(t, "instrument", "./..."); code != 0 {
		t.Fatal("second run failed")
	}
	if after, _ := os.Stat(shop); !after.ModTime().Equal(before.ModTime()) {
		t.Error("an unchanged file was written")
	}

	// -remove gives back the original bytes.
	if code, _, errOut := runCLI(t, "instrument", "-remove", "./..."); code != 0 {
		t.Fatalf("-remove: code %d: %s", code, errOut)
	}
	if got := read(t, shop); got != shopSrc {
		t.Fatalf("-remove did not restore the file:\n%s", got)
	}
}

func TestDiagnosticsStopEverything(t *testing.T) {
	bad := `package shop

//overmind:tols
func A() {}

//overmind:tool capture=some
func B() {}

// overmind:tool
func C() {}
`
	dir := module(t, map[string]string{"shop/shop.go": shopSrc, "shop/bad.go": bad})
	code, out, errOut := runCLI(t, "instrument", "./...")
	want := "shop/bad.go:3:12: unknown directive //overmind:tols: did you mean //overmind:tool?\n" +
		"shop/bad.go:6:17: unknown capture=some (want all, none, inputs or outputs)\n" +
		"shop/bad.go:9:1: warning: \"// overmind:tool\" is ignored: write //overmind:tool with no space after //\n"
	if code != 2 || out != "" || errOut != want {
		t.Fatalf("code %d, stdout %q, stderr:\n%s\nwant:\n%s", code, out, errOut, want)
	}
	if read(t, filepath.Join(dir, "shop", "shop.go")) != shopSrc {
		t.Fatal("a file was written although there were errors")
	}
}

func TestList(t *testing.T) {
	src := `package shop

// Cart is a cart.
type Cart struct{}

//overmind:workflow
func (c *Cart) Checkout() {}

//overmind:observe rank type=retrieval capture=none
func Rank() {}
`
	module(t, map[string]string{"shop/shop.go": shopSrc, "shop/cart.go": src})
	code, out, errOut := runCLI(t, "list", "./...")
	want := "shop/cart.go:6:1 workflow Cart.Checkout\n" +
		"shop/cart.go:9:1 observe rank\n" +
		"shop/shop.go:13:1 tool lookup_order\n"
	if code != 0 || out != want || errOut != "" {
		t.Fatalf("code %d, stdout:\n%s\nwant:\n%s\nstderr: %s", code, out, want, errOut)
	}
}

func TestUsage(t *testing.T) {
	if code, _, errOut := runCLI(t); code != 2 || !strings.Contains(errOut, "\tovermind <command> [arguments]\n") {
		t.Errorf("no args: code %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "frob"); code != 2 || !strings.Contains(errOut, `unknown command "frob"`) {
		t.Errorf("unknown: code %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "toolexec"); code != 2 || !strings.Contains(errOut, "missing tool") {
		t.Errorf("toolexec: code %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "go"); code != 2 || !strings.Contains(errOut, "missing command") {
		t.Errorf("go: code %d, %q", code, errOut)
	}
	for _, help := range []string{"-h", "help"} {
		if code, out, errOut := runCLI(t, "go", help); code != 0 || !strings.HasPrefix(out, "Usage:\n\n\tovermind go build|test|run|install|vet") || errOut != "" {
			t.Errorf("go %s: code %d, stdout %q, stderr %q", help, code, out, errOut)
		}
	}
	if code, _, errOut := runCLI(t, "go", "mod", "tidy"); code != 2 || !strings.Contains(errOut, `unsupported command "mod"`) {
		t.Errorf("go mod: code %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "instrument", "-nope"); code != 2 || !strings.Contains(errOut, "run 'overmind help instrument' for usage") {
		t.Errorf("bad flag: code %d, %q", code, errOut)
	}
	// Each command's -h prints its synopsis and flags, from doc.go.
	for _, args := range [][]string{{"instrument", "-h"}, {"help", "instrument"}} {
		if code, out, _ := runCLI(t, args...); code != 0 || !strings.HasPrefix(out, "Usage:\n\n\tovermind instrument [-diff]") || !strings.Contains(out, "\t-remove ") {
			t.Errorf("%v: code %d, stdout:\n%s", args, code, out)
		}
	}
	if code, out, _ := runCLI(t, "list", "-h"); code != 0 || !strings.Contains(out, "\tovermind list [-tags list]") {
		t.Errorf("list -h: code %d, stdout:\n%s", code, out)
	}
	if code, out, _ := runCLI(t, "version"); code != 0 || !strings.HasPrefix(out, "overmind devel go1.") {
		t.Errorf("version: code %d, %q", code, out)
	}
	// Outside a module, the command says so.
	t.Chdir(t.TempDir())
	t.Setenv("GOFLAGS", "")
	for _, args := range [][]string{{"instrument", "./..."}, {"instrument"}, {"list"}} {
		if code, _, errOut := runCLI(t, args...); code != 1 || errOut != "overmind: not in a Go module: run overmind in a module's directory (go mod init creates one)\n" {
			t.Errorf("%v outside a module: code %d, %q", args, code, errOut)
		}
	}
}

// TestGoGenerate runs the command the way users do: from a //go:generate
// line, in the package's directory.
func TestGoGenerate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	bin := filepath.Join(t.TempDir(), "bin")
	gentest.Go(t, ".", "build", "-o", filepath.Join(bin, "overmind"), ".")
	gen := "package shop\n\n//go:generate overmind instrument\n"
	dir := module(t, map[string]string{"shop/shop.go": shopSrc, "shop/gen.go": gen, "other/other.go": strings.Replace(shopSrc, "package shop", "package other", 1)})
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	gentest.Go(t, dir, "generate", "./...")
	if got := read(t, filepath.Join(dir, "shop", "shop.go")); !strings.Contains(got, "overmind.EnterContext(") {
		t.Fatalf("go generate did not instrument:\n%s", got)
	}
	if got := read(t, filepath.Join(dir, "other", "other.go")); strings.Contains(got, "overmind.EnterContext(") {
		t.Fatal("go generate in one package instrumented another")
	}
	gentest.Go(t, dir, "build", "./...")
}

func TestTags(t *testing.T) {
	tagged := "//go:build special\n\npackage shop\n\n//overmind:function\nfunc Special() int {\n\treturn 1\n}\n"
	dir := module(t, map[string]string{"shop/shop.go": shopSrc, "shop/tagged.go": tagged})
	code, out, _ := runCLI(t, "instrument", "-l", "./...")
	if code != 1 || out != "shop/shop.go\n" {
		t.Fatalf("without -tags: code %d, %q", code, out)
	}
	code, out, _ = runCLI(t, "instrument", "-l", "-tags", "special", "./...")
	if code != 1 || out != "shop/shop.go\nshop/tagged.go\n" {
		t.Fatalf("with -tags: code %d, %q", code, out)
	}
	if code, _, errOut := runCLI(t, "instrument", "-tags", "special", "./..."); code != 0 {
		t.Fatalf("instrument -tags: %s", errOut)
	}
	gentest.Go(t, dir, "build", "-tags", "special", "./...")
}

func TestTestFiles(t *testing.T) {
	test := "package shop\n\nimport \"testing\"\n\n//overmind:function\nfunc helper() int {\n\treturn 1\n}\n\nfunc TestHelper(t *testing.T) {\n\tif helper() != 1 {\n\t\tt.Fatal()\n\t}\n}\n"
	module(t, map[string]string{"shop/shop.go": shopSrc, "shop/shop_test.go": test})
	if code, out, _ := runCLI(t, "instrument", "-l", "./..."); code != 1 || out != "shop/shop.go\n" {
		t.Fatalf("without -test: code %d, %q", code, out)
	}
	if code, out, _ := runCLI(t, "instrument", "-l", "-test", "./..."); code != 1 || out != "shop/shop.go\nshop/shop_test.go\n" {
		t.Fatalf("with -test: code %d, %q", code, out)
	}
	if code, out, _ := runCLI(t, "list", "-test", "./..."); code != 0 || !strings.Contains(out, "shop/shop_test.go:5:1 function helper\n") {
		t.Fatalf("list -test: code %d, %q", code, out)
	}
}

// TestExternalTestPackage instruments, with -test, a package whose
// external test package (package shop_test) has a directive, in a module
// whose path mentions overmind (so that the test's generated main does
// too): both are loaded by the path of the package under test.
func TestExternalTestPackage(t *testing.T) {
	ext := `package shop_test

import (
	"context"
	"testing"

	"example.com/overmind-shop/shop"
)

//overmind:function
func lookup(id string) (shop.Order, error) {
	return shop.LookupOrder(context.Background(), id)
}

func TestLookup(t *testing.T) {
	if o, err := lookup("A-1"); err != nil || o.ID != "A-1" {
		t.Fatal(o, err)
	}
}
`
	dir := moduleAt(t, "example.com/overmind-shop", map[string]string{"shop/shop.go": shopSrc, "shop/ext_test.go": ext})
	code, out, errOut := runCLI(t, "instrument", "-l", "-test", "./...")
	if code != 1 || out != "shop/ext_test.go\nshop/shop.go\n" || errOut != "" {
		t.Fatalf("-l -test: code %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "instrument", "-test", "./..."); code != 0 {
		t.Fatalf("instrument -test: code %d\n%s", code, errOut)
	}
	if got := read(t, filepath.Join(dir, "shop", "ext_test.go")); !strings.Contains(got, `overmind.Enter(overmind.SpanTypeFunction, "lookup", "example.com/overmind-shop/shop_test.lookup"`) {
		t.Fatalf("ext_test.go not instrumented:\n%s", got)
	}
	gentest.Go(t, dir, "vet", "./...")
	if code, out, errOut := runCLI(t, "instrument", "-l", "-test", "./..."); code != 0 || out != "" {
		t.Fatalf("second -l -test: code %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
}

// TestFilePatterns instruments files named on the command line, which go
// list puts in a package of their own (command-line-arguments).
func TestFilePatterns(t *testing.T) {
	dir := module(t, map[string]string{"shop/shop.go": shopSrc, "shop/plain.go": plainSrc})
	if code, _, errOut := runCLI(t, "instrument", "shop/shop.go", "shop/plain.go"); code != 0 {
		t.Fatalf("instrument files: code %d\n%s", code, errOut)
	}
	if got := read(t, filepath.Join(dir, "shop", "shop.go")); !strings.Contains(got, "overmind.EnterContext(") {
		t.Fatalf("shop.go not instrumented:\n%s", got)
	}
	gentest.Go(t, dir, "build", "./...")
}

// TestRegenerateRenamedParameterWithTests renames a parameter of an
// instrumented function whose file is also part of the package's test
// variant: the stale prologue's type errors, reported by both variants,
// must not stop regenerating it.
func TestRegenerateRenamedParameterWithTests(t *testing.T) {
	test := "package shop\n\nimport \"testing\"\n\nfunc TestShop(t *testing.T) {}\n"
	dir := module(t, map[string]string{"shop/shop.go": shopSrc, "shop/shop_test.go": test})
	if code, _, errOut := runCLI(t, "instrument", "-test", "./..."); code != 0 {
		t.Fatalf("instrument -test: code %d\n%s", code, errOut)
	}
	shop := filepath.Join(dir, "shop", "shop.go")
	src := read(t, shop)
	renamed := strings.Replace(src, "id string", "key string", 1)
	renamed = strings.Replace(renamed, "if id == \"\"", "if key == \"\"", 1)
	renamed = strings.Replace(renamed, "Order{ID: id}", "Order{ID: key}", 1)
	if err := os.WriteFile(shop, []byte(renamed), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := gentest.GoErr(dir, "build", "./..."); err == nil {
		t.Fatal("the edited file builds: the test does not break the prologue")
	}
	if code, _, errOut := runCLI(t, "instrument", "-test", "./..."); code != 0 {
		t.Fatalf("instrument -test after renaming: code %d\n%s", code, errOut)
	}
	if got := read(t, shop); !strings.Contains(got, `in.Add("key", key)`) {
		t.Fatalf("not regenerated:\n%s", got)
	}
	gentest.Go(t, dir, "vet", "./...")
}

// TestRemoveDespiteTypeErrors takes instrumentation out of a package that
// no longer compiles for reasons of its own, and out of one whose module
// no longer provides the runtime: removing needs no type information.
func TestRemoveDespiteTypeErrors(t *testing.T) {
	broken := "package shop\n\n// Broken does not compile.\nfunc Broken() int { return \"one\" }\n"
	dir := module(t, map[string]string{"shop/shop.go": shopSrc, "shop/plain.go": plainSrc})
	if code, _, errOut := runCLI(t, "instrument", "./..."); code != 0 {
		t.Fatalf("instrument: code %d\n%s", code, errOut)
	}
	gentest.WriteFiles(t, dir, map[string][]byte{"shop/broken.go": []byte(broken)})
	shop := filepath.Join(dir, "shop", "shop.go")
	if code, _, errOut := runCLI(t, "instrument", "-remove", "./..."); code != 0 {
		t.Fatalf("-remove with a type error elsewhere: code %d\n%s", code, errOut)
	}
	if got := read(t, shop); got != shopSrc {
		t.Fatalf("-remove did not restore the file:\n%s", got)
	}
	if got := read(t, filepath.Join(dir, "shop", "broken.go")); got != broken {
		t.Fatalf("-remove touched an unrelated file:\n%s", got)
	}

	// Instrument again, then drop the runtime from go.mod.
	if err := os.Remove(filepath.Join(dir, "shop", "broken.go")); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "instrument", "./..."); code != 0 {
		t.Fatalf("instrument: code %d\n%s", code, errOut)
	}
	gentest.Go(t, dir, "mod", "edit", "-droprequire", gentest.RuntimeModule, "-dropreplace", gentest.RuntimeModule)
	if code, _, errOut := runCLI(t, "instrument", "-remove", "./..."); code != 0 {
		t.Fatalf("-remove without the runtime module: code %d\n%s", code, errOut)
	}
	if got := read(t, shop); got != shopSrc {
		t.Fatalf("-remove did not restore the file:\n%s", got)
	}
	gentest.Go(t, dir, "build", "./...")
}

// TestRemoveKeepsSyntaxErrors refuses to rewrite a file that does not
// parse: its syntax tree would be incomplete.
func TestRemoveKeepsSyntaxErrors(t *testing.T) {
	dir := module(t, map[string]string{"shop/shop.go": shopSrc})
	if code, _, errOut := runCLI(t, "instrument", "./..."); code != 0 {
		t.Fatalf("instrument: code %d\n%s", code, errOut)
	}
	shop := filepath.Join(dir, "shop", "shop.go")
	broken := strings.Replace(read(t, shop), "return Order{ID: id}, ctx.Err()", "return Order{ID: id}, ctx.Err(", 1)
	if err := os.WriteFile(shop, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "instrument", "-remove", "./...")
	if code != 2 || !strings.Contains(errOut, "shop/shop.go:") {
		t.Fatalf("-remove on a file that does not parse: code %d\n%s", code, errOut)
	}
	if read(t, shop) != broken {
		t.Fatal("a file that does not parse was rewritten")
	}
}

// TestSymlinkedFile writes through a source file that is a symbolic link:
// the target changes and the link stays a link.
func TestSymlinkedFile(t *testing.T) {
	dir := module(t, map[string]string{"shop/plain.go": plainSrc, "templates/shop.go.in": shopSrc})
	link := filepath.Join(dir, "shop", "shop.go")
	target := filepath.Join(dir, "templates", "shop.go.in")
	if err := os.Symlink(filepath.Join("..", "templates", "shop.go.in"), link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	if err := os.Chmod(target, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "instrument", "./..."); code != 0 {
		t.Fatalf("instrument: code %d\n%s", code, errOut)
	}
	info, err := os.Lstat(link)
	if err != nil || info.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("shop/shop.go is no longer a symbolic link (%v, %v)", info.Mode(), err)
	}
	if got := read(t, target); !strings.Contains(got, "overmind.EnterContext(") {
		t.Fatalf("the link's target was not instrumented:\n%s", got)
	}
	if info, _ := os.Stat(target); info.Mode().Perm() != 0o600 {
		t.Errorf("the target's mode changed to %v", info.Mode().Perm())
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "shop")); len(entries) != 2 {
		t.Errorf("shop/ holds %d entries, want shop.go and plain.go", len(entries))
	}
	gentest.Go(t, dir, "build", "./...")
}

// TestInstallFlow follows the README's instructions for a module of its
// own: the command as a tool, the runtime as a requirement, and a
// go:generate line that runs go tool overmind. This repository stands in
// for the published module through a replace directive.
func TestInstallFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command as a tool")
	}
	const (
		getTool    = "go get -tool github.com/overmind-core/overmind-go/cmd/overmind"
		getRuntime = "go get github.com/overmind-core/overmind-go/runtime"
		generate   = "//go:generate go tool overmind instrument"
	)
	root := gentest.RepoRoot(t)
	readme := read(t, filepath.Join(root, "README.md"))
	for _, s := range []string{getTool, getRuntime, generate} {
		if !strings.Contains(readme, s+"\n") {
			t.Fatalf("the README no longer says %q: update this test with it", s)
		}
	}
	dir := t.TempDir()
	gentest.Go(t, dir, "mod", "init", "example.com/app")
	gentest.Go(t, dir, "mod", "edit", "-replace", gentest.RuntimeModule+"="+root)
	gentest.Go(t, dir, strings.Fields(getTool)[1:]...)
	gentest.Go(t, dir, strings.Fields(getRuntime)[1:]...)
	app := "package main\n\nimport (\n\t\"context\"\n\t\"fmt\"\n)\n\n" + generate + "\n\n" +
		"// Greet greets.\n//\n//overmind:tool greet\nfunc Greet(ctx context.Context, name string) (string, error) {\n\treturn \"hello \" + name, nil\n}\n\n" +
		"func main() {\n\tfmt.Println(Greet(context.Background(), \"ada\"))\n}\n"
	gentest.WriteFiles(t, dir, map[string][]byte{"main.go": []byte(app)})
	gentest.Go(t, dir, "generate", "./...")
	if got := read(t, filepath.Join(dir, "main.go")); !strings.Contains(got, "overmind.EnterContext(") {
		t.Fatalf("go generate did not instrument:\n%s", got)
	}
	if out, err := gentest.GoEnvErr(dir, gentest.OnlineEnv(), "mod", "tidy"); err != nil {
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
	if mod := read(t, filepath.Join(dir, "go.mod")); !strings.Contains(mod, "tool github.com/overmind-core/overmind-go/cmd/overmind\n") {
		t.Fatalf("go.mod lost the tool:\n%s", mod)
	}
	if out := gentest.Go(t, dir, "run", "."); out != "hello ada <nil>\n" {
		t.Fatalf("the instrumented program prints %q", out)
	}
}

// TestMalformedSource gives the command files the Go parser rejects: a
// byte that is not UTF-8 in a comment (where the parser gives up on the
// file) and in a string literal (where it goes on), and a syntax error
// before a valid directive. Each is a positioned diagnostic, exit status
// 2, nothing written, and no diagnostic about directives the parser could
// not place.
func TestMalformedSource(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"comment", "package p\n\n// \xff\n\n//overmind:tool\nfunc A() {}\n", "p/a.go:3:4: illegal UTF-8 encoding\n"},
		{"string", "package p\n\nvar s = \"\xff\"\n\n//overmind:tool\nfunc A() {}\n", "p/a.go:3:10: illegal UTF-8 encoding\n"},
		{"syntax", "package p\n\nfunc B() {\n\tx :=\n}\n\n//overmind:tool\nfunc A() {}\n", "p/a.go:5:1: expected operand, found '}'\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := module(t, map[string]string{"p/a.go": tc.src})
			for _, args := range [][]string{{"instrument", "./..."}, {"instrument", "-remove", "./..."}, {"list", "./..."}} {
				code, out, errOut := runCLI(t, args...)
				if code != 2 || out != "" || !strings.HasPrefix(errOut, tc.want) || strings.Contains(errOut, "misplaced") {
					t.Errorf("%v: code %d, stdout %q, stderr:\n%s\nwant:\n%s", args, code, out, errOut, tc.want)
				}
			}
			if read(t, filepath.Join(dir, "p", "a.go")) != tc.src {
				t.Error("a file that does not parse was written")
			}
		})
	}
}

// TestNeverRecordedFunctions warns about directives on init and on main,
// whose spans could never be recorded, and leaves them uninstrumented.
func TestNeverRecordedFunctions(t *testing.T) {
	src := "package main\n\n//overmind:function\nfunc init() {}\n\n//overmind:entry_point\nfunc main() {}\n\n//overmind:tool\nfunc helper() {}\n"
	dir := module(t, map[string]string{"cmd/app/main.go": src})
	code, _, errOut := runCLI(t, "instrument", "./...")
	if code != 0 || !strings.Contains(errOut, "cmd/app/main.go:3:1: warning: //overmind:function on init is ignored: init functions run before main") ||
		!strings.Contains(errOut, "cmd/app/main.go:6:1: warning: //overmind:entry_point on main is ignored: main starts before it can call overmind.Init") {
		t.Fatalf("code %d, stderr:\n%s", code, errOut)
	}
	got := read(t, filepath.Join(dir, "cmd", "app", "main.go"))
	if strings.Count(got, "overmind.Enter(") != 1 || !strings.Contains(got, "func init() {}") || !strings.Contains(got, "func main() {}") {
		t.Fatalf("want only helper instrumented:\n%s", got)
	}
}

// TestAllBadOptionsReported reports every bad option of one directive.
func TestAllBadOptionsReported(t *testing.T) {
	module(t, map[string]string{"p/p.go": "package p\n\n//overmind:tool capture=some colour=red\nfunc A() {}\n"})
	code, _, errOut := runCLI(t, "instrument", "./...")
	want := "p/p.go:3:17: unknown capture=some (want all, none, inputs or outputs)\n" +
		"p/p.go:3:30: unknown option colour= (want type=, capture=, user=, session=, conversation=, workflow= or agent=)\n"
	if code != 2 || errOut != want {
		t.Fatalf("code %d, stderr:\n%s\nwant:\n%s", code, errOut, want)
	}
}

// TestExcludedByBuildConstraints warns about a file with directives that
// the build leaves out, naming the command that would rewrite it, and
// rewrites it when run that way.
func TestExcludedByBuildConstraints(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the test leaves out a windows file")
	}
	win := "package shop\n\n//overmind:function\nfunc Console() int {\n\treturn 1\n}\n"
	tagged := "//go:build special && !nothing\n\npackage shop\n\n//overmind:function\nfunc Special() int {\n\treturn 2\n}\n"
	dir := module(t, map[string]string{"shop/shop.go": shopSrc, "shop/term_windows.go": win, "shop/tagged.go": tagged})
	code, _, errOut := runCLI(t, "instrument", "./...")
	wantTag := "shop/tagged.go:3:1: warning: not instrumented: this build leaves the file out (//go:build special && !nothing); to rewrite it, run again as: overmind instrument -tags=special\n"
	wantWin := "shop/term_windows.go:1:1: warning: not instrumented: this build leaves the file out (its name, term_windows.go); to rewrite it, run again as: GOOS=windows overmind instrument\n"
	if code != 0 || errOut != wantTag+wantWin {
		t.Fatalf("code %d, stderr:\n%s\nwant:\n%s%s", code, errOut, wantTag, wantWin)
	}
	// (Running as the windows warning says would build the runtime's
	// dependencies for windows: the tags are as telling, and cheap.)
	if code, _, errOut := runCLI(t, "instrument", "-tags=special", "./..."); code != 0 || errOut != strings.Replace(wantWin, "\n", " -tags=special\n", 1) {
		t.Fatalf("-tags=special: code %d, stderr:\n%s", code, errOut)
	}
	if got := read(t, filepath.Join(dir, "shop", "tagged.go")); !strings.Contains(got, "overmind.Enter(") {
		t.Fatalf("tagged.go not instrumented with -tags=special:\n%s", got)
	}
}

// TestCgoFile instruments a file that uses cgo, and removes the code again.
func TestCgoFile(t *testing.T) {
	if out, _ := gentest.GoErr(".", "env", "CGO_ENABLED"); strings.TrimSpace(out) != "1" {
		t.Skip("cgo is disabled")
	}
	src := "package c\n\n// static int twice(int x) { return 2*x; }\nimport \"C\"\n\n//overmind:tool\nfunc Twice(x int) int {\n\treturn int(C.twice(C.int(x)))\n}\n"
	dir := module(t, map[string]string{"c/c.go": src})
	if code, _, errOut := runCLI(t, "instrument", "./..."); code != 0 || errOut != "" {
		t.Fatalf("instrument: code %d\n%s", code, errOut)
	}
	if got := read(t, filepath.Join(dir, "c", "c.go")); !strings.Contains(got, `overmind.Enter(overmind.SpanTypeTool, "Twice"`) {
		t.Fatalf("not instrumented:\n%s", got)
	}
	gentest.Go(t, dir, "build", "./...")
	if code, _, errOut := runCLI(t, "instrument", "-remove", "./..."); code != 0 || read(t, filepath.Join(dir, "c", "c.go")) != src {
		t.Fatalf("-remove: code %d\n%s", code, errOut)
	}
}

// TestRuntimeDependency refuses to instrument a package the runtime itself
// imports (here a copy of github.com/google/uuid, as its own module):
// generated code there would make an import cycle.
func TestRuntimeDependency(t *testing.T) {
	modDir := strings.TrimSpace(gentest.Go(t, ".", "list", "-m", "-f={{.Dir}}", "github.com/google/uuid"))
	src, err := os.ReadFile(filepath.Join(modDir, "version4.go"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"version4.go": strings.Replace(string(src), "\nfunc NewString()", "\n//overmind:function\nfunc NewString()", 1)}
	for _, name := range []string{"uuid.go", "version1.go", "hash.go", "marshal.go", "node.go", "node_net.go", "sql.go", "time.go", "util.go", "dce.go", "null.go", "version6.go", "version7.go"} {
		data, err := os.ReadFile(filepath.Join(modDir, name))
		if err == nil {
			files[name] = string(data)
		}
	}
	dir := moduleAt(t, "github.com/google/uuid", files)
	gentest.Go(t, dir, "mod", "edit", "-droprequire", "github.com/google/uuid")
	code, _, errOut := runCLI(t, "instrument", "./...")
	want := "cannot instrument NewString: the runtime package (github.com/overmind-core/overmind-go/runtime) depends on github.com/google/uuid, so generated code would make an import cycle"
	if code != 2 || !strings.HasPrefix(errOut, "version4.go:") || !strings.Contains(errOut, want) {
		t.Fatalf("code %d, stderr:\n%s", code, errOut)
	}
	if read(t, filepath.Join(dir, "version4.go")) != files["version4.go"] {
		t.Fatal("version4.go was written")
	}
}

// TestRemoveGivesBackGofmt checks what the README promises of -remove: a
// file that was not gofmt'd comes back as gofmt prints it, and one that
// was comes back byte for byte.
func TestRemoveGivesBackGofmt(t *testing.T) {
	ugly := "package shop\nimport \"context\"\n\n\n\n//overmind:tool\nfunc Get(ctx context.Context, id string) (string,error) {\n  return id,ctx.Err()}\n"
	dir := module(t, map[string]string{"shop/ugly.go": ugly})
	path := filepath.Join(dir, "shop", "ugly.go")
	want, err := format.Source([]byte(ugly))
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{ugly, string(want)} {
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"instrument", "./..."}, {"instrument", "-remove", "./..."}} {
			if code, _, errOut := runCLI(t, args...); code != 0 {
				t.Fatalf("%v: code %d\n%s", args, code, errOut)
			}
		}
		if got := read(t, path); got != string(want) {
			t.Errorf("instrument then -remove of\n%s\ngave\n%s\nwant gofmt's\n%s", src, got, want)
		}
	}
}
