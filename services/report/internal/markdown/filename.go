package markdown

import (
	"strings"
	"time"
)

// maxPartLen caps each sanitized part of a file name so that the whole name
// (three parts, a timestamp and an extension) stays well under the 255-byte
// limit most file systems put on one path element.
const maxPartLen = 60

// FileName returns the report's path relative to the reports directory:
// YYYY-MM-DD/HH-MM-SS_<project>_<error-type>_<signature-id>.md, with date and
// time taken from t in UTC.
//
// Project, error type and signature id are sanitized: only ASCII letters,
// digits, '-' and '.' are kept, a run of dots becomes one '.', every other
// run of bytes becomes one '_', dots and underscores are trimmed from both
// ends, each part is cut to 60 bytes and an empty part becomes "unknown". The result is always one directory and
// one plain file name, never absolute, hidden or containing "..".
func FileName(t time.Time, project, errorType, signatureID string) string {
	t = t.UTC()
	return t.Format("2006-01-02") + "/" + t.Format("15-04-05") +
		"_" + sanitize(project) +
		"_" + sanitize(errorType) +
		"_" + sanitize(signatureID) + ".md"
}

// sanitize turns s into a safe part of a file name (see FileName).
func sanitize(s string) string {
	b := make([]byte, 0, min(len(s), 2*maxPartLen))
	last := byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
		case c == '.':
			// A run of dots collapses to one so that no ".." survives
			// anywhere in the name, which Write would refuse.
			if last == '.' {
				continue
			}
		default:
			// Working on bytes makes a multi-byte rune one run, hence one '_'.
			if last == '_' {
				continue
			}
			c = '_'
		}
		b = append(b, c)
		last = c
	}
	return tidy(string(b))
}

// tidy trims what would make a part hidden or ugly and caps its length.
// Trailing dots and underscores go too: a final '.' of the signature id
// would meet the one of ".md" and make "..", and a final '_' (from
// punctuation such as a closing ':') would double the '_' joining the parts.
func tidy(s string) string {
	s = strings.TrimLeft(s, "._")
	if len(s) > maxPartLen {
		s = s[:maxPartLen] // all ASCII by now, so no rune is cut in half
	}
	s = strings.TrimRight(s, "._")
	if s == "" {
		return "unknown"
	}
	return s
}
