package prompt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/diagnose/internal/codebase"
)

// ErrInvalidAnswer is wrapped by every error of ParseAnswer: the model
// answered, but not with a usable diagnosis. Asking again may help.
var ErrInvalidAnswer = errors.New("invalid answer")

// Bounds on an answer, so that a rambling model cannot bloat the
// diagnosis event.
const (
	maxAnswerBytes      = 1 << 20
	maxObjectCandidates = 64
	maxRootCauseBytes   = 2000
	maxFixBytes         = 4000
	maxEvidence         = 20
	maxSummaryBytes     = 600
	maxFileBytes        = 512
	maxCategoryBytes    = 40
	answerSnippetLines  = 3
)

// evidenceKinds are the kinds of evidence a diagnosis may cite.
var evidenceKinds = map[string]bool{"frame": true, "source": true, "occurrence": true, "commit": true, "note": true}

// answer is the JSON object the prompt asks for. Confidence is a pointer
// so that a missing one is told from 0.
type answer struct {
	RootCause    string           `json:"root_cause"`
	Evidence     []answerEvidence `json:"evidence"`
	SuggestedFix string           `json:"suggested_fix"`
	Confidence   *float64         `json:"confidence"`
	Category     string           `json:"category"`
}

type answerEvidence struct {
	Kind    string `json:"kind"`
	Summary string `json:"summary"`
	File    string `json:"file"`
	Line    int    `json:"line"`
}

// ParseAnswer extracts the JSON object of a model's answer, also when it
// is fenced in ```json or surrounded by prose, and checks it: root_cause
// and suggested_fix must not be empty, confidence must be a number from 0
// to 1, and each evidence kind one of frame, source, occurrence, commit
// or note. It fills Category (normalised; "unknown" when missing),
// RootCause, Evidence, SuggestedFix and Confidence, scrubbed (see Scrub)
// and cut to bounded sizes; the caller fills in who diagnosed and at what
// cost. Every error wraps ErrInvalidAnswer.
func ParseAnswer(text string) (contract.Diagnosis, error) {
	if len(text) > maxAnswerBytes {
		return contract.Diagnosis{}, fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidAnswer, len(text), maxAnswerBytes)
	}
	raw, err := extractObject(text)
	if err != nil {
		return contract.Diagnosis{}, err
	}
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		return contract.Diagnosis{}, fmt.Errorf("%w: decode the JSON object: %v", ErrInvalidAnswer, err)
	}
	return a.diagnosis()
}

// extractObject finds the JSON object in text: the whole text, else the
// first fenced block that is one, else the first object that starts at a
// "{" and has a root_cause, else the first object at all (which then fails
// validation with a clear message).
func extractObject(text string) (json.RawMessage, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, fmt.Errorf("%w: the answer is empty", ErrInvalidAnswer)
	}
	if obj, ok := object(text); ok {
		return obj, nil
	}
	for rest := text; ; {
		i := strings.Index(rest, "```")
		if i < 0 {
			break
		}
		rest = rest[i+3:]
		// Skip the info string: ```json, ```JSON, ```.
		nl := strings.IndexByte(rest, '\n')
		if nl < 0 {
			break
		}
		body := rest[nl+1:]
		end := strings.Index(body, "```")
		if end < 0 {
			end = len(body)
		}
		if obj, ok := object(strings.TrimSpace(body[:end])); ok {
			return obj, nil
		}
		if end == len(body) {
			break
		}
		rest = body[end+3:]
	}
	var first json.RawMessage
	from, tries := 0, 0
	for tries < maxObjectCandidates {
		i := strings.IndexByte(text[from:], '{')
		if i < 0 {
			break
		}
		from += i
		tries++
		dec := json.NewDecoder(strings.NewReader(text[from:]))
		var obj json.RawMessage
		if err := dec.Decode(&obj); err == nil && len(obj) > 0 && obj[0] == '{' {
			if hasKey(obj, "root_cause") {
				return obj, nil
			}
			if first == nil {
				first = obj
			}
		}
		from++
	}
	if first != nil {
		return first, nil
	}
	return nil, fmt.Errorf("%w: no JSON object found in %q", ErrInvalidAnswer, safe(text, 200))
}

