// Package rewrite turns //overmind: directives into instrumentation. It is
// the core both drivers share (package instrument/generate, which rewrites
// source files in place, and package instrument/toolexec, which rewrites a
// copy of each file as it is compiled): a pure transformation that loads
// nothing and writes nothing.
//
// # Packages
//
// [RewritePackage] is the step both drivers call, once per package: a
// [Package] (files parsed with comments, type information) and [Options]
// in, a [PackageResult] out, with the rewritten files and the problems
// found as [Diagnostic] values. It alone decides which files are looked at
// (those [HasDirective] or [MayNeedRewrite] would pick by their bytes, and
// their syntax confirms), what happens to files that did not parse, to
// generated files and to _test.go files, and refuses packages the runtime
// depends on. A driver prints each result with [Result.Format] (gofmt'd)
// or [Result.FormatLines] (with /*line*/ directives) and writes it.
//
// To extend the rewrite (a new statement form, a new directive option),
// change [File] and the directive grammar here: both drivers, and the
// golden cases that run through both, follow.
//
// # Directives
//
// [ParseDirective] parses one comment and [FindDirectives] finds and checks
// the directives of a parsed file; both need syntax only:
//
//	//overmind:KIND [NAME] [key=value ...]
//
// KIND is one of entry_point, workflow, tool, function, llm, observe and
// ignore; the options are type= (observe), capture= (all, none, inputs,
// outputs), and the label options user=, session=, conversation=,
// workflow= and agent=, each naming a parameter (a string, an integer or
// a fmt.Stringer) whose value labels the span and every span below it:
//
//	//overmind:entry_point handle user=userID conversation=threadID
//
// Problems come back as [Diagnostic] values; a label option naming no
// parameter, or one of another type, is an error at the option.
//
// Captured inputs are read at entry and outputs at return, without any of
// the program's locks: functions handed shared mutable state (a map or
// slice other goroutines change under a mutex) should use capture=none, or
// capture=outputs when only their parameters reach it (see [Capture]).
//
// # Rewriting
//
// [File], which RewritePackage calls for each file, takes an [Input] (a file parsed with comments, its package's
// *types.Package and *types.Info) and a [Mode]. It first removes any
// generated code it finds, which is what makes it idempotent and lets edits
// of directives and functions take effect; in [Instrument] mode it then
// instruments every function that has a directive. The [Result] holds the
// dst tree, the functions touched, the diagnostics, and the ranges of the
// input that held generated code. [Result.Format] prints it gofmt'd.
//
// An instrumented function starts with two statements:
//
//	ctx, _om := overmind.EnterContext(ctx, overmind.SpanTypeTool, "lookup_order", "example.com/shop.LookupOrder", func(in *overmind.Values) { in.Add("orderID", orderID) })
//	if _om != nil {
//		defer _om.Leave(&_omr1, func(out *overmind.Values) { out.Add("", _omr0) })
//	}
//
// Each label option adds a statement after these two, in the order
// written: overmind.Label(_om, "user", userID).
//
// The runtime returns a nil _om when tracing is off (before Init), and then
// nothing is deferred. When it is on, the deferred Leave recovers nothing
// either (it finds out by itself whether the function is returning,
// panicking or ending through runtime.Goexit): a panic goes through with
// the same message and stack as without instrumentation. Removal also
// recognises the form earlier versions generated, a deferred function
// literal calling _om.Exit(recover(), ...).
//
// Unnamed and blank parameters and results that the code must refer to are
// renamed _ompN and _omrN (with a trailing _ when they were blank), and the
// span is _om. These names are reserved: a function that uses one in its
// own code gets a diagnostic instead of instrumentation. They are what lets
// removal recognise generated code without ever mistaking user code for
// it, and restore the original names. A body that was on one line gets
// the marker comment //overmind:oneline on its prologue so that removal
// puts it back on one line. The runtime is imported as overmind, or
// overmind2, ... when a function has something else called overmind in
// scope; an existing import of it is reused.
//
// # Go statements
//
// Every go statement in the body of an instrumented function, in function
// literals too, starts a goroutine whose current span is the span current
// where the statement ran: its function value is wrapped in the runtime's
// Adopting function for the function's shape (see [AdoptingName]),
//
//	go worker(jobs, results)              // becomes
//	go overmind.Adopting2(worker)(jobs, results)
//
// on the same line, with the same arguments. The wrapper is evaluated in
// the calling goroutine, as the function value; with tracing off it
// returns the function itself. A go statement whose rewrite could change
// what the program does is left alone with a warning: when the function
// value or receiver might change, or panic, before the calls in the
// arguments that the compiler evaluates first; when the function has more
// parameters or results than the Adopting functions take; when the type
// arguments of a generic function cannot be written there. Builtins and
// the runtime's own functions are left alone. Removal unwraps every
// P.AdoptingN(f) in a function whose prologue it removes.
//
// # Positions
//
// Result.Decorator converted the input to the dst tree, and its maps relate
// the two: Decorator.Ast.Nodes maps a dst node to the input node it came
// from, so [Result.Origin] gives the original position of any node that
// existed in the input. Nodes the rewrite added are absent from the map;
// Func.Prologue lists the statements it inserted in each function. Together
// they are what a printer needs to emit //line directives that keep every
// original statement at its original file:line; [Result.FormatLines] is
// that printer, for the compile-time driver.
//
// The input's own //line directives are kept: dst lays the file out by its
// physical lines, and [Result.Format] prints every //line comment that was
// at column 1, where it is a directive, at column 1 again.
package rewrite
