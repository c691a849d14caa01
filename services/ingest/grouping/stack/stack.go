// Package stack parses the stack text that runtimes and test runners print
// into frames, innermost first, and decides which frames belong to the
// project (in-app) rather than to the runtime, a test framework or a
// library.
//
// It reads Go panics and goroutine dumps (and the file:line lines of go
// test and testify), Python tracebacks and pytest reports, JVM exceptions
// (Java, Kotlin, Scala) with their causes, JavaScript V8 stacks (Node,
// Chrome, Jest, Mocha) and .NET exceptions with their inner exceptions.
//
// It runs on ingest's per-message path, so it scans lines by hand: no
// regular expressions, and the strings of a frame share the text's bytes
// when they can.
package stack

import (
	"errors"
	"strings"
)

// Frame is one stack frame.
type Frame struct {
	// Function is the function or method, qualified by its type or class
	// where the language does: "(*Cart).Checkout", "Cart.add", "render".
	Function string
	// Module is what holds the function: a Go package path, a Python
	// module ("billing.cart"), a Java package ("com.acme.shop"), a
	// JavaScript file without its extension ("src/cart") or a .NET
	// namespace and class ("Acme.Shop.Cart").
	Module string
	// File is the file as printed, with its directories.
	File string
	// Line is the line number, 0 when unknown.
	Line int
	// InApp is set when the frame belongs to the project.
	InApp bool
}

// Config says which frames belong to the project beyond the defaults.
//
// A rule matches a frame when the frame's module, function or file starts
// with it, or when the file holds it right after a path separator: "com.acme.",
// "github.com/acme/", "vendor/", "third_party/".
//
// By default a frame is not in-app when it comes from the Go standard
// library or GOROOT, the Go module cache or vendor/, site-packages,
// dist-packages or the Python standard library, pytest and pluggy,
// node_modules, node: and internal/ modules, jest-circus and mocha, the JVM
// (java., javax., jdk., sun., com.sun., kotlin., kotlinx., scala.), JUnit,
// TestNG, Maven and Gradle, .NET's System. and Microsoft., xunit and NUnit.
//
// When an InApp and a NotInApp rule both match, the longer one wins, and
// InApp on a tie: "com.acme.generated." takes generated code out of
// "com.acme.".
type Config struct {
	// InApp rules win over the defaults.
	InApp []string
	// NotInApp rules add to the defaults.
	NotInApp []string
}

// ErrEmptyRule is returned by Validate for an empty rule, which would
// match every frame.
var ErrEmptyRule = errors.New("empty in-app rule")

// Validate reports an empty rule.
func (c Config) Validate() error {
	for _, r := range c.InApp {
		if strings.TrimSpace(r) == "" {
			return ErrEmptyRule
		}
	}
	for _, r := range c.NotInApp {
		if strings.TrimSpace(r) == "" {
			return ErrEmptyRule
		}
	}
	return nil
}

// Parser parses stack text with one Config. Its methods are safe for
// concurrent use.
type Parser struct {
	cfg Config
}

// NewParser returns a parser applying cfg.
func NewParser(cfg Config) *Parser {
	return &Parser{cfg: Config{InApp: clean(cfg.InApp), NotInApp: clean(cfg.NotInApp)}}
}

