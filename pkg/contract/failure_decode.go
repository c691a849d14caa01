package contract

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds DecodeFailure's JSON decoder. Ingest decodes every failure
// event on its hot path, and encoding/json's reflection costs several times
// what a decoder written for the one type does. The decoder gives exactly
// the result json.Unmarshal gives, down to its less obvious rules, which the
// differential tests and fuzz target in failure_decode_test.go hold it to:
//
//   - keys match field names exactly or else case-insensitively under
//     Unicode simple folding ("ſchema" and "\u212Aind" name schema and
//     kind); the last of duplicate keys wins, and a repeated object is
//     decoded into what the earlier one left (test, service, error, run and
//     attributes merge; the frames of a repeated array are decoded over the
//     earlier frames, even those beyond its length but within its capacity,
//     which json.Unmarshal exposes again);
//   - null sets a pointer, slice or map to nil and leaves anything else as
//     it was; a null array element or attribute value is a zero frame or an
//     empty string;
//   - an unknown key's value is skipped but must still be valid JSON, nested
//     at most maxNestingDepth deep;
//   - an int takes only an integer literal in the range of int (not 1.0,
//     not 1e2), and the time goes to time.Time.UnmarshalJSON as raw bytes;
//   - \u escapes of lone surrogates become U+FFFD;
//   - any type mismatch, a top-level value other than an object or null,
//     and anything but whitespace after it are errors.

// maxNestingDepth is encoding/json's limit on nested arrays and objects,
// counting the top-level object.
const maxNestingDepth = 10000

// decodeFailure decodes data into f, refusing what decodeStrict refuses,
// with the same messages for an oversized payload and invalid UTF-8. Every
// error wraps ErrInvalidEvent.
func decodeFailure(data []byte, f *Failure) error {
	if len(data) > MaxFailureBytes {
		return fmt.Errorf("%w: failure is %d bytes, more than %d", ErrInvalidEvent, len(data), MaxFailureBytes)
	}
	if !utf8.Valid(data) {
		return fmt.Errorf("%w: failure is not valid UTF-8", ErrInvalidEvent)
	}
	d := failureDecoder{data: data}
	if err := d.document(f); err != nil {
		return fmt.Errorf("%w: decode failure: %v", ErrInvalidEvent, err)
	}
	return nil
}

// decodeError says what is wrong with the input and where.
type decodeError struct {
	off   int    // byte offset in the input
	field string // path of the field being decoded, like error.frames[2].line; "" outside any
	msg   string
}

func (e *decodeError) Error() string {
	if e.field == "" {
		return fmt.Sprintf("%s at offset %d", e.msg, e.off)
	}
	return fmt.Sprintf("field %s: %s at offset %d", e.field, e.msg, e.off)
}

// inField prefixes the path of a decodeError with a field name (or, when name
// starts with '[', an index).
func inField(err error, name string) error {
	if e, ok := err.(*decodeError); ok && name != "" {
		switch {
		case e.field == "":
			e.field = name
		case e.field[0] == '[':
			e.field = name + e.field
		default:
			e.field = name + "." + e.field
		}
	}
	return err
}

// failureDecoder is a cursor over one encoded failure.
type failureDecoder struct {
	data  []byte
	off   int
	bools []bool // allocated in blocks, for the frames' in_app
}

// The nesting depth of the values of each decoded object's members, for
// the depth limit on what they hold.
const (
	depthInFailure = 1 // members of the failure
	depthInObject  = 2 // members of test, service, error, run and attributes
	depthInFrames  = 3 // elements of error.frames
	depthInFrame   = 4 // members of a frame
)

// document decodes the whole input: one object (or null) and whitespace.
func (d *failureDecoder) document(f *Failure) error {
	d.skipSpace()
	if d.off >= len(d.data) {
		return d.unexpected("looking for beginning of value")
	}
	var err error
	switch d.data[d.off] {
	case '{':
		err = d.failure(f)
	case 'n':
		err = d.literal("null")
	default:
		err = d.mismatch("an object", 0)
	}
	if err != nil {
		return err
	}
	d.skipSpace()
	if d.off < len(d.data) {
		return d.unexpected("after top-level value")
	}
	return nil
}

