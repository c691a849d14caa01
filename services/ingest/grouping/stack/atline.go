package stack

import "strings"

// atLine adds the frame of a line starting with "at ", which the JVM, V8
// and .NET all print, each in its own form:
//
//	at com.acme.Cart.add(Cart.java:42)                       JVM
//	at java.base/java.lang.Thread.run(Thread.java:833)       JVM, with a module
//	at render (/app/src/list.js:12:15)                       V8
//	at async Promise.all (index 0)                           V8
//	at /app/src/index.js:3:1                                 V8, anonymous
//	at Acme.Shop.Cart.Total() in /src/Cart.cs:line 42        .NET
//	at System.Linq.Enumerable.First[T](IEnumerable`1 source) .NET, no file
func (s *scanner) atLine(t string) {
	if t == "" {
		return
	}
	// .NET: "Method(args) in path:line N".
	if i := strings.LastIndex(t, " in "); i > 0 && t[i-1] == ')' {
		loc := t[i+len(" in "):]
		if k := strings.LastIndex(loc, ":line "); k > 0 {
			if n, _, ok := parseLine(loc[k+len(":line "):]); ok {
				s.dotNetFrame(t[:i], loc[:k], n)
				return
			}
		}
	}
	if t[len(t)-1] == ')' {
		if i := strings.LastIndex(t, " ("); i > 0 {
			s.jsFrame(t[:i], t[i+2:len(t)-1])
			return
		}
	}
	open := strings.IndexByte(t, '(')
	if open < 0 {
		// V8, an anonymous function: "at /app/x.js:1:2".
		if strings.HasPrefix(t, "async ") {
			t = t[len("async "):]
		}
		if file, _, ok := jsLocation(t); ok && file != "" {
			s.jsFrame("", t)
		}
		return
	}
	if open == 0 {
		return
	}
	end := strings.IndexByte(t[open:], ')')
	if end < 0 {
		return
	}
	inner := t[open+1 : open+end]
	if isJVMSource(inner) {
		s.jvmFrame(t[:open], inner)
		return
	}
	s.dotNetFrame(t[:open+end+1], "", 0)
}

// isJVMSource reports whether what a JVM frame holds in parentheses is its
// source: "Cart.java:42", "Cart.kt", "Native Method", "Unknown Source",
// "<generated>". A .NET frame holds its parameters there, if any.
func isJVMSource(s string) bool {
	switch {
	case s == "":
		return false
	case s == "Native Method", strings.HasPrefix(s, "Unknown"), s == "<generated>":
		return true
	}
	return strings.IndexByte(s, ' ') < 0 && strings.IndexByte(s, '.') > 0
}

// jvmFrame adds a JVM frame: name is "[module/][loader//]pkg.Class.method",
// source is "File.java:12".
func (s *scanner) jvmFrame(name, source string) {
	f := Frame{}
	if c := strings.LastIndexByte(source, ':'); c > 0 {
		if n, rest, ok := parseLine(source[c+1:]); ok && rest == "" {
			f.File, f.Line = source[:c], n
		}
	} else if strings.IndexByte(source, '.') > 0 {
		f.File = source
	}
	// Lambdas and hidden classes carry a number and an address that change
	// from run to run: "Cart$$Lambda$14/0x0000000800066840.accept".
	lambda := strings.Index(name, "$$Lambda")
	head := name
	if lambda >= 0 {
		head = name[:lambda]
	}
	if k := strings.LastIndexByte(head, '/'); k >= 0 {
		name = name[k+1:]
		if lambda >= 0 {
			lambda -= k + 1
		}
	}
	class, method := splitLastDot(name)
	if lambda >= 0 {
		class = name[:lambda+len("$$Lambda")]
	}
	pkg, simple := splitLastDot(class)
	f.Module = pkg
	switch {
	case class == "":
		f.Function = method
	case lambda < 0:
		f.Function = name[len(name)-len(simple)-1-len(method):]
	default:
		f.Function = simple + "." + method
	}
	s.add(kindJVM, f)
}

