package grouping

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// Version is the fingerprint algorithm's version, stored on every
// signature. Changing what goes into a fingerprint changes the version.
const Version = 1

// maxStackLines bounds how much of a stack takes part in grouping: the
// innermost frames say where it broke; the rest says how it was called.
const maxStackLines = 30

// Result is how a failure groups.
type Result struct {
	// Fingerprint is the hex SHA-256 of the version and the components.
	Fingerprint string
	// Components are what went into the fingerprint, in order.
	Components []contract.Component
	// Template is the message template.
	Template string
	// Title is a one-line name for the signature.
	Title string
}

// Fingerprint groups f: test identity (or service), error type, message
// template and the normalized stack. Line numbers, paths, addresses and
// goroutine ids are masked, so they never split a group.
func Fingerprint(f *contract.Failure) Result {
	tmpl := Template(f.Error.Message)
	comps := make([]contract.Component, 0, 4)
	switch {
	case f.Test != nil:
		comps = append(comps, contract.Component{Name: "test", Value: testName(f.Test)})
	case f.Service != nil:
		comps = append(comps, contract.Component{Name: "service", Value: f.Service.Name})
	}
	if f.Error.Type != "" {
		comps = append(comps, contract.Component{Name: "type", Value: f.Error.Type})
	}
	comps = append(comps, contract.Component{Name: "message", Value: tmpl})
	if stack := normalizedStack(f); stack != "" {
		comps = append(comps, contract.Component{Name: "stack", Value: stack})
	}

	// Every field is length-prefixed, so no value can imitate a boundary.
	h := sha256.New()
	var buf [binary.MaxVarintLen64]byte
	h.Write(buf[:binary.PutUvarint(buf[:], Version)])
	for _, c := range comps {
		h.Write(buf[:binary.PutUvarint(buf[:], uint64(len(c.Name)))])
		h.Write([]byte(c.Name))
		h.Write(buf[:binary.PutUvarint(buf[:], uint64(len(c.Value)))])
		h.Write([]byte(c.Value))
	}
	return Result{
		Fingerprint: hex.EncodeToString(h.Sum(nil)),
		Components:  comps,
		Template:    tmpl,
		Title:       title(f),
	}
}

// SignatureID is the short stable id of a fingerprint within a project.
func SignatureID(project, fingerprint string) string {
	sum := sha256.Sum256([]byte(project + "\x00" + fingerprint))
	return hex.EncodeToString(sum[:8])
}

func testName(t *contract.TestIdentity) string {
	if t.Suite == "" {
		return t.Name
	}
	return t.Suite + "." + t.Name
}

// normalizedStack returns the in-app frames' module and function when the
// publisher sent frames, or else the stack text line by line with its
// variable parts masked.
func normalizedStack(f *contract.Failure) string {
	var b strings.Builder
	if len(f.Error.Frames) > 0 {
		n := 0
		for _, fr := range f.Error.Frames {
			if fr.InApp != nil && !*fr.InApp {
				continue
			}
			if n == maxStackLines {
				break
			}
			n++
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(fr.Module)
			b.WriteByte(' ')
			b.WriteString(fr.Function)
		}
		return b.String()
	}
	lines := 0
	for rest := f.Error.Stack; rest != "" && lines < maxStackLines; {
		line := rest
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		t := template(line, true)
		if !meaningful(t) {
			continue
		}
		lines++
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(t)
	}
	return b.String()
}

// meaningful reports whether a templated line has a word left in it.
func meaningful(t string) bool {
	t = strings.ReplaceAll(t, Mask, "")
	for i := 0; i < len(t); i++ {
		if isWordByte(t[i]) {
			return true
		}
	}
	return false
}

// title names the signature by its test or service, error type and the
// first line of its message, templated.
func title(f *contract.Failure) string {
	what := f.Error.Type
	if first := Template(firstLine(f.Error.Message)); first != "" {
		if what != "" {
			what += ": "
		}
		what += first
	}
	what = clip(what, 120)
	switch {
	case f.Test != nil:
		return clip(testName(f.Test), 120) + ": " + what
	case f.Service != nil:
		return f.Service.Name + ": " + what
	}
	return what
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