func (d *failureDecoder) failure(f *Failure) error {
	var strs stringFields // slots: schema, id, project, kind, as assigned at the end
	const depth = depthInFailure
	for more := d.openObject(); more; {
		key, err := d.key()
		if err != nil {
			return err
		}
		id := fieldOf(key)
		switch id {
		case fieldSchema:
			err = d.stringField(&strs, 0, depth)
		case fieldID:
			err = d.stringField(&strs, 1, depth)
		case fieldProject:
			err = d.stringField(&strs, 2, depth)
		case fieldTime:
			err = d.timeInto(&f.Time, depth)
		case fieldKind:
			err = d.stringField(&strs, 3, depth)
		case fieldTest:
			switch d.data[d.off] {
			case '{':
				if f.Test == nil {
					f.Test = new(TestIdentity)
				}
				err = d.testIdentity(f.Test)
			case 'n':
				if err = d.literal("null"); err == nil {
					f.Test = nil
				}
			default:
				err = d.mismatch("an object", depth)
			}
		case fieldService:
			switch d.data[d.off] {
			case '{':
				if f.Service == nil {
					f.Service = new(ServiceIdentity)
				}
				err = d.serviceIdentity(f.Service)
			case 'n':
				if err = d.literal("null"); err == nil {
					f.Service = nil
				}
			default:
				err = d.mismatch("an object", depth)
			}
		case fieldError:
			switch d.data[d.off] {
			case '{':
				err = d.errorInfo(&f.Error)
			case 'n':
				err = d.literal("null")
			default:
				err = d.mismatch("an object", depth)
			}
		case fieldRun:
			switch d.data[d.off] {
			case '{':
				err = d.runInfo(&f.Run)
			case 'n':
				err = d.literal("null")
			default:
				err = d.mismatch("an object", depth)
			}
		case fieldAttributes:
			err = d.attributes(&f.Attributes)
		default:
			id = noField
			err = d.skip(depth)
		}
		if err != nil {
			return inField(err, id.String())
		}
		if more, err = d.nextMember(); err != nil {
			return err
		}
	}
	strs.assign(&f.Schema, &f.ID, &f.Project, (*string)(&f.Kind))
	return nil
}

func (d *failureDecoder) testIdentity(t *TestIdentity) error {
	var strs stringFields // slots: framework, suite, name, file, as assigned at the end
	const depth = depthInObject
	for more := d.openObject(); more; {
		key, err := d.key()
		if err != nil {
			return err
		}
		id := fieldOf(key)
		switch id {
		case fieldFramework:
			err = d.stringField(&strs, 0, depth)
		case fieldSuite:
			err = d.stringField(&strs, 1, depth)
		case fieldName:
			err = d.stringField(&strs, 2, depth)
		case fieldFile:
			err = d.stringField(&strs, 3, depth)
		case fieldLine:
			err = d.intInto(&t.Line, depth)
		default:
			id = noField
			err = d.skip(depth)
		}
		if err != nil {
			return inField(err, id.String())
		}
		if more, err = d.nextMember(); err != nil {
			return err
		}
	}
	strs.assign(&t.Framework, &t.Suite, &t.Name, &t.File)
	return nil
}

func (d *failureDecoder) serviceIdentity(s *ServiceIdentity) error {
	var strs stringFields // slots: name, version, environment, host, as assigned at the end
	const depth = depthInObject
	for more := d.openObject(); more; {
		key, err := d.key()
		if err != nil {
			return err
		}
		id := fieldOf(key)
		switch id {
		case fieldName:
			err = d.stringField(&strs, 0, depth)
		case fieldVersion:
			err = d.stringField(&strs, 1, depth)
		case fieldEnvironment:
			err = d.stringField(&strs, 2, depth)
		case fieldHost:
			err = d.stringField(&strs, 3, depth)
		default:
			id = noField
			err = d.skip(depth)
		}
		if err != nil {
			return inField(err, id.String())
		}
		if more, err = d.nextMember(); err != nil {
			return err
		}
	}
	strs.assign(&s.Name, &s.Version, &s.Environment, &s.Host)
	return nil
}

