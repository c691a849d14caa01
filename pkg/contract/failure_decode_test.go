package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// reference is DecodeFailure as it was before decodeFailure: encoding/json
// behind decodeStrict's checks, then Validate. decodeFailure must match it
// on every input.
func reference(data []byte) (Failure, error) {
	var f Failure
	if err := decodeStrict("failure", data, MaxFailureBytes, &f); err != nil {
		return Failure{}, err
	}
	if err := f.Validate(); err != nil {
		return Failure{}, err
	}
	return f, nil
}

// checkMatchesReference fails t unless DecodeFailure and reference agree on
// data: both fail (DecodeFailure with an ErrInvalidEvent and a zero
// failure), or both succeed with deeply equal failures. It compares the
// decoding alone too, before validation, which would otherwise hide most
// differences in what was decoded.
func checkMatchesReference(t *testing.T, data []byte) {
	t.Helper()
	var decoded, want Failure
	decodeErr := decodeFailure(data, &decoded)
	wantErr := decodeStrict("failure", data, MaxFailureBytes, &want)
	switch {
	case decodeErr != nil && wantErr == nil:
		t.Fatalf("decodeFailure(%s) fails and encoding/json does not:\nerror: %v\nencoding/json: %s", quoted(data), decodeErr, show(want))
	case decodeErr == nil && wantErr != nil:
		t.Fatalf("decodeFailure(%s) succeeds and encoding/json does not:\ndecoded: %s\nencoding/json: %v", quoted(data), show(decoded), wantErr)
	case decodeErr != nil && !errors.Is(decodeErr, ErrInvalidEvent):
		t.Fatalf("decodeFailure(%s): error %q does not wrap ErrInvalidEvent", quoted(data), decodeErr)
	case decodeErr == nil && !reflect.DeepEqual(decoded, want):
		t.Fatalf("decodeFailure(%s) differs from encoding/json:\ndecoded:       %s\nencoding/json: %s", quoted(data), show(decoded), show(want))
	}

	got, err := DecodeFailure(data)
	want, wantErr = reference(data)
	switch {
	case err != nil && wantErr == nil:
		t.Fatalf("DecodeFailure(%s) fails and the reference does not: %v", quoted(data), err)
	case err == nil && wantErr != nil:
		t.Fatalf("DecodeFailure(%s) succeeds and the reference fails: %v", quoted(data), wantErr)
	case err != nil && !errors.Is(err, ErrInvalidEvent):
		t.Fatalf("DecodeFailure(%s): error %q does not wrap ErrInvalidEvent", quoted(data), err)
	case err != nil && !reflect.DeepEqual(got, Failure{}):
		t.Fatalf("DecodeFailure(%s) returns a non-zero failure with its error: %s", quoted(data), show(got))
	case !reflect.DeepEqual(got, want):
		t.Fatalf("DecodeFailure(%s) differs from the reference:\ngot:  %s\nwant: %s", quoted(data), show(got), show(want))
	}
}

// quoted shows an input, cut short if it is long.
func quoted(data []byte) string {
	const limit = 300
	if len(data) > limit {
		return fmt.Sprintf("%q... (%d bytes)", data[:limit], len(data))
	}
	return fmt.Sprintf("%q", data)
}

// show prints a failure with what its pointers point to, and whether its
// slice and map are nil.
func show(f Failure) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%+v", f)
	if f.Test != nil {
		fmt.Fprintf(&b, " test=%+v", *f.Test)
	}
	if f.Service != nil {
		fmt.Fprintf(&b, " service=%+v", *f.Service)
	}
	fmt.Fprintf(&b, " frames-nil=%t attributes-nil=%t", f.Error.Frames == nil, f.Attributes == nil)
	for i, fr := range f.Error.Frames {
		if fr.InApp != nil {
			fmt.Fprintf(&b, " frames[%d].in_app=%t", i, *fr.InApp)
		}
	}
	return b.String()
}

// baseFailure is a valid test failure without its closing brace, so that
// members can be appended to it (and, coming last, override its own).
const baseFailure = `{"schema":"rounds.failure.v1","id":"f-1","project":"shop",` +
	`"time":"2025-11-28T20:53:00Z","kind":"test","test":{"name":"TestCheckout"},"error":{"message":"boom"}`

