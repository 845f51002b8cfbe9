package jsonvalue

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/overmind-core/overmind-go/runtime/internal/redact"
)

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	errorType         = reflect.TypeFor[error]()
	urlType           = reflect.TypeFor[url.URL]()
)

// method is how a type encodes itself, if it does.
type method uint8

const (
	methodNone     method = iota
	methodJSON            // T implements json.Marshaler
	methodJSONAddr        // *T implements json.Marshaler
	methodError           // T implements error
	methodText            // T implements encoding.TextMarshaler
	methodTextAddr        // *T implements encoding.TextMarshaler
	methodURL             // T is url.URL: its string, scrubbed
)

// typeInfo is what the encoder caches per type.
type typeInfo struct {
	method method
	fields []field // for structs
	// guarded is set for the types whose data a lock guards (see
	// isGuarded), and for pointers to them: their fields are never read
	// and their methods never called.
	guarded bool
	// isError is set for the types that implement error: every string
	// written while encoding one of their values, whether by its Error,
	// MarshalJSON or MarshalText method or from its fields, is error text
	// and goes through the secret scrubber.
	isError bool
	// notData is set for the types whose values are not data (see
	// notdata.go): they are recorded as a placeholder naming the type.
	notData bool
}

// field is one encoded struct field.
type field struct {
	name      string
	index     []int
	omitEmpty bool
	omitZero  bool
	secret    bool
}

var typeCache sync.Map // reflect.Type -> *typeInfo

func infoFor(t reflect.Type) *typeInfo {
	if ti, ok := typeCache.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti := &typeInfo{method: methodFor(t), guarded: isGuarded(t)}
	ti.isError = t.Implements(errorType)
	ti.notData = notData(t)
	if t.Kind() == reflect.Pointer {
		ti.guarded = isGuarded(t.Elem())
	}
	if t.Kind() == reflect.Struct && !ti.guarded {
		ti.fields = structFields(t)
	}
	actual, _ := typeCache.LoadOrStore(t, ti)
	return actual.(*typeInfo)
}

// syncTypes are the types of package sync whose presence in a struct says
// that a lock, or the equivalent, guards the struct's data.
var syncTypes = map[string]bool{
	"Mutex": true, "RWMutex": true, "Map": true, "Once": true,
	"WaitGroup": true, "Cond": true, "Pool": true,
}

// isGuarded reports whether t's data is guarded by a lock: t is one of the
// types of package sync listed in syncTypes or any type of sync/atomic, or
// holds one by value (as a field, embedded or not, of a struct or array it
// holds by value, at any depth). The program may hold that lock and write
// the data while an instrumented function's inputs are read, so the
// serializer reads none of it. A pointer to a lock does not count: it
// says nothing about the data next to it.
func isGuarded(t reflect.Type) bool {
	switch t.PkgPath() {
	case "sync":
		if syncTypes[t.Name()] {
			return true
		}
	case "sync/atomic":
		if t.Name() != "" {
			return true
		}
	}
	switch t.Kind() {
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if isGuarded(t.Field(i).Type) {
				return true
			}
		}
	case reflect.Array:
		return t.Len() > 0 && isGuarded(t.Elem())
	}
	return false
}

func methodFor(t reflect.Type) method {
	ptr := t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface
	switch {
	case t == urlType:
		return methodURL
	case t.Implements(marshalerType):
		return methodJSON
	case ptr && reflect.PointerTo(t).Implements(marshalerType):
		return methodJSONAddr
	case t.Implements(errorType):
		return methodError
	case t.Implements(textMarshalerType):
		return methodText
	case ptr && reflect.PointerTo(t).Implements(textMarshalerType):
		return methodTextAddr
	}
	return methodNone
}

// reflectValue encodes rv, which holds a value nested depth levels deep.
func (e *encoder) reflectValue(rv reflect.Value, depth int) {
	if e.full() {
		return
	}
	if !rv.IsValid() {
		e.null()
		return
	}
	t := rv.Type()
	if depth > e.maxDepth && t.Kind() != reflect.Interface && t.Kind() != reflect.Pointer {
		e.placeholder("<truncated:" + t.String() + ">")
		return
	}
	ti := infoFor(t)
	if ti.guarded {
		e.guardedValue(rv, t)
		return
	}
	if ti.notData {
		e.notDataValue(rv, t)
		return
	}
	if ti.isError {
		// Should encoding panic, guard resets the count.
		e.errorText++
		e.typedValue(rv, t, ti, depth)
		e.errorText--
		return
	}
	e.typedValue(rv, t, ti, depth)
}

