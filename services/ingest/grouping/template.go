// Package grouping decides which failures are the same bug: it masks the
// variable parts of messages into templates and computes the versioned
// fingerprint of a failure.
//
// It runs on ingest's per-message path, so it scans bytes by hand: no
// regular expressions (see shared/bench/PERF-NOTES.md).
package grouping

import "strings"

// Mask replaces each variable part of a message in a template.
const Mask = "<*>"

// maxTemplateInput bounds the work per message; what follows rarely tells
// two bugs apart and often carries run-specific dumps.
const maxTemplateInput = 4 << 10

// Template returns msg with its variable parts masked: every word holding a
// digit (numbers, hex, ids, times, versions, ports), paths and URLs, e-mail
// addresses, and quoted values. Runs of white space become one space.
func Template(msg string) string {
	return template(msg, false)
}

// template masks msg. In a stack line (stackLine), a path keeps its last
// element: a file or a function qualified by its package, which say where
// it broke, while the directories before it vary from machine to machine.
func template(msg string, stackLine bool) string {
	if len(msg) > maxTemplateInput {
		cut := maxTemplateInput
		// Not inside a rune (which is at most 4 bytes long).
		for back := 0; back < 3 && msg[cut]&0xC0 == 0x80; back++ {
			cut--
		}
		msg = msg[:cut]
	}
	var b strings.Builder
	b.Grow(len(msg))
	space := false
	for i := 0; i < len(msg); {
		c := msg[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			space = true
			i++
			continue
		case space && b.Len() > 0:
			b.WriteByte(' ')
		}
		space = false
		switch {
		case c == '"' || c == '\'' || c == '`':
			if end := closingQuote(msg, i); end > 0 {
				b.WriteByte(c)
				b.WriteString(Mask)
				b.WriteByte(c)
				i = end + 1
				continue
			}
			b.WriteByte(c)
			i++
		case isDelim(c):
			b.WriteByte(c)
			i++
		default:
			j := i
			for j < len(msg) && !isDelim(msg[j]) && !isSpace(msg[j]) && !isQuote(msg[j]) {
				j++
			}
			w := msg[i:j]
			if stackLine {
				w = lastPathElement(w)
			}
			if isVariable(w) {
				b.WriteString(Mask)
			} else {
				b.WriteString(w)
			}
			i = j
		}
	}
	return b.String()
}

// closingQuote returns the index of the quote closing the one at open, or
// -1 when it is an apostrophe in prose (no close on the same line, or a
// letter right before it as in "don't").
func closingQuote(msg string, open int) int {
	q := msg[open]
	if q == '\'' && open > 0 && isWordByte(msg[open-1]) {
		return -1
	}
	for j := open + 1; j < len(msg) && j-open < 512; j++ {
		switch msg[j] {
		case q:
			return j
		case '\n':
			return -1
		case '\\':
			j++
		}
	}
	return -1
}

func isVariable(w string) bool {
	for k := 0; k < len(w); k++ {
		switch c := w[k]; {
		case c >= '0' && c <= '9':
			return true
		case c == '/' || c == '\\' || c == '@':
			// Paths, URLs and e-mail addresses; a lone slash stays.
			return len(w) > 1
		}
	}
	return false
}

func lastPathElement(w string) string {
	for k := len(w) - 1; k >= 0; k-- {
		if w[k] == '/' || w[k] == '\\' {
			if k == len(w)-1 {
				return w
			}
			return w[k+1:]
		}
	}
	return w
}

func isDelim(c byte) bool {
	switch c {
	case '=', ',', ';', ':', '(', ')', '[', ']', '{', '}', '<', '>', '|', '!', '?':
		return true
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isQuote(c byte) bool { return c == '"' || c == '\'' || c == '`' }

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}