// with returns baseFailure with members appended.
func with(members string) string {
	return baseFailure + "," + members + "}"
}

// Outcomes of a table case under the reference.
const (
	decodes = "decodes"             // DecodeFailure succeeds
	refused = "refused"             // decoding fails
	invalid = "refused by Validate" // decoding succeeds, validation fails
)

type decodeCase struct {
	name    string
	data    string
	outcome string
}

func decodeCases() []decodeCase {
	return []decodeCase{
		// Strings.
		{"a message with every two-character escape decodes", with(`"error":{"message":"q\" b\\ s\/ \b\f\n\r\t end"}`), decodes},
		{"a \\u escape of a BMP character decodes", with(`"error":{"message":"caf\u00e9 \u20AC \u20ac"}`), decodes},
		{"an escaped NUL decodes", with(`"error":{"message":"a\u0000b"}`), decodes},
		{"a surrogate pair becomes one supplementary character", with(`"error":{"message":"\ud83d\ude00!"}`), decodes},
		{"a lone high surrogate becomes U+FFFD", with(`"error":{"message":"x\ud83dy"}`), decodes},
		{"a lone high surrogate at the end becomes U+FFFD", with(`"error":{"message":"x\ud83d"}`), decodes},
		{"a lone low surrogate becomes U+FFFD", with(`"error":{"message":"x\ude00y"}`), decodes},
		{"a high surrogate before a non-surrogate escape becomes U+FFFD and that character", with(`"error":{"message":"\ud83d\u0041"}`), decodes},
		{"a high surrogate before another high surrogate of a pair becomes U+FFFD and the pair", with(`"error":{"message":"\ud83d\ud83d\ude00"}`), decodes},
		{"a reversed surrogate pair becomes two U+FFFD", with(`"error":{"message":"\ude00\ud83d"}`), decodes},
		{"a high surrogate before an escaped backslash and u is U+FFFD", with(`"error":{"message":"\ud83d\\ude00"}`), decodes},
		{"multibyte UTF-8 passes through unchanged", with(`"error":{"message":"日本語 ✓ 😀"}`), decodes},
		{"a long string with escapes far apart decodes", with(`"error":{"stack":"` + strings.Repeat("abcdefghijklmnop", 20) + `\n` + strings.Repeat("q", 37) + `\t\"end"}`), decodes},
		{"an empty string decodes", with(`"error":{"type":"","message":"m"}`), decodes},
		{"a raw tab in a string is refused", with("\"error\":{\"message\":\"a\tb\"}"), refused},
		{"a raw newline in a string is refused", with("\"error\":{\"message\":\"a\nb\"}"), refused},
		{"a raw DEL in a string decodes", with("\"error\":{\"message\":\"a\x7fb\"}"), decodes},
		{"an unknown escape is refused", with(`"error":{"message":"\x41"}`), refused},
		{"an escaped single quote is refused", with(`"error":{"message":"\'"}`), refused},
		{"a \\u escape with three hex digits is refused", with(`"error":{"message":"\u123"}`), refused},
		{"a \\u escape with a non-hex digit is refused", with(`"error":{"message":"\u12g4"}`), refused},
		{"an upper-case \\U escape is refused", with(`"error":{"message":"\U0041"}`), refused},
		{"an unterminated string is refused", baseFailure + `,"id":"f-2`, refused},
		{"a string ending in a backslash is refused", baseFailure + `,"id":"f-2\`, refused},
		{"a string ending in a short \\u escape is refused", baseFailure + `,"id":"\u00`, refused},

		// Keys.
		{"keys match fields case-insensitively", `{"SCHEMA":"rounds.failure.v1","Id":"f-1","pRoJeCt":"shop","TIME":"2025-11-28T20:53:00Z",` +
			`"Kind":"test","TEST":{"NAME":"T","Line":3},"ERROR":{"Message":"boom","FRAMES":[{"In_App":true,"LINE":4}]},"Run":{"CI_URL":"u"}}`, decodes},
		{"a key with an escape matches its field", with(`"\u0069d":"f-9"`), decodes},
		{"a key with an escaped quote is an unknown key", with(`"i\"d":"f-9"`), decodes},
		{"a long s in a key folds to s", with(`"test":{"name":"T","ſuite":"S"}`), decodes},
		{"an escaped long s in a key folds to s", with(`"test":{"name":"T","\u017Fuite":"S"}`), decodes},
		{"a Kelvin sign in a key folds to k", with(`"error":{"message":"m","stac\u212A":"trace"}`), decodes},
		{"a dotless i in a key matches nothing", with(`"ıd":"zz"`), decodes},
		{"a dotted capital I in a key matches nothing", with(`"İd":"zz"`), decodes},
		{"a key with a field name as a prefix is an unknown key", with(`"identifier":"zz","ids":"zz"`), decodes},
		{"a key longer than any field name is an unknown key", with(`"` + strings.Repeat("K", 40) + `":1`), decodes},
		{"the last of duplicate keys wins", with(`"id":"a","id":"b"`), decodes},
		{"the last of duplicate keys in different cases wins", with(`"id":"a","ID":"b","Id":"c"`), decodes},
		{"a key naming a field of another type is an unknown key", with(`"line":7,"name":"n","frames":3`), decodes},
		{"a number as a key is refused", `{1:2}`, refused},
		{"a key without a colon is refused", with(`"id" "f-2"`), refused},
		{"a key without a value is refused", baseFailure + `,"id":}`, refused},

		// Repeated objects and arrays.
		{"a repeated test object merges into the first", with(`"test":{"name":"T","line":3},"test":{"file":"f.go"}`), decodes},
		{"a repeated service object merges into the first", with(`"service":{"name":"a","host":"h"},"service":{"version":"1"}`), decodes},
		{"a repeated error object merges into the first", with(`"error":{"type":"E"},"error":{"stack":"s"}`), decodes},
		{"a repeated run object merges into the first", with(`"run":{"id":"1","attempt":2},"run":{"commit":"c"}`), decodes},
		{"repeated attributes merge, the last value of a key winning", with(`"attributes":{"a":"1","b":"2"},"attributes":{"b":"3","c":"4"}`), decodes},
		{"a repeated frames array decodes over the earlier frames", with(`"error":{"message":"m","frames":[{"function":"a","line":1,"in_app":true},{"function":"b"}],"frames":[{"line":9}]}`), decodes},
		{"a third frames array exposes frames beyond the second's length", with(`"error":{"message":"m",` +
			`"frames":[{"function":"a"},{"function":"b","in_app":false},{"function":"c"}],"frames":[{"line":1}],"frames":[{},{},{}]}`), decodes},
		{"a longer repeated frames array grows past the earlier capacity", with(`"error":{"message":"m",` +
			`"frames":[{"function":"a"},{"function":"b"},{"function":"c"}],"frames":[{"line":1}],"frames":[{},{},{},{},{"module":"m"}]}`), decodes},
		{"an empty frames array drops the earlier frames", with(`"error":{"message":"m","frames":[{"function":"a"},{"function":"b"}],"frames":[],"frames":[{},{}]}`), decodes},
		{"an array after an empty array decodes into a new slice", with(`"error":{"message":"m","frames":[],"frames":[{"line":1},{"line":2}]}`), decodes},
		{"forty frames decode", with(`"error":{"message":"m","frames":[` + frameList(40, 0) + `]}`), decodes},
		{"a short array over forty frames keeps the first frames' values", with(`"error":{"message":"m","frames":[` + frameList(40, 0) + `],"frames":[{"column":1},{}]}`), decodes},
		{"a long array over a short one over forty frames exposes them again", with(`"error":{"message":"m","frames":[` + frameList(40, 0) +
			`],"frames":[{}],"frames":[` + frameList(45, 1000) + `]}`), decodes},
		{"512 frames are valid", with(`"error":{"message":"m","frames":[` + frameList(MaxFrames, 0) + `]}`), decodes},
		{"513 frames are refused by Validate", with(`"error":{"message":"m","frames":[` + frameList(MaxFrames+1, 0) + `]}`), invalid},
		{"a repeated in_app is overwritten", with(`"error":{"message":"m","frames":[{"in_app":true}],"frames":[{"in_app":false}]}`), decodes},
		{"the last of repeated times wins", with(`"time":"2024-01-02T03:04:05Z"`), decodes},

		// Null.
		{"null for a test after a test clears it", with(`"kind":"runtime","service":{"name":"cart"},"test":null`), decodes},
		{"null for a service after a service clears it", with(`"service":{"name":"cart"},"service":null`), decodes},
		{"null for a string leaves the earlier value", with(`"id":null,"project":null,"kind":null,"schema":null`), decodes},
		{"null for the error object leaves it as it was", with(`"error":null`), decodes},
		{"null for the run object leaves it as it was", with(`"run":{"id":"r"},"run":null`), decodes},
		{"null for attributes after attributes clears them", with(`"attributes":{"a":"1"},"attributes":null`), decodes},
		{"null for frames after frames clears them", with(`"error":{"message":"m","frames":[{"line":1}],"frames":null}`), decodes},
		{"null for a time leaves the earlier time", with(`"time":null`), decodes},
		{"null for an int leaves the earlier value", with(`"test":{"name":"T","line":3},"test":{"line":null}`), decodes},
		{"null for in_app leaves it nil", with(`"error":{"message":"m","frames":[{"in_app":true}],"frames":[{"in_app":null}]}`), decodes},
		{"a null frame is a zero frame", with(`"error":{"message":"m","frames":[null,{"line":2},null]}`), decodes},
		{"a null frame over an earlier frame leaves it as it was", with(`"error":{"message":"m","frames":[{"line":2}],"frames":[null]}`), decodes},
		{"a null attribute value is an empty string", with(`"attributes":{"a":"1"},"attributes":{"a":null,"b":null}`), decodes},
		{"a top-level null decodes to nothing, which Validate refuses", `null`, invalid},
		{"a misspelled null is refused", with(`"id":nul`), refused},
		{"a null followed by letters is refused", with(`"id":nullx`), refused},

		// Empty values.
		{"an empty frames array is an empty slice, not nil", with(`"error":{"message":"m","frames":[]}`), decodes},
		{"an empty attributes object is an empty map, not nil", with(`"attributes":{}`), decodes},
		{"an empty test object after a test leaves it as it was", with(`"test":{}`), decodes},
		{"an empty test object is an empty test identity, which Validate refuses", `{"schema":"rounds.failure.v1","id":"f-1","project":"shop",` +
			`"time":"2025-11-28T20:53:00Z","kind":"test","test":{},"error":{"message":"boom"}}`, invalid},
		{"an empty service object is an empty service identity", with(`"service":{ }`), decodes},

		// Times.
		{"a time with an offset decodes", with(`"time":"2025-11-28T21:53:00+01:00"`), decodes},
		{"a time with fractional seconds decodes", with(`"time":"2025-11-28T20:53:00.123456789Z"`), decodes},
		{"a time with a lower-case t and z", with(`"time":"2025-11-28t20:53:00z"`), refused},
		{"a time with an escape in its string is refused", with(`"time":"2025-11-28T20:53:00\u005a"`), refused},
		{"a time without a zone is refused", with(`"time":"2025-11-28T20:53:00"`), refused},
		{"a time with hour 24 is refused", with(`"time":"2025-11-28T24:00:00Z"`), refused},
		{"a time that is a number is refused", with(`"time":1764363180`), refused},
		{"a time that is an object is refused", with(`"time":{"s":1}`), refused},
		{"a time that is an array is refused", with(`"time":[]`), refused},
		{"a time that is true is refused", with(`"time":true`), refused},

		// Numbers.
		{"a line of the largest int decodes", with(`"test":{"name":"T","line":9223372036854775807}`), decodes},
		{"a line of the smallest int decodes", with(`"test":{"name":"T","line":-9223372036854775808}`), decodes},
		{"a line one above the largest int is refused", with(`"test":{"name":"T","line":9223372036854775808}`), refused},
		{"a line one below the smallest int is refused", with(`"test":{"name":"T","line":-9223372036854775809}`), refused},
		{"a line of twenty digits is refused", with(`"test":{"name":"T","line":18446744073709551616}`), refused},
		{"a line of minus zero is zero", with(`"test":{"name":"T","line":-0}`), decodes},
		{"a line of 1.0 is refused", with(`"test":{"name":"T","line":1.0}`), refused},
		{"a line of 1e2 is refused", with(`"test":{"name":"T","line":1e2}`), refused},
		{"a line of 1E2 is refused", with(`"test":{"name":"T","line":1E2}`), refused},
		{"a line with a leading zero is refused", with(`"test":{"name":"T","line":012}`), refused},
		{"a line with a plus sign is refused", with(`"test":{"name":"T","line":+1}`), refused},
		{"a line that is a string is refused", with(`"test":{"name":"T","line":"12"}`), refused},
		{"a line that is a bare minus is refused", with(`"test":{"name":"T","line":-}`), refused},
		{"a column and an attempt decode", with(`"error":{"message":"m","frames":[{"column":7}]},"run":{"attempt":-3}`), decodes},
		{"an attempt of 2.5 is refused", with(`"run":{"attempt":2.5}`), refused},
		{"unknown numbers of any size and form are skipped", with(`"n":[0,-0,1e999,-1.5E-7,123456789012345678901234567890,0.0e+0]`), decodes},
		{"an unknown number ending in a point is refused", with(`"n":1.`), refused},
		{"an unknown number starting with a point is refused", with(`"n":.5`), refused},
		{"an unknown number with an empty exponent is refused", with(`"n":1e`), refused},
		{"an unknown number with a signed empty exponent is refused", with(`"n":1e+`), refused},
		{"an unknown number with a leading zero is refused", with(`"n":01`), refused},
		{"an unknown hex number is refused", with(`"n":0x1`), refused},

		// Unknown values.
		{"unknown keys with nested values are skipped", with(`"extra":{"a":[1,2,{"b":null,"c":[true,false]}],"d":"\u00e9\"}"},"more":[]`), decodes},
		{"unknown keys inside known objects are skipped", with(`"test":{"name":"T","x":{"y":[1]}},"error":{"message":"m","frames":[{"x":[{}],"line":1}]},"run":{"x":null}`), decodes},
		{"an unknown value with an empty element is refused", with(`"extra":[1,,2]`), refused},
		{"an unknown array with a trailing comma is refused", with(`"extra":[1,]`), refused},
		{"an unknown object with a trailing comma is refused", with(`"extra":{"a":1,}`), refused},
		{"an unknown object with a non-string key is refused", with(`"extra":{a:1}`), refused},
		{"an unknown value with mismatched brackets is refused", with(`"extra":[}`), refused},
		{"an unknown value with a misspelled literal is refused", with(`"extra":[tru]`), refused},
		{"an unknown value with a literal followed by letters is refused", with(`"extra":falsey`), refused},
		{"an unknown value that is never closed is refused", baseFailure + `,"extra":[{"a":[`, refused},
		{"unknown arrays nested 10000 deep in all are skipped", with(`"extra":` + nested(maxNestingDepth-1)), decodes},
		{"unknown arrays nested 10001 deep in all are refused", with(`"extra":` + nested(maxNestingDepth)), refused},
		{"unknown objects nested 10000 deep in all are skipped", with(`"extra":` + nestedObjects(maxNestingDepth-1)), decodes},
		{"unknown objects nested 10001 deep in all are refused", with(`"extra":` + nestedObjects(maxNestingDepth)), refused},
		{"unknown arrays nested 10000 deep in all from a frame are skipped", with(`"error":{"message":"m","frames":[{"x":` + nested(maxNestingDepth-4) + `}]}`), decodes},
		{"unknown arrays nested 10001 deep in all from a frame are refused", with(`"error":{"message":"m","frames":[{"x":` + nested(maxNestingDepth-3) + `}]}`), refused},
		{"a wrongly typed value nested too deep is refused", with(`"test":` + nested(maxNestingDepth)), refused},

		// Wrong types.
		{"a test that is a string is refused", with(`"test":"T"`), refused},
		{"a test that is an array is refused", with(`"test":[]`), refused},
		{"a service that is a number is refused", with(`"service":1`), refused},
		{"an error that is an array is refused", with(`"error":[]`), refused},
		{"a run that is a string is refused", with(`"run":"r"`), refused},
		{"frames that are an object are refused", with(`"error":{"message":"m","frames":{}}`), refused},
		{"a frame that is a string is refused", with(`"error":{"message":"m","frames":["f"]}`), refused},
		{"a frame that is an array is refused", with(`"error":{"message":"m","frames":[[]]}`), refused},
		{"an in_app that is a string is refused", with(`"error":{"message":"m","frames":[{"in_app":"true"}]}`), refused},
		{"an in_app of 1 is refused", with(`"error":{"message":"m","frames":[{"in_app":1}]}`), refused},
		{"an in_app of true and false decodes", with(`"error":{"message":"m","frames":[{"in_app":true},{"in_app":false}]}`), decodes},
		{"attributes that are an array are refused", with(`"attributes":["a"]`), refused},
		{"an attribute that is a number is refused", with(`"attributes":{"a":1}`), refused},
		{"an attribute that is an object is refused", with(`"attributes":{"a":{}}`), refused},
		{"a schema that is a number is refused", with(`"schema":1`), refused},
		{"a kind that is true is refused", with(`"kind":true`), refused},
		{"a message that is an array is refused", with(`"error":{"message":["m"]}`), refused},
		{"a wrongly typed value that is not valid JSON either is refused", with(`"schema":[1,}`), refused},

		// The document around the object.
		{"leading and trailing whitespace is allowed", " \t\r\n" + with(`"id":"f-2"`) + " \t\r\n", decodes},
		{"whitespace everywhere between tokens is allowed", "{ \"schema\" : \"rounds.failure.v1\" ,\n\"id\"\t:\t\"f\" , \"project\":\"shop\",\"time\" : \"2025-11-28T20:53:00Z\"," +
			" \"kind\":\"test\", \"test\" : { \"name\" : \"T\" , \"line\" : 1 } , \"error\" : { \"frames\" : [ { \"line\" : 2 } , null ] , \"message\" : \"m\" } ," +
			" \"attributes\" : { \"a\" : \"b\" } }", decodes},
		{"trailing garbage is refused", with(`"id":"f-2"`) + "x", refused},
		{"a second object after the first is refused", with(`"id":"f-2"`) + "{}", refused},
		{"a top-level array is refused", `["shop"]`, refused},
		{"a top-level string is refused", `"shop"`, refused},
		{"a top-level number is refused", `1`, refused},
		{"a top-level true is refused", `true`, refused},
		{"an empty input is refused", ``, refused},
		{"whitespace alone is refused", " \n", refused},
		{"a byte order mark is refused", "\uFEFF" + with(`"id":"f-2"`), refused},
		{"a truncated document is refused", baseFailure, refused},
		{"a document cut after a comma is refused", baseFailure + ",", refused},
		{"an object with a trailing comma is refused", baseFailure + ",}", refused},
		{"an empty object decodes to nothing, which Validate refuses", `{}`, invalid},
		{"a comment is refused", with(`"id":"f-2" /* c */`), refused},
		{"a single-quoted string is refused", with(`"id":'f-2'`), refused},
	}
}

// frameList returns n frames, every third with only a line (from line+1
// on) and every fifth null.
func frameList(n, line int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		switch {
		case i%5 == 4:
			b.WriteString("null")
		case i%3 == 2:
			fmt.Fprintf(&b, `{"line":%d}`, line+i+1)
		default:
			fmt.Fprintf(&b, `{"function":"f%d","module":"m","file":"f.go","line":%d,"column":%d,"in_app":%t}`, i, line+i+1, i, i%2 == 0)
		}
	}
	return b.String()
}