func (d *failureDecoder) errorInfo(e *ErrorInfo) error {
	var strs stringFields // slots: type, message, stack, as assigned at the end
	const depth = depthInObject
	for more := d.openObject(); more; {
		key, err := d.key()
		if err != nil {
			return err
		}
		id := fieldOf(key)
		switch id {
		case fieldType:
			err = d.stringField(&strs, 0, depth)
		case fieldMessage:
			err = d.stringField(&strs, 1, depth)
		case fieldStack:
			err = d.stringField(&strs, 2, depth)
		case fieldFrames:
			err = d.frames(&e.Frames)
		default:
			id = noField
			err = d.skip(depth)
		}
		if err != nil {
			return inField(err, id.String())
		}
		if more, err = d.nextMember(); err != nil {
			return err
		}
	}
	strs.assign(&e.Type, &e.Message, &e.Stack)
	return nil
}

// frames decodes error.frames the way encoding/json decodes into a slice:
// element i goes into the slice's element i when there is one (a repeated
// "frames" key decodes over the earlier frames), then into the backing array
// beyond the length while there is capacity (exposing frames a longer
// earlier array left there), then into a zero frame appended; an empty array
// is a new empty slice.
//
// The capacity that encoding/json grows the slice to makes no difference:
// an element beyond the length holds whatever was last decoded there, and
// growing copies them all, because it happens only at full length. So when
// the slice starts out nil, the frames are decoded into an array on the
// stack and copied to a slice of exactly their number.
func (d *failureDecoder) frames(p *[]Frame) error {
	switch d.data[d.off] {
	case '[':
	case 'n':
		if err := d.literal("null"); err != nil {
			return err
		}
		*p = nil
		return nil
	default:
		return d.mismatch("an array", depthInObject)
	}
	d.off++
	d.skipSpace()
	if d.off < len(d.data) && d.data[d.off] == ']' {
		d.off++
		*p = []Frame{}
		return nil
	}
	fresh := *p == nil
	var buf [16]Frame // the first frames when fresh
	var more []Frame  // the others
	i := 0
	for {
		if d.off >= len(d.data) {
			return d.unexpected("looking for beginning of value")
		}
		var fr *Frame
		switch {
		case fresh && i < len(buf):
			fr = &buf[i]
		case fresh:
			more = append(more, Frame{})
			fr = &more[len(more)-1]
		case i < len(*p):
			fr = &(*p)[i]
		case i < cap(*p):
			*p = (*p)[:i+1]
			fr = &(*p)[i]
		default:
			*p = append(*p, Frame{})
			fr = &(*p)[i]
		}
		var err error
		switch d.data[d.off] {
		case '{':
			err = d.frame(fr)
		case 'n':
			err = d.literal("null")
		default:
			err = d.mismatch("an object", depthInFrames)
		}
		if err != nil {
			return inField(err, "["+strconv.Itoa(i)+"]")
		}
		i++
		d.skipSpace()
		if d.off >= len(d.data) {
			return d.unexpected("after array element")
		}
		if c := d.data[d.off]; c == ']' {
			d.off++
			break
		} else if c != ',' {
			return d.unexpected("after array element")
		}
		d.off++
		d.skipSpace()
	}
	switch {
	case fresh:
		*p = make([]Frame, i)
		copy((*p)[copy(*p, buf[:min(i, len(buf))]):], more)
	case i < len(*p):
		*p = (*p)[:i]
	}
	return nil
}

func (d *failureDecoder) frame(fr *Frame) error {
	var strs stringFields // slots: function, module, file, as assigned at the end
	const depth = depthInFrame
	for more := d.openObject(); more; {
		key, err := d.key()
		if err != nil {
			return err
		}
		id := fieldOf(key)
		switch id {
		case fieldFunction:
			err = d.stringField(&strs, 0, depth)
		case fieldModule:
			err = d.stringField(&strs, 1, depth)
		case fieldFile:
			err = d.stringField(&strs, 2, depth)
		case fieldLine:
			err = d.intInto(&fr.Line, depth)
		case fieldColumn:
			err = d.intInto(&fr.Column, depth)
		case fieldInApp:
			err = d.boolPointerInto(&fr.InApp, depth)
		default:
			id = noField
			err = d.skip(depth)
		}
		if err != nil {
			return inField(err, id.String())
		}
		if more, err = d.nextMember(); err != nil {
			return err
		}
	}
	strs.assign(&fr.Function, &fr.Module, &fr.File)
	return nil
}

