package heuristic

import "strings"

// Categories the heuristic diagnoser assigns, in Diagnosis.Category.
const (
	CategoryAssertion       = "assertion"
	CategoryNilDereference  = "nil-dereference"
	CategoryIndexOutOfRange = "index-out-of-range"
	CategoryTimeout         = "timeout"
	CategoryConnRefused     = "connection-refused"
	CategoryNetwork         = "network"
	CategoryPermission      = "permission"
	CategoryMissingFile     = "missing-file"
	CategoryOutOfMemory     = "out-of-memory"
	CategoryDataRace        = "data-race"
	CategoryPanic           = "panic"
	CategoryConfiguration   = "configuration"
	CategoryUnknown         = "unknown"
)

// evidenceText is what rules look at, lower-cased once.
type evidenceText struct {
	// typ is the error type, and the innermost cause's type when the stack
	// shows a JVM "Caused by:".
	typ     string
	message string
	stack   string
}

// rule recognises one category.
type rule struct {
	category string
	// types are substrings of the error type that settle the category.
	types []string
	// typed is an extra check made with the types, for cases substrings of
	// the type cannot tell, such as a Python KeyError raised by os.environ.
	typed func(t evidenceText) bool
	// phrases are substrings of the message or the stack.
	phrases []string
	// says is an extra check of the message or the stack.
	says func(s string) bool
	// confidence is how sure a match makes the diagnosis before the
	// location and the source are taken into account.
	confidence float64
}

// match is the outcome of classification.
type match struct {
	rule rule
	// by says what matched: "type", "message" or "stack"; "" for unknown.
	by string
	// phrase is the phrase found, when one was.
	phrase string
}

// classify returns the first rule whose type matches, else the first whose
// phrases are in the message, else the first whose phrases are in the
// stack. The type is the most deliberate signal and the stack the noisiest:
// it may carry log output and other goroutines.
func classify(rules []rule, t evidenceText) match {
	for _, r := range rules {
		if r.typed != nil && r.typed(t) || t.typ != "" && containsAny(t.typ, r.types...) {
			return match{rule: r, by: "type"}
		}
	}
	for _, by := range []string{"message", "stack"} {
		s := t.message
		if by == "stack" {
			s = t.stack
		}
		if s == "" {
			continue
		}
		for _, r := range rules {
			for _, p := range r.phrases {
				if strings.Contains(s, p) {
					return match{rule: r, by: by, phrase: p}
				}
			}
			if r.says != nil && r.says(s) {
				return match{rule: r, by: by}
			}
		}
	}
	return match{rule: rule{category: CategoryUnknown, confidence: 0.1}}
}