// nested returns n nested empty arrays.
func nested(n int) string {
	return strings.Repeat("[", n) + strings.Repeat("]", n)
}

// nestedObjects returns n nested objects.
func nestedObjects(n int) string {
	return strings.Repeat(`{"a":`, n-1) + "{}" + strings.Repeat("}", n-1)
}

func TestDecodeFailureMatchesEncodingJSON(t *testing.T) {
	for _, tt := range decodeCases() {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.data)
			// The outcome keeps each case meaning what its name says.
			var f Failure
			outcome := decodes
			if err := decodeStrict("failure", data, MaxFailureBytes, &f); err != nil {
				outcome = refused
			} else if err := f.Validate(); err != nil {
				outcome = invalid
			}
			if outcome != tt.outcome {
				t.Fatalf("encoding/json: %s, want %s", outcome, tt.outcome)
			}
			checkMatchesReference(t, data)
		})
	}
}

func TestDecodeFailureMatchesEncodingJSONOnTheGoldenFile(t *testing.T) {
	golden, err := os.ReadFile("testdata/failure.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	checkMatchesReference(t, golden)
	var compact bytes.Buffer
	if err := json.Compact(&compact, golden); err != nil {
		t.Fatal(err)
	}
	checkMatchesReference(t, compact.Bytes())
	checkMatchesReference(t, realisticFailure(t))
}

// TestKeysFoldLikeEncodingJSON puts every rune with case variants (and every
// ASCII character) in place of each letter of the field names and checks
// that the key names the same field, or none, as for encoding/json.
func TestKeysFoldLikeEncodingJSON(t *testing.T) {
	// A document for each string field, with %s for its key.
	docs := map[string]string{}
	for _, name := range []string{"schema", "id", "project", "kind"} {
		docs[name] = `{%s:"v"}`
	}
	for _, name := range []string{"type", "message", "stack"} {
		docs[name] = `{"error":{%s:"v"}}`
	}
	for _, name := range []string{"framework", "suite", "name", "file"} {
		docs[name] = `{"test":{%s:"v"}}`
	}
	for _, name := range []string{"version", "environment", "host"} {
		docs[name] = `{"service":{%s:"v"}}`
	}
	for _, name := range []string{"commit", "branch", "ci_url"} {
		docs[name] = `{"run":{%s:"v"}}`
	}
	for _, name := range []string{"function", "module"} {
		docs[name] = `{"error":{"frames":[{%s:"v"}]}}`
	}
	// One place for each character that occurs in a field name.
	type place struct {
		name string
		i    int
	}
	places := map[byte]place{}
	for name := range docs {
		for i := 0; i < len(name); i++ {
			places[name[i]] = place{name, i}
		}
	}
	var runes []rune
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r < utf8.RuneSelf && r >= ' ' && r != '"' && r != '\\' || utf8.ValidRune(r) && unicode.SimpleFold(r) != r {
			runes = append(runes, r)
		}
	}
	if testing.Short() {
		runes = slicesEvery(runes, 7)
	}
	for c, p := range places {
		for _, r := range runes {
			key := p.name[:p.i] + string(r) + p.name[p.i+1:]
			data := fmt.Appendf(nil, docs[p.name], `"`+key+`"`)
			var got, want Failure
			gotErr := decodeFailure(data, &got)
			wantErr := json.Unmarshal(data, &want)
			if gotErr != nil || wantErr != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("%q for %q in %q: decoded %s (error %v), encoding/json %s (error %v)", r, c, p.name, show(got), gotErr, show(want), wantErr)
			}
		}
	}
}

