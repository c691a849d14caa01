package stack

import "strings"

// pythonFrame adds the frame of a traceback line:
// `File "/app/cart.py", line 12, in add`.
func (s *scanner) pythonFrame(t string) {
	t = t[len(`File "`):]
	q := strings.IndexByte(t, '"')
	if q < 0 {
		return
	}
	file, rest := t[:q], t[q+1:]
	if !strings.HasPrefix(rest, ", line ") {
		return
	}
	n, rest, ok := parseLine(rest[len(", line "):])
	if !ok {
		return
	}
	function := ""
	if strings.HasPrefix(rest, ", in ") {
		function = trimSpace(rest[len(", in "):])
	}
	s.add(kindPython, Frame{Function: function, Module: pythonModule(file), File: file, Line: n})
}

// pytestLine adds the frame of a location line of a pytest report and
// reports whether t was one: "tests/test_cart.py:12: in test_add" (short
// form) or "app/cart.py:5: ValueError" after the function's source (long
// form, where the function is the last one whose def was shown).
func (s *scanner) pytestLine(t string) bool {
	i := strings.Index(t, ".py:")
	if i <= 0 {
		return false
	}
	file := t[:i+3]
	if strings.IndexByte(file, ' ') >= 0 || strings.IndexByte(file, '"') >= 0 {
		return false
	}
	n, rest, ok := parseLine(t[i+4:])
	if !ok || rest == "" || rest[0] != ':' {
		return false
	}
	rest = trimSpace(rest[1:])
	function := s.pyDef
	if strings.HasPrefix(rest, "in ") {
		function = trimSpace(rest[3:])
	}
	s.pyDef = ""
	s.add(kindPytest, Frame{Function: function, Module: pythonModule(file), File: file, Line: n})
	return true
}

// pythonDef returns the function a source line of a pytest report defines:
// "def test_add(cart):", "async def fetch(url):".
func pythonDef(t string) (string, bool) {
	if t[0] == '>' {
		t = trimSpace(t[1:])
	}
	t = strings.TrimPrefix(t, "async ")
	if !strings.HasPrefix(t, "def ") {
		return "", false
	}
	t = t[len("def "):]
	end := strings.IndexByte(t, '(')
	if end <= 0 {
		return "", false
	}
	return t[:end], true
}

// pythonModule names the module of a Python file. Under site-packages or
// the standard library it is the dotted path from there ("requests.api",
// "json.decoder"); elsewhere it is the file's directory and name
// ("billing.cart"): the directories above vary from checkout to checkout.
func pythonModule(file string) string {
	if file == "" || file[0] == '<' {
		return ""
	}
	path, found := afterLast(file, "site-packages/")
	if !found {
		path, found = afterLast(file, "dist-packages/")
	}
	if !found {
		if rest, ok := afterLast(file, "lib/python"); ok {
			// Past "3.12/".
			if k := strings.IndexAny(rest, `/\`); k >= 0 {
				path, found = rest[k+1:], true
			}
		}
	}
	if !found {
		path = appPath(file)
	}
	path = stripExtension(path)
	if strings.HasSuffix(path, "/__init__") || strings.HasSuffix(path, `\__init__`) {
		path = path[:len(path)-len("/__init__")]
	}
	if strings.IndexAny(path, `/\`) < 0 {
		return path
	}
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' {
			return '.'
		}
		return r
	}, path)
}