func (d *failureDecoder) runInfo(r *RunInfo) error {
	var strs stringFields // slots: id, commit, branch, ci_url, as assigned at the end
	const depth = depthInObject
	for more := d.openObject(); more; {
		key, err := d.key()
		if err != nil {
			return err
		}
		id := fieldOf(key)
		switch id {
		case fieldID:
			err = d.stringField(&strs, 0, depth)
		case fieldCommit:
			err = d.stringField(&strs, 1, depth)
		case fieldBranch:
			err = d.stringField(&strs, 2, depth)
		case fieldAttempt:
			err = d.intInto(&r.Attempt, depth)
		case fieldCIURL:
			err = d.stringField(&strs, 3, depth)
		default:
			id = noField
			err = d.skip(depth)
		}
		if err != nil {
			return inField(err, id.String())
		}
		if more, err = d.nextMember(); err != nil {
			return err
		}
	}
	strs.assign(&r.ID, &r.Commit, &r.Branch, &r.CIURL)
	return nil
}

// attributes decodes into the map, creating it if it is nil; a null value
// stores an empty string.
func (d *failureDecoder) attributes(p *map[string]string) error {
	switch d.data[d.off] {
	case '{':
	case 'n':
		if err := d.literal("null"); err != nil {
			return err
		}
		*p = nil
		return nil
	default:
		return d.mismatch("an object", depthInFailure)
	}
	m := *p
	if m == nil {
		m = make(map[string]string)
		*p = m
	}
	for more := d.openObject(); more; {
		key, err := d.key()
		if err != nil {
			return err
		}
		name := string(key)
		var value string
		switch d.data[d.off] {
		case '"':
			value, err = d.string()
		case 'n':
			err = d.literal("null")
		default:
			err = d.mismatch("a string", depthInObject)
		}
		if err != nil {
			return inField(err, "["+strconv.Quote(name)+"]")
		}
		m[name] = value
		if more, err = d.nextMember(); err != nil {
			return err
		}
	}
	return nil
}

// stringFields gathers the string members of one object until it ends. Short
// strings without escapes are then allocated as one string, which each
// becomes a part of: one allocation instead of one each. (Long ones are
// allocated alone so that keeping, say, a frame's function does not keep a
// long string alive with it.)
type stringFields struct {
	state [maxStringFields]uint8 // unset, or pending, or decoded
	raw   [maxStringFields][]byte
	str   [maxStringFields]string
}

// maxStringFields is the most string fields a type has; maxSharedString, the
// longest string to share an allocation with others.
const (
	maxStringFields = 4
	maxSharedString = 256
)

// States of a string field in stringFields.
const (
	unset   = iota // nothing decoded (or null): leave the field as it is
	pending        // raw holds the string, to be allocated with the others
	decoded        // str holds the string
)

// stringField decodes a string into slot i of s; null leaves it as it was.
func (d *failureDecoder) stringField(s *stringFields, i int, depth int) error {
	switch d.data[d.off] {
	case '"':
		raw, escaped, err := d.rawString()
		switch {
		case err != nil:
			return err
		case escaped:
			s.state[i], s.str[i] = decoded, unescape(raw)
		case len(raw) > maxSharedString:
			s.state[i], s.str[i] = decoded, string(raw)
		default:
			s.state[i], s.raw[i] = pending, raw
		}
		return nil
	case 'n':
		return d.literal("null")
	}
	return d.mismatch("a string", depth)
}

// assign stores each decoded string in its field, dsts[i] for slot i.
func (s *stringFields) assign(dsts ...*string) {
	n := 0
	for i := range dsts {
		if s.state[i] == pending {
			n += len(s.raw[i])
		}
	}
	var all string
	if n > 0 {
		var b strings.Builder
		b.Grow(n)
		for i := range dsts {
			if s.state[i] == pending {
				b.Write(s.raw[i])
			}
		}
		all = b.String()
	}
	for i, p := range dsts {
		switch s.state[i] {
		case pending:
			*p, all = all[:len(s.raw[i])], all[len(s.raw[i]):]
		case decoded:
			*p = s.str[i]
		}
	}
}

// intInto decodes an integer literal into *p; null leaves *p alone.
func (d *failureDecoder) intInto(p *int, depth int) error {
	c := d.data[d.off]
	if c == 'n' {
		return d.literal("null")
	}
	if c != '-' && (c < '0' || c > '9') {
		return d.mismatch("a number", depth)
	}
	start := d.off
	if err := d.number(); err != nil {
		return err
	}
	lit := d.data[start:d.off]
	n, ok := parseInt(lit)
	if !ok {
		return &decodeError{off: start, msg: fmt.Sprintf("number %s is not an integer that fits in an int", lit)}
	}
	*p = n
	return nil
}