// slicesEvery keeps every nth element.
func slicesEvery(rs []rune, n int) []rune {
	var kept []rune
	for i := 0; i < len(rs); i += n {
		kept = append(kept, rs[i])
	}
	return kept
}

func TestDecodeFailureErrorsSayWhere(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		{"a syntax error gives the character and its offset", `{"schema":x}`, `decode failure: field schema: invalid character 'x' looking for beginning of value at offset 10`},
		{"a syntax error outside any field gives the offset", `{"schema":"s" x}`, `decode failure: invalid character 'x' after object key:value pair at offset 14`},
		{"the end of the input is reported as such", `{"schema":`, `decode failure: unexpected end of JSON input at offset 10`},
		{"a wrong type gives the path of the field", with(`"error":{"frames":[{},{},{"line":"12"}]}`), `decode failure: field error.frames[2].line: expected a number, found a string at offset`},
		{"a wrong attribute gives its key", with(`"attributes":{"shard":3}`), `decode failure: field attributes["shard"]: expected a string, found a number at offset`},
		{"a number out of range says so", with(`"run":{"attempt":1e3}`), `field run.attempt: number 1e3 is not an integer that fits in an int at offset`},
		{"a bad time gives time's reason", with(`"time":"yesterday"`), `field time: parsing time "yesterday"`},
		{"deep nesting gives the limit", with(`"x":` + nested(maxNestingDepth)), `exceeded max nesting depth of 10000 at offset`},
		{"an invalid escape gives the character", `{"id":"\q"}`, `invalid character 'q' in string escape code at offset 8`},
		{"a non-ASCII character is shown whole", `{"id":é}`, `invalid character 'é' looking for beginning of value at offset 6`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeFailure([]byte(tt.data))
			if err == nil || !errors.Is(err, ErrInvalidEvent) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("DecodeFailure(%q) = %v, want an ErrInvalidEvent mentioning %q", tt.data, err, tt.want)
			}
		})
	}
}

