// Package owners reads CODEOWNERS files: who owns a file of the codebase.
//
// A CODEOWNERS file lists patterns with their owners, one a line; the last
// pattern matching a file wins, and a pattern with no owners leaves the
// file without any. Patterns are gitignore-style, as GitHub and GitLab read
// them: a leading "/" or a "/" inside anchors a pattern at the root, else it
// matches at any depth; a trailing "/" matches a directory's contents; "*"
// and "?" stay within a path component, "**" crosses them; a pattern whose
// last component is a plain name matching a directory owns everything
// under it, while one ending in a wildcard ("docs/*") owns only the files
// at that level, as GitHub documents.
package owners

import (
	"bytes"
	"regexp"
	"strings"
)

// Files are where a CODEOWNERS file is looked for, in the order GitHub
// looks: the first one that exists is used.
var Files = []string{".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"}

const (
	// maxRules bounds the rules read from one file.
	maxRules = 5000
	// maxLineBytes bounds a line; a longer one is skipped.
	maxLineBytes = 4096
)

// Rules are the rules of a CODEOWNERS file, in file order.
type Rules struct {
	rules []rule
}

type rule struct {
	pattern string
	re      *regexp.Regexp
	owners  []string
}

// section matches a GitLab section header: "[Name]", "^[Name]", "[Name][2]".
var section = regexp.MustCompile(`^\^?\[[^\]]*\](\[\d+\])?$`)

// Parse reads a CODEOWNERS file. Comments, blank lines, GitLab section
// headers ("[Section]") and lines it cannot read (negations, which GitHub
// does not support either) are skipped.
func Parse(data []byte) *Rules {
	r := &Rules{}
	for line := range bytes.Lines(data) {
		if len(r.rules) == maxRules {
			break
		}
		if len(line) > maxLineBytes {
			continue
		}
		fields := splitLine(string(line))
		if len(fields) == 0 {
			continue
		}
		pattern := fields[0]
		if section.MatchString(pattern) || strings.HasPrefix(pattern, "!") {
			continue
		}
		re, ok := compile(pattern)
		if !ok {
			continue
		}
		var owners []string
		if len(fields) > 1 {
			owners = fields[1:]
		}
		r.rules = append(r.rules, rule{pattern: pattern, re: re, owners: owners})
	}
	return r
}

// splitLine returns the pattern and the owners on a line, without its
// comment. A "\#" or "\ " in a pattern is a literal "#" or space.
func splitLine(line string) []string {
	var fields []string
	var cur strings.Builder
	inField := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line):
			cur.WriteByte(c)
			cur.WriteByte(line[i+1])
			i++
			inField = true
		case c == '#' && !inField:
			i = len(line)
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			if inField {
				fields = append(fields, cur.String())
				cur.Reset()
				inField = false
			}
		default:
			cur.WriteByte(c)
			inField = true
		}
	}
	if inField {
		fields = append(fields, cur.String())
	}
	return fields
}

// compile turns a gitignore-style pattern into a regular expression over
// slash-separated paths relative to the root.
func compile(pattern string) (*regexp.Regexp, bool) {
	dirOnly := strings.HasSuffix(pattern, "/")
	p := strings.TrimSuffix(pattern, "/")
	anchored := strings.HasPrefix(p, "/") || strings.Contains(strings.TrimPrefix(p, "/"), "/")
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		if dirOnly { // "/" alone: the root, which holds everything
			return regexp.MustCompile(`^`), true
		}
		return nil, false
	}
	var b strings.Builder
	b.WriteString("^")
	if !anchored {
		b.WriteString("(?:.*/)?")
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case strings.HasPrefix(p[i:], "**/"):
			b.WriteString("(?:.*/)?")
			i += 2
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '[':
			end := strings.IndexByte(p[i+1:], ']')
			if end < 0 {
				b.WriteString(`\[`)
				continue
			}
			class := p[i+1 : i+1+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += end + 1
		case c == '\\' && i+1 < len(p):
			b.WriteString(regexp.QuoteMeta(p[i+1 : i+2]))
			i++
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	last := p[strings.LastIndexByte(p, '/')+1:]
	switch {
	case dirOnly:
		b.WriteString("/")
	case strings.ContainsAny(last, "*?["):
		// GitHub: "docs/*" owns docs/a.md but not docs/build/b.md.
		b.WriteString("$")
	default:
		// A name matches a file, or a directory and all it holds.
		b.WriteString("(?:/|$)")
	}
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, false
	}
	return re, true
}

// Owners returns the owners of file, a slash-separated path relative to
// the root, and the pattern that gave them; no owners when no pattern
// matches or the last matching one names none.
func (r *Rules) Owners(file string) (owners []string, pattern string) {
	if r == nil {
		return nil, ""
	}
	file = strings.TrimPrefix(file, "/")
	for i := len(r.rules) - 1; i >= 0; i-- {
		if r.rules[i].re.MatchString(file) {
			return r.rules[i].owners, r.rules[i].pattern
		}
	}
	return nil, ""
}