// typedValue encodes rv, of type t described by ti, through its method if
// it has one, else by its kind.
func (e *encoder) typedValue(rv reflect.Value, t reflect.Type, ti *typeInfo, depth int) {
	if ti.method != methodNone && e.viaMethod(rv, ti.method, depth) {
		return
	}
	e.kindValue(rv, t, ti, depth)
}

// guardedValue writes a value whose data a lock guards: null for a nil
// pointer, else a placeholder, without reading any of it.
func (e *encoder) guardedValue(rv reflect.Value, t reflect.Type) {
	if t.Kind() == reflect.Pointer && rv.IsNil() {
		e.null()
		return
	}
	e.placeholder("<guarded:" + t.String() + ">")
}

// kindValue encodes rv, of type t described by ti, by its kind: the
// encoding of a value that has no method of its own to encode it.
func (e *encoder) kindValue(rv reflect.Value, t reflect.Type, ti *typeInfo, depth int) {
	switch rv.Kind() {
	case reflect.Bool:
		e.buf = strconv.AppendBool(e.buf, rv.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.buf = strconv.AppendInt(e.buf, rv.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.buf = strconv.AppendUint(e.buf, rv.Uint(), 10)
	case reflect.Float32:
		e.float(rv.Float(), 32)
	case reflect.Float64:
		e.float(rv.Float(), 64)
	case reflect.Complex64, reflect.Complex128:
		e.complexValue(rv)
	case reflect.String:
		e.stringKindValue(rv, t)
	case reflect.Interface:
		e.interfaceValue(rv, depth)
	case reflect.Pointer:
		e.pointerValue(rv, t, depth)
	case reflect.Struct:
		e.structValue(rv, ti.fields, depth)
	case reflect.Map:
		e.mapValue(rv, depth)
	case reflect.Slice:
		e.sliceValue(rv, t, depth)
	case reflect.Array:
		e.arrayValue(rv, depth)
	case reflect.Func, reflect.Chan:
		e.opaqueValue(rv, t)
	case reflect.UnsafePointer:
		e.placeholder("<unsafe.Pointer>")
	default:
		e.placeholder("<unserializable:" + t.String() + ">")
	}
}

// complexValue writes a complex number as a string, which JSON has no
// number for.
func (e *encoder) complexValue(rv reflect.Value) {
	bits := 128
	if rv.Kind() == reflect.Complex64 {
		bits = 64
	}
	e.str(strconv.FormatComplex(rv.Complex(), 'g', -1, bits))
}

// stringKindValue writes a value of a string kind of type t: a
// json.Number as the number it holds, any other as a string value.
func (e *encoder) stringKindValue(rv reflect.Value, t reflect.Type) {
	if t == reflect.TypeFor[json.Number]() {
		e.number(json.Number(rv.String()))
		return
	}
	e.stringValue(rv.String())
}

// interfaceValue writes the value an interface holds, or null.
func (e *encoder) interfaceValue(rv reflect.Value, depth int) {
	if rv.IsNil() {
		e.null()
		return
	}
	e.reflectValue(rv.Elem(), depth)
}

// pointerValue writes the value a pointer of type t points to, or null,
// or a cycle placeholder if that value is already being encoded.
func (e *encoder) pointerValue(rv reflect.Value, t reflect.Type, depth int) {
	if rv.IsNil() {
		e.null()
		return
	}
	if !e.enter(rv.Pointer(), 0, t) {
		return
	}
	e.reflectValue(rv.Elem(), depth)
	e.leave()
}

// sliceValue writes a slice of type t: null when nil, base64 (or a
// placeholder) for bytes without a method of their own, else an array,
// or a cycle placeholder if the slice is already being encoded.
func (e *encoder) sliceValue(rv reflect.Value, t reflect.Type, depth int) {
	if rv.IsNil() {
		e.null()
		return
	}
	if t.Elem().Kind() == reflect.Uint8 && infoFor(t.Elem()).method == methodNone {
		e.bytes(rv.Bytes())
		return
	}
	if !e.enter(rv.Pointer(), rv.Len(), t) {
		return
	}
	e.arrayValue(rv, depth)
	e.leave()
}

// opaqueValue writes a func or a chan of type t, which have no JSON
// form: null when nil, else a placeholder naming the type.
func (e *encoder) opaqueValue(rv reflect.Value, t reflect.Type) {
	if rv.IsNil() {
		e.null()
		return
	}
	e.placeholder("<" + t.String() + ">")
}

// enter records a pointer on the current path; it reports false, after
// writing a cycle placeholder, if the pointer is already on it.
func (e *encoder) enter(ptr uintptr, n int, t reflect.Type) bool {
	for _, p := range e.path {
		if p.ptr == ptr && p.len == n {
			e.placeholder("<cycle:" + t.String() + ">")
			return false
		}
	}
	e.path = append(e.path, pathEntry{ptr: ptr, len: n})
	return true
}

func (e *encoder) leave() { e.path = e.path[:len(e.path)-1] }

// viaMethod encodes rv through its MarshalJSON, Error or MarshalText method
// and reports whether it did.
func (e *encoder) viaMethod(rv reflect.Value, m method, depth int) bool {
	switch m {
	case methodJSONAddr, methodTextAddr:
		if !rv.CanAddr() {
			return false // like encoding/json: only addressable values
		}
		rv = rv.Addr()
	}
	if (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface) && rv.IsNil() {
		e.null()
		return true
	}
	if !rv.CanInterface() {
		return false
	}
	v := rv.Interface()
	switch m {
	case methodURL:
		u := v.(url.URL)
		e.str(redact.Scrub(u.String()))
	case methodJSON, methodJSONAddr:
		out, ok := callMarshalJSON(v.(json.Marshaler))
		if !ok {
			e.placeholder("<unserializable:" + rv.Type().String() + ">")
			return true
		}
		e.rawJSON(out, depth)
	case methodError:
		msg, ok := callError(v.(error))
		if !ok {
			e.placeholder("<unserializable:" + rv.Type().String() + ">")
			return true
		}
		e.stringValue(msg)
	case methodText, methodTextAddr:
		out, ok := callMarshalText(v.(encoding.TextMarshaler))
		if !ok {
			e.placeholder("<unserializable:" + rv.Type().String() + ">")
			return true
		}
		e.stringValue(string(out))
	}
	return true
}

func callMarshalJSON(m json.Marshaler) (out []byte, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	out, err := m.MarshalJSON()
	if err != nil || !json.Valid(out) {
		return nil, false
	}
	return out, true
}

func callMarshalText(m encoding.TextMarshaler) (out []byte, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	out, err := m.MarshalText()
	return out, err == nil
}

func callError(err error) (msg string, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return err.Error(), true
}

// rawJSON writes valid JSON produced by a MarshalJSON method. If it might
// hold a secret-named key, or is an error's, it is decoded and encoded
// again so that the redaction rules (and the scrubber) apply to it too;
// otherwise it is only compacted.
func (e *encoder) rawJSON(b []byte, depth int) {
	if len(b) > 0 && (b[0] == '{' || b[0] == '[') && (e.errorText > 0 || mayHoldSecretKey(b)) {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			e.value(v, depth)
			return
		}
	}
	if len(b) > 0 && b[0] == '"' {
		// A string: apply the base64 rule to it as to any string.
		var s string
		if json.Unmarshal(b, &s) == nil {
			e.stringValue(s)
			return
		}
	}
	e.buf = appendCompact(e.buf, b)
}

// mayHoldSecretKey reports whether JSON text contains a fragment of a
// secret word, which is when re-encoding it is worth the cost.
func mayHoldSecretKey(b []byte) bool {
	lower := bytes.ToLower(b)
	for _, w := range []string{"pass", "secret", "token", "credential", "authorization", "api", "sensitive", "private"} {
		if bytes.Contains(lower, []byte(w)) {
			return true
		}
	}
	return false
}

// appendCompact appends valid JSON b without insignificant whitespace.
func appendCompact(dst, b []byte) []byte {
	inString, escaped := false, false
	for _, c := range b {
		if inString {
			dst = append(dst, c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inString = true
		}
		dst = append(dst, c)
	}
	return dst
}

func (e *encoder) arrayValue(rv reflect.Value, depth int) {
	e.buf = append(e.buf, '[')
	n := rv.Len()
	for i := 0; i < n; i++ {
		if e.full() {
			return
		}
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.reflectValue(rv.Index(i), depth+1)
	}
	e.buf = append(e.buf, ']')
}

func (e *encoder) structValue(rv reflect.Value, fields []field, depth int) {
	e.buf = append(e.buf, '{')
	first := true
	for i := range fields {
		if e.full() {
			return
		}
		f := &fields[i]
		fv, ok := fieldByIndex(rv, f.index)
		if !ok || f.omitEmpty && isEmpty(fv) || f.omitZero && fv.IsZero() {
			continue
		}
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		e.str(f.name)
		e.buf = append(e.buf, ':')
		if f.secret {
			e.str(redact.Placeholder)
			continue
		}
		e.reflectValue(fv, depth+1)
	}
	e.buf = append(e.buf, '}')
}

// fieldByIndex follows index through embedded structs, reporting false when
// it passes through a nil embedded pointer.
func fieldByIndex(rv reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && rv.Kind() == reflect.Pointer {
			if rv.IsNil() {
				return reflect.Value{}, false
			}
			rv = rv.Elem()
		}
		rv = rv.Field(x)
	}
	return rv, true
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

type mapEntry struct {
	key string
	val reflect.Value
}

func (e *encoder) mapValue(rv reflect.Value, depth int) {
	if rv.IsNil() {
		e.null()
		return
	}
	if !e.enter(rv.Pointer(), -1, rv.Type()) {
		return
	}
	defer e.leave()
	entries := make([]mapEntry, 0, min(rv.Len(), maxMapKeys))
	more := 0
	it := rv.MapRange()
	for it.Next() {
		if len(entries) == maxMapKeys {
			more++
			continue
		}
		entries = append(entries, mapEntry{key: mapKey(it.Key()), val: it.Value()})
	}
	slices.SortFunc(entries, func(a, b mapEntry) int { return strings.Compare(a.key, b.key) })
	e.buf = append(e.buf, '{')
	for i, kv := range entries {
		if e.full() {
			return
		}
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.str(kv.key)
		e.buf = append(e.buf, ':')
		if redact.IsSecretKey(kv.key) {
			e.str(redact.Placeholder)
			continue
		}
		e.reflectValue(kv.val, depth+1)
	}
	if more > 0 {
		e.buf = append(e.buf, `,"…":`...)
		e.str("<" + strconv.Itoa(more) + " more entries>")
	}
	e.buf = append(e.buf, '}')
}

// mapKey renders a map key as encoding/json does, falling back to fmt for
// key types encoding/json rejects.
func mapKey(k reflect.Value) string {
	if k.Kind() == reflect.String {
		return k.String()
	}
	if k.CanInterface() {
		if tm, ok := k.Interface().(encoding.TextMarshaler); ok {
			if k.Kind() == reflect.Pointer && k.IsNil() {
				return ""
			}
			if out, ok := callMarshalText(tm); ok {
				return string(out)
			}
		}
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10)
	}
	return sprintKey(k)
}

func sprintKey(k reflect.Value) (s string) {
	defer func() {
		if recover() != nil {
			s = "<" + k.Type().String() + ">"
		}
	}()
	if !k.CanInterface() {
		return "<" + k.Type().String() + ">"
	}
	return fmt.Sprint(k.Interface())
}

// structFields lists the fields encoding/json would encode for struct type
// t, with its rules for tags and embedded structs: a promoted field is
// hidden by a shallower one of the same name, and among equally deep ones
// a single tagged field wins, else none does.
func structFields(t reflect.Type) []field {
	out := dominantFields(fieldCandidates(t))
	// Fields are encoded in declaration order, embedded ones in place.
	slices.SortFunc(out, func(a, b field) int { return slices.Compare(a.index, b.index) })
	return out
}

// fieldCandidate is a field of a struct or of a struct it embeds, which
// is encoded unless another field of the same name hides it.
type fieldCandidate struct {
	field
	depth  int  // how many structs down it is: len(index)
	tagged bool // its name comes from its tag
}

// embeddedStruct is a struct type whose fields are promoted, at index.
type embeddedStruct struct {
	typ   reflect.Type
	index []int
}

// fieldCandidates lists the fields of struct type t and of the structs it
// embeds without a JSON name, shallower ones first, each struct type once.
func fieldCandidates(t reflect.Type) []fieldCandidate {
	var all []fieldCandidate
	visited := map[reflect.Type]bool{}
	next := []embeddedStruct{{typ: t}}
	for len(next) > 0 {
		current := next
		next = nil
		for _, em := range current {
			if visited[em.typ] {
				continue
			}
			visited[em.typ] = true
			all, next = em.candidates(all, next)
		}
	}
	return all
}

// candidates appends the encodable fields of em's type to all, and the
// structs it embeds without a JSON name, whose fields it promotes, to next.
func (em embeddedStruct) candidates(all []fieldCandidate, next []embeddedStruct) ([]fieldCandidate, []embeddedStruct) {
	for i := 0; i < em.typ.NumField(); i++ {
		sf := em.typ.Field(i)
		ft := sf.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		tag := sf.Tag.Get("json")
		if tag == "-" || !visibleField(sf, ft) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		index := append(slices.Clone(em.index), i)
		if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
			next = append(next, embeddedStruct{typ: ft, index: index})
			continue
		}
		all = append(all, newFieldCandidate(sf, name, opts, index))
	}
	return all, next
}