// FuzzDecodeFailureMatchesEncodingJSON holds DecodeFailure to encoding/json
// on any input.
func FuzzDecodeFailureMatchesEncodingJSON(f *testing.F) {
	golden, err := os.ReadFile("testdata/failure.golden.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	var compact bytes.Buffer
	if err := json.Compact(&compact, golden); err != nil {
		f.Fatal(err)
	}
	f.Add(compact.Bytes())
	for _, tt := range decodeCases() {
		if len(tt.data) < 5000 { // not the deeply nested ones or 512 frames, which slow fuzzing down
			f.Add([]byte(tt.data))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkMatchesReference(t, data)
	})
}

// realisticFailure is a test failure of about 2.7 KB: a panic in a Go test
// with a 30-line stack, its innermost frames and the usual attributes.
func realisticFailure(tb testing.TB) []byte {
	tb.Helper()
	type call struct{ function, module, file string }
	calls := []call{
		{"(*Cart).Total", "example.com/shop/cart", "cart/cart.go"},
		{"(*Cart).Checkout", "example.com/shop/cart", "cart/checkout.go"},
		{"TestCheckout.func1", "example.com/shop/cart", "cart/checkout_test.go"},
		{"(*Ledger).Post", "example.com/shop/ledger", "ledger/ledger.go"},
		{"(*DB).ExecContext", "database/sql", "database/sql/sql.go"},
		{"(*Conn).exec", "github.com/jackc/pgx/v5", "pgx/conn.go"},
		{"(*Server).ServeHTTP", "example.com/shop/api", "api/server.go"},
		{"HandlerFunc.ServeHTTP", "net/http", "net/http/server.go"},
		{"(*ServeMux).ServeHTTP", "net/http", "net/http/server.go"},
		{"serverHandler.ServeHTTP", "net/http", "net/http/server.go"},
		{"(*conn).serve", "net/http", "net/http/server.go"},
		{"tRunner", "testing", "testing/testing.go"},
		{"(*T).Run.gowrap1", "testing", "testing/testing.go"},
		{"goexit", "runtime", "runtime/asm_amd64.s"},
	}
	var stack strings.Builder
	stack.WriteString("goroutine 7 [running]:\n")
	frames := make([]Frame, len(calls))
	for i, c := range calls {
		inApp := strings.HasPrefix(c.module, "example.com/shop")
		frames[i] = Frame{Function: c.function, Module: c.module, File: c.file, Line: 40 + 37*i, Column: i%5 + 2, InApp: &inApp}
		fmt.Fprintf(&stack, "%s.%s(0x%x)\n\t/src/%s:%d +0x%x\n", c.module, c.function, 0xc000012000+i*0x40, c.file, frames[i].Line, 0x1c+i)
	}
	stack.WriteString("created by testing.(*T).Run in goroutine 1\n")
	f := Failure{
		Schema:  SchemaFailure,
		ID:      "01JDRK8Q3V0ZC5G7X9M2N4P6T8",
		Project: "shop",
		Time:    time.Date(2025, 11, 28, 20, 53, 12, 345000000, time.UTC),
		Kind:    KindTest,
		Test:    &TestIdentity{Framework: "go", Suite: "example.com/shop/cart", Name: "TestCheckout/empty_cart", File: "cart/checkout_test.go", Line: 42},
		Error: ErrorInfo{
			Type:    "runtime.Error",
			Message: `panic: runtime error: invalid memory address or nil pointer dereference in "Total"`,
			Stack:   stack.String(),
			Frames:  frames[:7],
		},
		Run:        RunInfo{ID: "8812", Commit: "9f2c1e7d4b3a5f6e8d7c9b0a1f2e3d4c5b6a7980", Branch: "main", Attempt: 1, CIURL: "https://ci.example.com/shop/runs/8812"},
		Attributes: map[string]string{"goos": "linux", "goarch": "amd64", "shard": "3/8"},
	}
	if n := strings.Count(f.Error.Stack, "\n"); n != 30 {
		tb.Fatalf("the stack has %d lines, want 30", n)
	}
	data, err := json.Marshal(f)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func BenchmarkDecodeFailure(b *testing.B) {
	data := realisticFailure(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeFailure(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeFailureReference(b *testing.B) {
	data := realisticFailure(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reference(data); err != nil {
			b.Fatal(err)
		}
	}
}