// parseInt parses a valid JSON number as strconv.ParseInt(s, 10, 64) and a
// range check for int do; ok is false for a fraction, an exponent or a value
// out of range.
func parseInt(lit []byte) (n int, ok bool) {
	neg := lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	var u uint64
	for _, c := range lit {
		if c < '0' || c > '9' || u > (math.MaxUint64-9)/10 {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	if neg {
		if u > uint64(math.MaxInt)+1 {
			return 0, false
		}
		return int(-u), true
	}
	if u > math.MaxInt {
		return 0, false
	}
	return int(u), true
}

// boolPointerInto decodes true or false into **p, allocating it if it is
// nil; null sets *p to nil.
func (d *failureDecoder) boolPointerInto(p **bool, depth int) error {
	var v bool
	switch d.data[d.off] {
	case 't':
		if err := d.literal("true"); err != nil {
			return err
		}
		v = true
	case 'f':
		if err := d.literal("false"); err != nil {
			return err
		}
	case 'n':
		if err := d.literal("null"); err != nil {
			return err
		}
		*p = nil
		return nil
	default:
		return d.mismatch("true, false or null", depth)
	}
	if *p == nil {
		*p = d.newBool()
	}
	**p = v
	return nil
}

// newBool returns a pointer to a new bool, taking it from a block of them
// to save an allocation for each.
func (d *failureDecoder) newBool() *bool {
	if len(d.bools) == 0 {
		d.bools = make([]bool, 16)
	}
	p := &d.bools[0]
	d.bools = d.bools[1:]
	return p
}

// timeInto hands the raw value, whatever it is, to time.Time.UnmarshalJSON,
// as encoding/json does.
func (d *failureDecoder) timeInto(t *time.Time, depth int) error {
	start := d.off
	if err := d.skip(depth); err != nil {
		return err
	}
	if err := t.UnmarshalJSON(d.data[start:d.off]); err != nil {
		return &decodeError{off: start, msg: err.Error()}
	}
	return nil
}

// mismatch reports a value of the wrong type at d.off: a syntax error if it
// is not even valid JSON, else what was expected and what was found.
func (d *failureDecoder) mismatch(want string, depth int) error {
	start := d.off
	if err := d.skip(depth); err != nil {
		return err
	}
	var found string
	switch c := d.data[start]; {
	case c == '{':
		found = "an object"
	case c == '[':
		found = "an array"
	case c == '"':
		found = "a string"
	case c == 't' || c == 'f':
		found = "a boolean"
	case c == 'n':
		found = "null"
	default:
		found = "a number"
	}
	return &decodeError{off: start, msg: "expected " + want + ", found " + found}
}

// skipSpace moves past JSON whitespace.
func (d *failureDecoder) skipSpace() {
	for d.off < len(d.data) {
		switch d.data[d.off] {
		case ' ', '\t', '\n', '\r':
			d.off++
		default:
			return
		}
	}
}

// unexpected reports the byte at d.off, or the end of the input, as a
// syntax error.
func (d *failureDecoder) unexpected(context string) error {
	if d.off >= len(d.data) {
		return &decodeError{off: len(d.data), msg: "unexpected end of JSON input"}
	}
	r, _ := utf8.DecodeRune(d.data[d.off:])
	return &decodeError{off: d.off, msg: fmt.Sprintf("invalid character %q %s", r, context)}
}

// openObject consumes the '{' at d.off and the whitespace after it, and
// reports whether a member follows; if not, it consumes the '}'.
func (d *failureDecoder) openObject() bool {
	d.off++
	d.skipSpace()
	if d.off < len(d.data) && d.data[d.off] == '}' {
		d.off++
		return false
	}
	return true
}

// nextMember consumes what follows a member's value: a ',' and whitespace
// (reporting that another member follows) or the object's closing '}'.
func (d *failureDecoder) nextMember() (bool, error) {
	d.skipSpace()
	if d.off < len(d.data) {
		switch d.data[d.off] {
		case ',':
			d.off++
			d.skipSpace()
			return true, nil
		case '}':
			d.off++
			return false, nil
		}
	}
	return false, d.unexpected("after object key:value pair")
}

// key consumes a member's key, the ':' and the whitespace before the value,
// which it makes sure has at least its first byte. It returns the key
// unescaped, aliasing the input when it has no escapes.
func (d *failureDecoder) key() ([]byte, error) {
	raw, escaped, err := d.rawKey()
	if err != nil {
		return nil, err
	}
	if escaped {
		raw = []byte(unescape(raw))
	}
	return raw, nil
}

// rawKey is key without the unescaping; escaped says whether it is needed.
func (d *failureDecoder) rawKey() (raw []byte, escaped bool, err error) {
	if d.off >= len(d.data) || d.data[d.off] != '"' {
		return nil, false, d.unexpected("looking for beginning of object key string")
	}
	if raw, escaped, err = d.rawString(); err != nil {
		return nil, false, err
	}
	d.skipSpace()
	if d.off >= len(d.data) || d.data[d.off] != ':' {
		return nil, false, d.unexpected("after object key")
	}
	d.off++
	d.skipSpace()
	if d.off >= len(d.data) {
		return nil, false, d.unexpected("looking for beginning of value")
	}
	return raw, escaped, nil
}

// string decodes the string at d.off.
func (d *failureDecoder) string() (string, error) {
	raw, escaped, err := d.rawString()
	if err != nil {
		return "", err
	}
	if !escaped {
		return string(raw), nil
	}
	return unescape(raw), nil
}

// rawString consumes the string at d.off (its opening quote), checking its
// syntax, and returns what is between the quotes and whether that has
// escapes.
func (d *failureDecoder) rawString() (raw []byte, escaped bool, err error) {
	data := d.data
	start := d.off + 1
	i := start
	for {
		i = indexSpecial(data, i)
		if i >= len(data) {
			d.off = len(data)
			return nil, false, d.unexpected("")
		}
		switch c := data[i]; {
		case c == '"':
			d.off = i + 1
			return data[start:i], escaped, nil
		case c == '\\':
			escaped = true
			n, bad := escapeLen(data[i:])
			if n == 0 {
				d.off = i + bad
				return nil, false, d.unexpected("in string escape code")
			}
			i += n
		default: // a control character
			d.off = i
			return nil, false, d.unexpected("in string literal")
		}
	}
}

// SWAR constants: a byte of ones, and the high bit of every byte.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// indexSpecial returns the index of the first quote, backslash or control
// character in data from i on, or len(data). It tests eight bytes at a time:
// a byte of x is a quote or a backslash when that byte of quote or backslash
// is zero, and is a control character when it is below 0x20; subtracting
// ones (or 0x20s) then borrows into its high bit, which was clear (as it is
// in '"' and '\\'), and &^ x drops the bytes where it was set already. A
// borrow carries only into the bytes above a special one, so the lowest
// flagged byte is the first special byte.
func indexSpecial(data []byte, i int) int {
	for ; i+8 <= len(data); i += 8 {
		x := binary.LittleEndian.Uint64(data[i:])
		quote := x ^ (ones * '"')
		backslash := x ^ (ones * '\\')
		if m := ((quote - ones) | (backslash - ones) | (x - ones*0x20)) &^ x & highs; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(data); i++ {
		if c := data[i]; c == '"' || c == '\\' || c < ' ' {
			return i
		}
	}
	return i
}

// escapeLen returns the length of the valid escape sequence at the start of
// b (a backslash), or 0 and the offset of the byte that makes it invalid.
func escapeLen(b []byte) (n, bad int) {
	if len(b) < 2 {
		return 0, len(b)
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, 0
	case 'u':
		for i := 2; i < 6; i++ {
			if i >= len(b) || !isHex(b[i]) {
				return 0, i
			}
		}
		return 6, 0
	}
	return 0, 1
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// unescape returns the contents of a string whose syntax rawString has
// checked, unescaped. Like encoding/json, it turns a \u escape of a surrogate
// that does not pair with the next escape into U+FFFD.
func unescape(raw []byte) string {
	var b strings.Builder
	b.Grow(len(raw)) // escapes only ever shrink
	for {
		i := bytes.IndexByte(raw, '\\')
		if i < 0 {
			b.Write(raw)
			return b.String()
		}
		b.Write(raw[:i])
		c := raw[i+1]
		raw = raw[i+2:]
		switch c {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r := hex4(raw)
			raw = raw[4:]
			if utf16.IsSurrogate(r) {
				if len(raw) >= 6 && raw[0] == '\\' && raw[1] == 'u' {
					if pair := utf16.DecodeRune(r, hex4(raw[2:])); pair != utf8.RuneError {
						b.WriteRune(pair)
						raw = raw[6:]
						continue
					}
				}
				r = utf8.RuneError
			}
			b.WriteRune(r)
		default: // '"', '\\', '/'
			b.WriteByte(c)
		}
	}
}

// hex4 decodes four hex digits.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// literal consumes the literal true, false or null.
func (d *failureDecoder) literal(lit string) error {
	for i := 0; i < len(lit); i++ {
		if d.off >= len(d.data) || d.data[d.off] != lit[i] {
			return d.unexpected("in literal " + lit)
		}
		d.off++
	}
	return nil
}

// number consumes a number, checking its syntax.
func (d *failureDecoder) number() error {
	data, i := d.data, d.off
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && '1' <= data[i] && data[i] <= '9':
		i = skipDigits(data, i+1)
	default:
		d.off = i
		return d.unexpected("in numeric literal")
	}
	if i < len(data) && data[i] == '.' {
		i++
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			d.off = i
			return d.unexpected("after decimal point in numeric literal")
		}
		i = skipDigits(data, i+1)
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			d.off = i
			return d.unexpected("in exponent of numeric literal")
		}
		i = skipDigits(data, i+1)
	}
	d.off = i
	return nil
}

func skipDigits(data []byte, i int) int {
	for i < len(data) && '0' <= data[i] && data[i] <= '9' {
		i++
	}
	return i
}

// skip consumes one value of any type, checking its syntax; depth is the
// number of arrays and objects around it. It keeps the open arrays and
// objects on a stack of their opening bytes rather than recursing.
func (d *failureDecoder) skip(depth int) error {
	var small [64]byte
	open := small[:0]
	for {
		// d.off is at the start of a value.
		if d.off >= len(d.data) {
			return d.unexpected("looking for beginning of value")
		}
		switch c := d.data[d.off]; c {
		case '{', '[':
			if depth+len(open) >= maxNestingDepth {
				return &decodeError{off: d.off, msg: fmt.Sprintf("exceeded max nesting depth of %d", maxNestingDepth)}
			}
			d.off++
			d.skipSpace()
			if d.off < len(d.data) && d.data[d.off] == closing(c) {
				d.off++
				break // an empty array or object is a whole value
			}
			open = append(open, c)
			if c == '{' {
				if _, _, err := d.rawKey(); err != nil {
					return err
				}
			}
			continue
		case '"':
			if _, _, err := d.rawString(); err != nil {
				return err
			}
		case 't':
			if err := d.literal("true"); err != nil {
				return err
			}
		case 'f':
			if err := d.literal("false"); err != nil {
				return err
			}
		case 'n':
			if err := d.literal("null"); err != nil {
				return err
			}
		default:
			if c != '-' && (c < '0' || c > '9') {
				return d.unexpected("looking for beginning of value")
			}
			if err := d.number(); err != nil {
				return err
			}
		}
		// After a value: close what it ends, up to the next value.
		for {
			if len(open) == 0 {
				return nil
			}
			d.skipSpace()
			if d.off >= len(d.data) {
				return d.unexpected("")
			}
			inner := open[len(open)-1]
			c := d.data[d.off]
			if c == closing(inner) {
				d.off++
				open = open[:len(open)-1]
				continue
			}
			if c != ',' {
				if inner == '{' {
					return d.unexpected("after object key:value pair")
				}
				return d.unexpected("after array element")
			}
			d.off++
			d.skipSpace()
			if inner == '{' {
				if _, _, err := d.rawKey(); err != nil {
					return err
				}
			}
			break
		}
	}
}

// closing returns the byte that closes an array or object.
func closing(open byte) byte {
	if open == '{' {
		return '}'
	}
	return ']'
}

// field names a field of Failure or of a type in it; fields of different
// types with the same JSON name share one.
type field uint8

const (
	noField field = iota
	fieldSchema
	fieldID
	fieldProject
	fieldTime
	fieldKind
	fieldTest
	fieldService
	fieldError
	fieldRun
	fieldAttributes
	fieldFramework
	fieldSuite
	fieldName
	fieldFile
	fieldLine
	fieldVersion
	fieldEnvironment
	fieldHost
	fieldType
	fieldMessage
	fieldStack
	fieldFrames
	fieldFunction
	fieldModule
	fieldColumn
	fieldInApp
	fieldCommit
	fieldBranch
	fieldAttempt
	fieldCIURL
	numFields
)

// String returns the field's JSON name.
func (id field) String() string {
	switch id {
	case fieldSchema:
		return "schema"
	case fieldID:
		return "id"
	case fieldProject:
		return "project"
	case fieldTime:
		return "time"
	case fieldKind:
		return "kind"
	case fieldTest:
		return "test"
	case fieldService:
		return "service"
	case fieldError:
		return "error"
	case fieldRun:
		return "run"
	case fieldAttributes:
		return "attributes"
	case fieldFramework:
		return "framework"
	case fieldSuite:
		return "suite"
	case fieldName:
		return "name"
	case fieldFile:
		return "file"
	case fieldLine:
		return "line"
	case fieldVersion:
		return "version"
	case fieldEnvironment:
		return "environment"
	case fieldHost:
		return "host"
	case fieldType:
		return "type"
	case fieldMessage:
		return "message"
	case fieldStack:
		return "stack"
	case fieldFrames:
		return "frames"
	case fieldFunction:
		return "function"
	case fieldModule:
		return "module"
	case fieldColumn:
		return "column"
	case fieldInApp:
		return "in_app"
	case fieldCommit:
		return "commit"
	case fieldBranch:
		return "branch"
	case fieldAttempt:
		return "attempt"
	case fieldCIURL:
		return "ci_url"
	}
	return ""
}

// maxFieldName is the length of the longest field name, "environment".
const maxFieldName = 11

// fieldOf returns the field a key names, matching as encoding/json does:
// exactly, or else with both folded (ASCII letters to upper case, other
// runes to the smallest rune of their Unicode simple-folding orbit).
func fieldOf(key []byte) field {
	switch string(key) {
	case "schema":
		return fieldSchema
	case "id":
		return fieldID
	case "project":
		return fieldProject
	case "time":
		return fieldTime
	case "kind":
		return fieldKind
	case "test":
		return fieldTest
	case "service":
		return fieldService
	case "error":
		return fieldError
	case "run":
		return fieldRun
	case "attributes":
		return fieldAttributes
	case "framework":
		return fieldFramework
	case "suite":
		return fieldSuite
	case "name":
		return fieldName
	case "file":
		return fieldFile
	case "line":
		return fieldLine
	case "version":
		return fieldVersion
	case "environment":
		return fieldEnvironment
	case "host":
		return fieldHost
	case "type":
		return fieldType
	case "message":
		return fieldMessage
	case "stack":
		return fieldStack
	case "frames":
		return fieldFrames
	case "function":
		return fieldFunction
	case "module":
		return fieldModule
	case "column":
		return fieldColumn
	case "in_app":
		return fieldInApp
	case "commit":
		return fieldCommit
	case "branch":
		return fieldBranch
	case "attempt":
		return fieldAttempt
	case "ci_url":
		return fieldCIURL
	}
	var buf [maxFieldName]byte
	folded, ok := foldKey(buf[:0], key)
	if !ok {
		return noField
	}
	for id := noField + 1; id < numFields; id++ {
		if equalUpper(folded, id.String()) {
			return id
		}
	}
	return noField
}

// foldKey appends key folded as encoding/json folds names, or reports false
// if that would not fit in dst's capacity (and so no field name matches).
func foldKey(dst, key []byte) ([]byte, bool) {
	for i := 0; i < len(key); {
		r, n := rune(key[i]), 1
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
		} else {
			r, n = utf8.DecodeRune(key[i:])
			r = foldRune(r)
		}
		if len(dst)+utf8.RuneLen(r) > cap(dst) {
			return nil, false
		}
		dst = utf8.AppendRune(dst, r)
		i += n
	}
	return dst, true
}

// foldRune returns the smallest rune of r's simple-folding orbit.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// equalUpper reports whether folded is name (lower-case ASCII) in upper case.
func equalUpper(folded []byte, name string) bool {
	if len(folded) != len(name) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if folded[i] != c {
			return false
		}
	}
	return true
}