func clean(rules []string) []string {
	var out []string
	for _, r := range rules {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out
}

var defaultParser = NewParser(Config{})

// Parse returns the frames of text, innermost first, with the default
// Config. See Parser.Parse.
func Parse(text string) []Frame {
	return defaultParser.Parse(text)
}

// InApp reports whether a frame that a publisher sent belongs to the
// project, by the default Config. See Parser.InApp.
func InApp(module, function, file string) bool {
	return defaultParser.InApp(module, function, file)
}

// InApp reports whether a frame belongs to the project, by the frame's
// module, function and file, whatever its language.
func (p *Parser) InApp(module, function, file string) bool {
	return p.inApp(langUnknown, module, function, file)
}

// language is the runtime that printed a frame.
type language uint8

const (
	langUnknown language = iota
	langGo
	langPython
	langJVM
	langJS
	langDotNet
)

func (p *Parser) inApp(lang language, module, function, file string) bool {
	in := longestMatch(p.cfg.InApp, module, function, file)
	out := longestMatch(p.cfg.NotInApp, module, function, file)
	if in > 0 || out > 0 {
		// The more specific rule wins: "com.acme.generated." out of
		// "com.acme.".
		return in >= out
	}
	return !notInAppByDefault(lang, module, function, file)
}

// longestMatch returns the length of the longest rule matching the frame,
// 0 when none does.
func longestMatch(rules []string, module, function, file string) int {
	longest := 0
	for _, r := range rules {
		if len(r) > longest && (qualifiedHasPrefix(module, function, r) || strings.HasPrefix(function, r) ||
			strings.HasPrefix(file, r) || containsAfterSeparator(file, r)) {
			longest = len(r)
		}
	}
	return longest
}

// qualifiedHasPrefix reports whether module.function starts with prefix,
// without building it: "org.postgresql." matches the package
// "org.postgresql" and its classes.
func qualifiedHasPrefix(module, function, prefix string) bool {
	if module == "" {
		return false
	}
	if len(prefix) <= len(module) {
		return strings.HasPrefix(module, prefix)
	}
	return prefix[:len(module)] == module && prefix[len(module)] == '.' &&
		strings.HasPrefix(function, prefix[len(module)+1:])
}

// containsAfterSeparator reports whether path holds part right after a '/'
// or a '\'. Windows paths are matched with either separator in part.
func containsAfterSeparator(path, part string) bool {
	for i := 0; i+len(part) < len(path); i++ {
		if c := path[i]; (c == '/' || c == '\\') && pathHasPrefix(path[i+1:], part) {
			return true
		}
	}
	return false
}

// pathHasPrefix is strings.HasPrefix where '/' and '\' are the same.
func pathHasPrefix(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for k := 0; k < len(prefix); k++ {
		a, b := s[k], prefix[k]
		if a == '\\' {
			a = '/'
		}
		if b == '\\' {
			b = '/'
		}
		if a != b {
			return false
		}
	}
	return true
}

// jvmPrefixes start the packages of the JVM, its languages and test tools.
var jvmPrefixes = []string{
	"java.", "javax.", "jdk.", "sun.", "com.sun.", "kotlin.", "kotlinx.", "scala.",
	"org.junit.", "junit.", "org.testng.", "org.apache.maven.", "org.gradle.", "worker.org.gradle.",
}

// dotNetPrefixes start the namespaces of .NET and its test frameworks.
var dotNetPrefixes = []string{
	"System.", "Microsoft.", "Xunit.", "xunit.", "NUnit.", "NUnit3", "MSTest.",
}

func notInAppByDefault(lang language, module, function, file string) bool {
	where := classifyPath(file)
	if where == pathLibrary {
		return true
	}
	unknown := lang == langUnknown
	switch {
	case (lang == langGo || unknown) && (module == "" && function == "panic" || isGoStd(module) ||
		module == "" && where == pathGoRoot):
		return true
	case (lang == langPython || unknown) && where == pathPythonStd:
		return true
	case lang == langJS && module == "":
		// No file: native code, "<anonymous>", "index 0" of Promise.all.
		return true
	case (lang == langJS || unknown) && (strings.HasPrefix(file, "node:") || strings.HasPrefix(file, "internal/") ||
		file == "<anonymous>" || file == "native"):
		return true
	case (lang == langJVM || unknown) && hasAnyPrefix(module, function, jvmPrefixes):
		return true
	case (lang == langDotNet || unknown) && hasAnyPrefix(module, function, dotNetPrefixes):
		return true
	}
	return false
}

// pathClass is what a file's path says of who owns the file.
type pathClass uint8

const (
	pathProject   pathClass = iota
	pathLibrary             // vendor/, node_modules/, site-packages/, the Go module cache, test runners
	pathGoRoot              // the Go distribution's sources
	pathPythonStd           // the Python standard library
)

// classifyPath reads a path's directories once, in either separator.
func classifyPath(file string) pathClass {
	if strings.HasPrefix(file, "<frozen ") {
		return pathPythonStd
	}
	if strings.HasPrefix(file, "$GOROOT") || strings.HasPrefix(file, "GOROOT/") {
		return pathGoRoot
	}
	class := pathProject
	var prev, prev2 string
	python := false
	for start, k := 0, 0; k < len(file); k++ {
		if c := file[k]; c != '/' && c != '\\' {
			continue
		}
		dir := file[start:k]
		start = k + 1
		switch dir {
		case "vendor", "node_modules", "site-packages", "dist-packages", "_pytest", "pluggy",
			"jest-circus", "jest-jasmine2", "jest-runner", "mocha", "bower_components", "jspm_packages",
			".yarn", ".pnpm":
			return pathLibrary
		case "mod":
			if prev == "pkg" {
				return pathLibrary
			}
		case "src":
			if prev == "go" || prev == "golang" || prev == "libexec" || strings.HasPrefix(prev, "go1.") ||
				strings.HasPrefix(prev, "go-1.") || prev2 == "go" && (prev == "x64" || prev == "arm64") {
				class = pathGoRoot
			}
		}
		if strings.HasPrefix(dir, "python") && (prev == "lib" || prev == "lib64") ||
			python && dir == "Lib" && class == pathProject {
			class = pathPythonStd
		}
		if strings.HasPrefix(dir, "Python") {
			python = true
		}
		if prev2 == "hostedtoolcache" && prev == "go" {
			class = pathGoRoot
		}
		prev2, prev = prev, dir
	}
	return class
}

// hasAnyPrefix reports whether module.function, or the function alone
// when there is no module, starts with one of prefixes.
func hasAnyPrefix(module, function string, prefixes []string) bool {
	for _, p := range prefixes {
		if module == "" && strings.HasPrefix(function, p) || qualifiedHasPrefix(module, function, p) {
			return true
		}
	}
	return false
}

// isGoStd reports whether a Go package path belongs to the standard
// library: its first element names a standard package and has no dot.
func isGoStd(pkg string) bool {
	first := pkg
	if i := strings.IndexByte(pkg, '/'); i >= 0 {
		first = pkg[:i]
	}
	switch first {
	case "runtime", "testing", "reflect", "sync", "internal", "syscall", "os", "io", "fmt", "net",
		"encoding", "context", "time", "errors", "strings", "bytes", "strconv", "sort", "math",
		"crypto", "database", "log", "bufio", "regexp", "unicode", "text", "html", "mime",
		"compress", "container", "hash", "image", "archive", "debug", "plugin", "embed",
		"expvar", "flag", "slices", "maps", "iter", "cmp", "unique", "weak", "structs", "path",
		"unsafe", "vendor":
		return true
	}
	return false
}
