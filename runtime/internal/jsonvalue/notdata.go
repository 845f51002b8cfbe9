package jsonvalue

import (
	"fmt"
	"reflect"
)

// Values that are not data (API clients, loggers, database handles, the
// services of an SDK client, slices of option funcs) are recorded as one
// placeholder naming their type, "<*http.Client>", instead of a tree of
// nulls and "<func ...>" placeholders that says nothing and can run to
// kilobytes. Whether a type is data is decided from its structure alone,
// once per type (the answer is cached with the rest of typeInfo), so it
// costs nothing per call:
//
//   - A type with its own encoding (MarshalJSON, MarshalText, Error, or
//     url.URL) is data.
//   - Booleans, numbers and strings are data; funcs, channels and unsafe
//     pointers are not.
//   - An interface type is not data when one of its exported methods takes
//     an argument: it stands for something that does work (io.Reader,
//     http.RoundTripper, slog.Handler, context.Context, an SDK's
//     RequestOption). The empty interface, error, fmt.Stringer, interfaces
//     of getters only (Area() float64) and sealed interfaces (only
//     unexported methods, as sum types are written) are data.
//   - Pointers, slices, arrays and maps are what their element is.
//   - A struct is not data when the fields it would record (exported, not
//     tagged "-") that are not data outnumber those that are, or when it
//     records no field at all but has unexported ones (*slog.Logger,
//     *sql.DB: all hidden state). A data struct with a few unexported
//     fields, or with a func among its fields, stays recorded.
//
// A struct, a pointer to one, and a slice, array or map of what is not
// data are recorded as the placeholder; a nil pointer, slice or map as
// null. A value in an interface is judged by its dynamic type.

// notData reports whether values of type t are recorded as a placeholder
// naming t: t is a struct, pointer, slice, array or map type that is not
// data (see the rules above). Funcs and channels have placeholders of
// their own, and interfaces are judged by what they hold.
func notData(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Struct, reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return !isData(t, map[reflect.Type]bool{})
	}
	return false
}

// isData reports whether t is data. judged holds the composite types
// already judged in this walk, or being judged (recursive types, through a
// struct or not: type T []T, type M map[string]M): those count as data
// until known.
func isData(t reflect.Type, judged map[reflect.Type]bool) bool {
	if t == urlType || methodFor(t) != methodNone {
		return true
	}
	switch t.Kind() {
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return false
	case reflect.Interface:
		return isDataInterface(t)
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map, reflect.Struct:
		if data, ok := judged[t]; ok {
			return data
		}
		judged[t] = true
		var data bool
		if t.Kind() == reflect.Struct {
			data = isDataStruct(t, judged)
		} else {
			data = isData(t.Elem(), judged)
		}
		judged[t] = data
		return data
	}
	return true
}

var stringerType = reflect.TypeFor[fmt.Stringer]()

// isDataInterface reports whether interface type t stands for data: none
// of its exported methods takes an argument, or it is (or embeds) error,
// fmt.Stringer, json.Marshaler or encoding.TextMarshaler.
func isDataInterface(t reflect.Type) bool {
	for _, known := range []reflect.Type{errorType, stringerType, marshalerType, textMarshalerType} {
		if t.Implements(known) {
			return true
		}
	}
	for i := 0; i < t.NumMethod(); i++ {
		if m := t.Method(i); m.IsExported() && m.Type.NumIn() > 0 {
			return false
		}
	}
	return true
}

// isDataStruct reports whether struct type t is data: the fields it
// records that are data are at least as many as those that are not, and
// it records some field if it has unexported ones.
func isDataStruct(t reflect.Type, judged map[reflect.Type]bool) bool {
	data, notData := 0, 0
	for _, f := range structFields(t) {
		if f.secret || isData(t.FieldByIndex(f.index).Type, judged) {
			data++
		} else {
			notData++
		}
	}
	if data+notData == 0 {
		return !hasUnexportedField(t)
	}
	return data >= notData
}

func hasUnexportedField(t reflect.Type) bool {
	for i := 0; i < t.NumField(); i++ {
		if !t.Field(i).IsExported() {
			return true
		}
	}
	return false
}

// notDataValue writes a value of a type that is not data: null for a nil
// pointer, slice or map, else a placeholder naming the type.
func (e *encoder) notDataValue(rv reflect.Value, t reflect.Type) {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map:
		if rv.IsNil() {
			e.null()
			return
		}
	}
	e.placeholder("<" + t.String() + ">")
}