// defaultRules returns the rules in the order they are tried. Environmental
// failures come before assertions because an assertion message often quotes
// the error that broke the test ("Received unexpected error: ... connection
// refused"); panic comes last because it wraps most Go runtime errors.
func defaultRules() []rule {
	return []rule{
		{
			category:   CategoryDataRace,
			phrases:    []string{"warning: data race", "race detected during execution of test", "threadsanitizer: data race"},
			confidence: 0.65,
		},
		{
			category:   CategoryOutOfMemory,
			types:      []string{"outofmemory", "memoryerror"},
			phrases:    []string{"out of memory", "outofmemoryerror", "cannot allocate memory", "memoryerror", "heap out of memory", "std::bad_alloc", "java heap space", "gc overhead limit exceeded", "oomkilled"},
			confidence: 0.6,
		},
		{
			category: CategoryTimeout,
			types:    []string{"timeout", "deadlineexceeded"},
			phrases: []string{"deadline exceeded", "timed out", "timeouterror", "timeoutexception", "timeout exceeded",
				"exceeded timeout", "i/o timeout", "ms exceeded", "awaiting headers"},
			confidence: 0.5,
		},
		{
			category:   CategoryConnRefused,
			types:      []string{"connectionrefused"},
			phrases:    []string{"connection refused", "econnrefused", "actively refused"},
			confidence: 0.6,
		},
		{
			category: CategoryNetwork,
			types:    []string{"unknownhost", "connectionreset", "brokenpipe", "gaierror", "socketexception", "httprequestexception", "fetcherror"},
			phrases: []string{"no such host", "enotfound", "getaddrinfo", "connection reset", "econnreset", "broken pipe", "epipe",
				"network is unreachable", "enetunreach", "ehostunreach", "no route to host", "name or service not known",
				"temporary failure in name resolution", "nodename nor servname", "unknownhostexception", "socket hang up",
				"tls handshake", "connection aborted", "econnaborted"},
			says:       networkEOF,
			confidence: 0.5,
		},
		{
			category:   CategoryPermission,
			types:      []string{"permissionerror", "accessdenied", "unauthorizedaccess"},
			phrases:    []string{"permission denied", "eacces", "eperm", "operation not permitted", "access is denied", "access to the path"},
			confidence: 0.55,
		},
		{
			category: CategoryMissingFile,
			types:    []string{"filenotfound", "nosuchfile", "directorynotfound"},
			phrases: []string{"no such file or directory", "filenotfounderror", "filenotfoundexception", "enoent", "nosuchfileexception",
				"could not find file", "cannot find the file", "cannot find the path", "could not find a part of the path"},
			confidence: 0.55,
		},
		{
			category:   CategoryConfiguration,
			types:      []string{"improperlyconfigured", "configurationerror", "configerror", "configurationexception"},
			typed:      environKeyError,
			phrases:    []string{"invalid config", "invalid configuration", "configuration error", "config error", "missing config", "improperlyconfigured", "failed to load config", "could not load config", "unable to load config"},
			says:       missingEnvironment,
			confidence: 0.45,
		},
		{
			category: CategoryNilDereference,
			types:    []string{"nullpointer", "nullreference"},
			phrases: []string{"nil pointer dereference", "invalid memory address", "'nonetype' object", "nonetype",
				"cannot read properties of undefined", "cannot read properties of null", "cannot read property",
				"cannot set properties of undefined", "cannot set properties of null", "is not an object",
				"nullpointerexception", "nullreferenceexception", "object reference not set to an instance",
				"on a `none` value", "attempt to index a nil value", "for nil:nilclass"},
			confidence: 0.6,
		},
		{
			category: CategoryIndexOutOfRange,
			types:    []string{"indexerror", "keyerror", "indexoutofbounds", "indexoutofrange", "argumentoutofrange", "keynotfound", "boundserror"},
			phrases: []string{"index out of range", "indexerror", "keyerror", "index out of bounds", "indexoutofbounds", "out of bounds for length",
				"slice bounds out of range", "index was out of range", "index was outside the bounds", "keynotfoundexception",
				"the given key was not present"},
			confidence: 0.55,
		},
		{
			category: CategoryAssertion,
			types:    []string{"assert", "comparisonfailure", "expectationnotmet", "xunit.sdk.", "expectationfailed"},
			phrases: []string{"assertionerror", "assertion failed", "assertion error", "assertion `", "assert.", "assert ",
				"expect(", "expected:", "but was", "not equal", "error trace:", "to equal", "to deeply equal",
				"expected values to be", "expectation failed", "expectation not met"},
			says: func(s string) bool {
				_, ok := extractComparison(s)
				return ok
			},
			confidence: 0.55,
		},
		{
			category:   CategoryPanic,
			types:      []string{"panic"},
			phrases:    []string{"panic:", "panicked at", "goroutine "},
			confidence: 0.4,
		},
	}
}

// networkEOF recognises an EOF on a network call, such as Go's
// `Post "http://api/x": EOF` or "read tcp 10.0.0.1:5000->10.0.0.2:80: EOF";
// an EOF while reading a file is not a network failure.
func networkEOF(s string) bool {
	return wordIndex(s, "eof") >= 0 && containsAny(s, "tcp", "udp", "http://", "https://", "dial", "socket", "connection")
}

// missingEnvironment recognises an unset or invalid environment variable.
func missingEnvironment(s string) bool {
	return containsAny(s, "environment variable", "env var", "envvar", "process.env", "os.getenv") &&
		containsAny(s, "missing", "not set", "required", "undefined", "empty", "must be set", "unset", "not defined", "not found", "invalid")
}

// environKeyError recognises Python's KeyError from os.environ["X"], which
// is a missing setting rather than a bad lookup in the code's own data.
func environKeyError(t evidenceText) bool {
	return strings.Contains(t.typ, "keyerror") && strings.Contains(t.stack, "os.environ")
}