// jsFrame adds a V8 frame: name is the function ("" when anonymous), loc is
// "path:line:col", "native", "index 0" or "<anonymous>".
func (s *scanner) jsFrame(name, loc string) {
	name = strings.TrimPrefix(name, "async ")
	name = strings.TrimPrefix(name, "new ")
	if i := strings.Index(name, " [as "); i > 0 {
		name = name[:i]
	}
	f := Frame{Function: name}
	if file, n, ok := jsLocation(loc); ok {
		f.File, f.Line = file, n
	} else {
		f.File = loc
	}
	f.Module = jsModule(f.File)
	s.add(kindJS, f)
}

// jsLocation splits "path:line:col" (or "path:line").
func jsLocation(loc string) (string, int, bool) {
	c := strings.LastIndexByte(loc, ':')
	if c <= 0 {
		return "", 0, false
	}
	n, rest, ok := parseLine(loc[c+1:])
	if !ok || rest != "" {
		return "", 0, false
	}
	if c2 := strings.LastIndexByte(loc[:c], ':'); c2 > 0 {
		if line, rest, ok := parseLine(loc[c2+1 : c]); ok && rest == "" {
			return loc[:c2], line, true
		}
	}
	return loc[:c], n, true
}

// jsModule names the module of a JavaScript file: the path under
// node_modules, or the file's directory and name, without the extension
// ("src/cart"); node's own modules keep their name ("node:internal/...").
func jsModule(file string) string {
	switch {
	case file == "", file == "native", file[0] == '<', strings.HasPrefix(file, "index "):
		return ""
	case strings.HasPrefix(file, "node:"), strings.HasPrefix(file, "internal/"):
		return file
	}
	path := file
	if i := strings.Index(path, "://"); i >= 0 {
		path = path[i+3:]
	}
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	if under, ok := afterLast(path, "node_modules/"); ok {
		path = under
	} else {
		path = appPath(path)
	}
	return stripExtension(path)
}

// dotNetFrame adds a .NET frame: call is "Ns.Class.Method(params)".
func (s *scanner) dotNetFrame(call, file string, line int) {
	name := call
	if i := strings.IndexByte(call, '('); i > 0 {
		name = call[:i]
	}
	module, function := splitDotNetName(name)
	s.add(kindDotNet, Frame{Function: function, Module: module, File: file, Line: line})
}

// splitDotNetName splits "Ns.Class.Method" into "Ns.Class" and "Method".
// The compiler's classes for async methods, iterators and lambdas
// ("Cart.<TotalAsync>d__5.MoveNext", "Cart.<>c__DisplayClass5_0.<Total>b__0")
// are named after the method they came from, with numbers that change from
// build to build: the frame is given that method.
func splitDotNetName(name string) (string, string) {
	dot := lastDotOutsideBrackets(name)
	if dot < 0 {
		return "", name
	}
	class, method := name[:dot], name[dot+1:]
	if dot > 0 && name[dot-1] == '.' {
		// A constructor: "Acme.Cart..ctor".
		class, method = name[:dot-1], name[dot:]
	}
	if strings.HasPrefix(method, "<") {
		// A lambda: "<Total>b__0".
		if fn, ok := generatedName(method); ok {
			if d := lastDotOutsideBrackets(class); d >= 0 && strings.HasPrefix(class[d+1:], "<") {
				class = class[:d]
			} else if strings.HasPrefix(class, "<") {
				class = ""
			}
			return class, fn
		}
	}
	if d := lastDotOutsideBrackets(class); d >= 0 && strings.HasPrefix(class[d+1:], "<") {
		// A state machine: "<TotalAsync>d__5.MoveNext".
		if fn, ok := generatedName(class[d+1:]); ok {
			return class[:d], fn
		}
	}
	return class, method
}

// generatedName returns the method named between the angle brackets of a
// compiler-generated name.
func generatedName(s string) (string, bool) {
	end := strings.IndexByte(s, '>')
	if end <= 1 {
		return "", false
	}
	return s[1:end], true
}

func lastDotOutsideBrackets(s string) int {
	depth := 0
	for k := len(s) - 1; k >= 0; k-- {
		switch s[k] {
		case ']', '>':
			depth++
		case '[', '<':
			depth--
		case '.':
			if depth == 0 {
				return k
			}
		}
	}
	return -1
}