// visibleField reports whether encoding/json sees struct field sf, whose
// type is ft or a pointer to ft: an exported field, or an embedded struct
// (whose exported fields are promoted even when it is not exported).
func visibleField(sf reflect.StructField, ft reflect.Type) bool {
	if sf.Anonymous {
		return sf.IsExported() || ft.Kind() == reflect.Struct
	}
	return sf.IsExported()
}

// newFieldCandidate describes struct field sf at index, with the name and
// options of its JSON tag (an empty name keeps the Go name).
func newFieldCandidate(sf reflect.StructField, name, opts string, index []int) fieldCandidate {
	tagged := name != ""
	if !tagged {
		name = sf.Name
	}
	return fieldCandidate{
		field: field{
			name:      name,
			index:     index,
			omitEmpty: hasOption(opts, "omitempty"),
			omitZero:  hasOption(opts, "omitzero"),
			// A renamed field is still secret: `json:"pass"` on
			// Password must not let the value through.
			secret: redact.IsSecretKey(name) || redact.IsSecretKey(sf.Name),
		},
		depth:  len(index),
		tagged: tagged,
	}
}

// dominantFields keeps, of each set of candidates that share a name, the
// one that dominates, if any does, in the order of all.
func dominantFields(all []fieldCandidate) []field {
	groups := map[string][]int{}
	for i, c := range all {
		groups[c.name] = append(groups[c.name], i)
	}
	keep := make([]bool, len(all))
	for _, idxs := range groups {
		if i, ok := dominantField(all, idxs); ok {
			keep[i] = true
		}
	}
	var out []field
	for i, c := range all {
		if keep[i] {
			out = append(out, c.field)
		}
	}
	return out
}

// dominantField picks, of the candidates all[i] for i in idxs, which share
// a name, the one encoding/json encodes: the only shallowest one, else the
// only tagged one among the shallowest. It reports false when none is.
func dominantField(all []fieldCandidate, idxs []int) (int, bool) {
	minDepth := all[idxs[0]].depth
	for _, i := range idxs {
		minDepth = min(minDepth, all[i].depth)
	}
	var shallow, tagged []int
	for _, i := range idxs {
		if all[i].depth == minDepth {
			shallow = append(shallow, i)
			if all[i].tagged {
				tagged = append(tagged, i)
			}
		}
	}
	switch {
	case len(shallow) == 1:
		return shallow[0], true
	case len(tagged) == 1:
		return tagged[0], true
	}
	return 0, false
}

// hasOption reports whether the comma-separated tag options opts include
// want.
func hasOption(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}
