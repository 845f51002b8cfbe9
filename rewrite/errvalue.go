package rewrite

import (
	"go/types"
	"strings"
	"unicode"
	"unicode/utf8"
)

// errorIsValue reports whether fn's last result, of type error, is the
// value the function computes rather than a report that it failed: its
// span then records the error as its output and ends as a success. The
// rule is read off the function's name and signature, so that it holds
// the same at every call, whatever the error's dynamic type:
//
//   - a method Unwrap or Cause, with no parameters and the one result
//     error, of a type that implements error: it returns the error
//     its receiver wraps (the errors package and github.com/pkg/errors
//     conventions);
//   - a function or method whose only result is error and which takes an
//     error (or errors: []error, ...error): it derives an error from
//     another, as Wrap, Wrapf, WithStack, WithMessage, Join and Cause(err)
//     do;
//   - a function or method whose only result is error and whose name is
//     New, Newf, Errorf or errorf, or starts with New or new followed by
//     an upper case letter (NewNotFound, newSyntaxError): a constructor.
//
// A function like Validate(x) error, Close() error or checkError(resp)
// error stays a failure report: a non-nil result marks its span failed.
func errorIsValue(fn *types.Func) bool {
	sig, ok := fn.Type().(*types.Signature)
	if !ok || sig.Results().Len() != 1 || !isError(sig.Results().At(0).Type()) {
		return false
	}
	name := fn.Name()
	if (name == "Unwrap" || name == "Cause") && sig.Params().Len() == 0 && sig.Recv() != nil {
		return implementsError(sig.Recv().Type())
	}
	for p := range sig.Params().Variables() {
		if takesErrors(p.Type()) {
			return true
		}
	}
	return isConstructorName(name)
}

// implementsError reports whether t, or a pointer to it, implements error.
func implementsError(t types.Type) bool {
	if types.Implements(t, errorType.Underlying().(*types.Interface)) {
		return true
	}
	if _, isPtr := types.Unalias(t).(*types.Pointer); !isPtr {
		return types.Implements(types.NewPointer(t), errorType.Underlying().(*types.Interface))
	}
	return false
}

// takesErrors reports whether a parameter of type t passes the function an
// error: error itself, or a slice of errors (a variadic ...error is one).
func takesErrors(t types.Type) bool {
	if isError(t) {
		return true
	}
	s, ok := types.Unalias(t).Underlying().(*types.Slice)
	return ok && isError(s.Elem())
}

// isConstructorName reports whether name reads as an error constructor.
func isConstructorName(name string) bool {
	switch name {
	case "New", "Newf", "Errorf", "errorf":
		return true
	}
	for _, prefix := range []string{"New", "new"} {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			if r, _ := utf8.DecodeRuneInString(rest); unicode.IsUpper(r) {
				return true
			}
		}
	}
	return false
}