// object returns s when it is exactly one JSON object.
func object(s string) (json.RawMessage, bool) {
	if !strings.HasPrefix(s, "{") || !json.Valid([]byte(s)) {
		return nil, false
	}
	return json.RawMessage(s), true
}

func hasKey(obj json.RawMessage, key string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil {
		return false
	}
	_, ok := m[key]
	return ok
}

func (a answer) diagnosis() (contract.Diagnosis, error) {
	invalid := func(format string, args ...any) (contract.Diagnosis, error) {
		return contract.Diagnosis{}, fmt.Errorf("%w: %s", ErrInvalidAnswer, fmt.Sprintf(format, args...))
	}
	rootCause := strings.TrimSpace(a.RootCause)
	fix := strings.TrimSpace(a.SuggestedFix)
	switch {
	case rootCause == "":
		return invalid("root_cause is missing or empty")
	case fix == "":
		return invalid("suggested_fix is missing or empty")
	case a.Confidence == nil:
		return invalid("confidence is missing")
	case math.IsNaN(*a.Confidence) || *a.Confidence < 0 || *a.Confidence > 1:
		return invalid("confidence %v is not between 0 and 1", *a.Confidence)
	}
	d := contract.Diagnosis{
		Category:     category(a.Category),
		RootCause:    safe(rootCause, maxRootCauseBytes),
		SuggestedFix: safe(fix, maxFixBytes),
		Confidence:   *a.Confidence,
		Evidence:     []contract.Evidence{},
	}
	for i, e := range a.Evidence {
		kind := strings.ToLower(strings.TrimSpace(e.Kind))
		if !evidenceKinds[kind] {
			return invalid("evidence[%d].kind %q is not one of frame, source, occurrence, commit or note", i, e.Kind)
		}
		summary := strings.TrimSpace(e.Summary)
		if summary == "" {
			return invalid("evidence[%d].summary is empty", i)
		}
		if e.Line < 0 {
			return invalid("evidence[%d].line %d is negative", i, e.Line)
		}
		if len(d.Evidence) == maxEvidence {
			continue
		}
		d.Evidence = append(d.Evidence, contract.Evidence{
			Kind:    kind,
			Summary: safe(summary, maxSummaryBytes),
			File:    safe(strings.TrimSpace(e.File), maxFileBytes),
			Line:    e.Line,
		})
	}
	return d, nil
}

// category normalises a category to the lower-case, hyphenated form the
// heuristic uses; an empty one is "unknown".
func category(c string) string {
	c = strings.ToLower(strings.Join(strings.FieldsFunc(c, func(r rune) bool {
		return r == ' ' || r == '_' || r == '\t' || r == '\n'
	}), "-"))
	var b bytes.Buffer
	for _, r := range c {
		if r == '-' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	c = strings.Trim(b.String(), "-")
	if c == "" {
		return "unknown"
	}
	return clip(c, maxCategoryBytes)
}

// AttachSource checks the files an answer cites against the codebase:
// evidence of kind frame or source whose file and line resolve gets the
// file's path relative to the root and the lines around it, scrubbed.
// Evidence that does not resolve is kept as the model gave it.
func AttachSource(evidence []contract.Evidence, tree *codebase.Tree) {
	if tree == nil {
		return
	}
	for i := range evidence {
		e := &evidence[i]
		if (e.Kind != "frame" && e.Kind != "source") || e.File == "" || e.Line < 1 || e.Snippet != "" {
			continue
		}
		s, err := tree.Snippet(e.File, e.Line, answerSnippetLines)
		if err != nil {
			continue
		}
		e.File = s.File
		e.Snippet = Scrub(s.String())
	}
}
