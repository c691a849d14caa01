package grouping

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/ingest/grouping/stack"
	"gopkg.in/yaml.v3"
)

// RulesFileName is the rules file Rounds looks for at the root of a
// project's codebase.
const RulesFileName = ".rounds.yml"

// Rule is one grouping rule of a project, as its rules file gives it. A
// rule either changes how the failures it matches group (Fingerprint,
// Components) or says whether the frames it matches belong to the project
// (InApp).
//
// The conditions that are set must all hold: Test is a glob over the
// test's "suite.name", ErrorType a glob over the error type, Message a
// substring of the message (a glob over all of it when it holds * or ?),
// Frame a glob over "module.function" of any frame of the stack. In a glob,
// * stands for any run of characters and ? for one.
type Rule struct {
	// Name names the rule; it becomes the "rule" component of what it
	// groups, so every signature says which rule made it.
	Name string
	// Line is where the rule starts in its file, for messages.
	Line int

	Test      string
	ErrorType string
	Message   string
	Frame     string

	// Fingerprint, when set, replaces the default components: each entry
	// is text, or a placeholder for default components: {{ default }} (all
	// of them), {{ test }}, {{ service }}, {{ type }}, {{ message }},
	// {{ frames }}, {{ stack }}, or {{ attributes.KEY }} for an attribute
	// of the failure.
	Fingerprint []string
	// Components are added to the fingerprint, their values text or
	// placeholders as in Fingerprint.
	Components []contract.Component
	// InApp, when set, marks the frames that Frame matches (a prefix
	// followed by *) as the project's or not.
	InApp *bool
}

// RulesError is a mistake in a rules file, with the line it is on.
type RulesError struct {
	File string
	Line int
	Msg  string
}

func (e *RulesError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// LoadRules reads and parses the rules file at path. A file that does not
// exist gives no rules, found false and no error.
func LoadRules(path string) (rules []Rule, found bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read rules file: %w", err)
	}
	rules, err = ParseRules(path, data)
	return rules, true, err
}

// ParseRules parses a rules file (file names it in errors):
//
//	version: 1              # optional
//	rules:
//	  - name: database down
//	    match:
//	      test: "shop.it.*"
//	      error_type: "*SQLException"
//	      message: "connection refused"
//	      frame: "org.postgresql.*"
//	    fingerprint: ["database-down"]
//	  - name: split checkout failures by os
//	    match: {test: "shop.checkout.*"}
//	    components: {os: "{{ attributes.os }}"}
//	  - name: generated code is not ours
//	    match: {frame: "com.acme.generated.*"}
//	    in_app: false
//
// The first rule that matches a failure and sets its grouping applies.
// Every mistake is reported with its line.
func ParseRules(file string, data []byte) ([]Rule, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(file, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil // empty file
	}
	p := rulesParser{file: file}
	top := doc.Content[0]
	if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
		return nil, nil
	}
	if top.Kind != yaml.MappingNode {
		return nil, p.errorf(top, "want a mapping with a rules list, got %s", kindName(top))
	}
	var rules []Rule
	err := p.mapping(top, func(key string, k, v *yaml.Node) error {
		switch key {
		case "version":
			if v.Kind != yaml.ScalarNode || v.Value != "1" {
				return p.errorf(v, "version %q is unknown: this Rounds reads version 1", v.Value)
			}
		case "rules":
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				return nil
			}
			if v.Kind != yaml.SequenceNode {
				return p.errorf(v, "rules: want a list, got %s", kindName(v))
			}
			for _, n := range v.Content {
				r, err := p.rule(n)
				if err != nil {
					return err
				}
				rules = append(rules, r)
			}
		default:
			return p.errorf(k, "unknown key %q: want version or rules", key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	seen := map[string]int{}
	for _, r := range rules {
		if line, dup := seen[r.Name]; dup {
			return nil, &RulesError{File: file, Line: r.Line, Msg: fmt.Sprintf("rule %q: the name is already used on line %d", r.Name, line)}
		}
		seen[r.Name] = r.Line
	}
	return rules, nil
}

type rulesParser struct{ file string }

func (p *rulesParser) errorf(n *yaml.Node, format string, args ...any) error {
	return &RulesError{File: p.file, Line: n.Line, Msg: fmt.Sprintf(format, args...)}
}

// mapping calls fn with each key of a mapping node, in order.
func (p *rulesParser) mapping(n *yaml.Node, fn func(key string, k, v *yaml.Node) error) error {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return p.errorf(k, "want a plain key, got %s", kindName(k))
		}
		if err := fn(k.Value, k, v); err != nil {
			return err
		}
	}
	return nil
}

func (p *rulesParser) str(what string, v *yaml.Node) (string, error) {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		return "", p.errorf(v, "%s: want text, got %s", what, kindName(v))
	}
	if v.Value == "" {
		return "", p.errorf(v, "%s is empty", what)
	}
	return v.Value, nil
}

func (p *rulesParser) rule(n *yaml.Node) (Rule, error) {
	r := Rule{Line: n.Line}
	if n.Kind != yaml.MappingNode {
		return r, p.errorf(n, "a rule must be a mapping with name, match and what to do, got %s", kindName(n))
	}
	var matchNode *yaml.Node
	err := p.mapping(n, func(key string, k, v *yaml.Node) error {
		var err error
		switch key {
		case "name":
			r.Name, err = p.str("name", v)
		case "match":
			matchNode = v
			err = p.match(&r, v)
		case "fingerprint":
			r.Fingerprint, err = p.fingerprint(v)
		case "components":
			r.Components, err = p.components(v)
		case "in_app":
			b, ok := parseBool(v)
			if !ok {
				return p.errorf(v, "in_app: want true or false, got %q", v.Value)
			}
			r.InApp = &b
		default:
			return p.errorf(k, "unknown key %q in a rule: want name, match, fingerprint, components or in_app", key)
		}
		return err
	})
	if err != nil {
		return r, err
	}
	what := func() string {
		if r.Name == "" {
			return "rule"
		}
		return fmt.Sprintf("rule %q", r.Name)
	}
	switch {
	case r.Name == "":
		return r, p.errorf(n, "rule has no name")
	case matchNode == nil || (r.Test == "" && r.ErrorType == "" && r.Message == "" && r.Frame == ""):
		return r, p.errorf(n, "%s matches nothing: give match with test, error_type, message or frame", what())
	case r.InApp == nil && r.Fingerprint == nil && r.Components == nil:
		return r, p.errorf(n, "%s does nothing: give fingerprint, components or in_app", what())
	case r.InApp != nil && (r.Fingerprint != nil || r.Components != nil):
		return r, p.errorf(n, "%s: in_app cannot go with fingerprint or components; make two rules", what())
	case r.InApp != nil && (r.Test != "" || r.ErrorType != "" || r.Message != "" || r.Frame == ""):
		return r, p.errorf(n, "%s: in_app rules match on frame only", what())
	case r.InApp != nil:
		if _, ok := framePrefix(r.Frame); !ok {
			return r, p.errorf(matchNode, "%s: in_app needs a frame pattern that is a prefix followed by * (such as \"com.acme.generated.*\"), got %q", what(), r.Frame)
		}
	}
	return r, nil
}

func (p *rulesParser) match(r *Rule, v *yaml.Node) error {
	if v.Kind != yaml.MappingNode {
		return p.errorf(v, "match: want a mapping of test, error_type, message or frame, got %s", kindName(v))
	}
	return p.mapping(v, func(key string, k, v *yaml.Node) error {
		var err error
		switch key {
		case "test":
			r.Test, err = p.str("match.test", v)
		case "error_type":
			r.ErrorType, err = p.str("match.error_type", v)
		case "message":
			r.Message, err = p.str("match.message", v)
		case "frame":
			r.Frame, err = p.str("match.frame", v)
		default:
			return p.errorf(k, "unknown key %q in match: want test, error_type, message or frame", key)
		}
		return err
	})
}

func (p *rulesParser) fingerprint(v *yaml.Node) ([]string, error) {
	var items []*yaml.Node
	switch v.Kind {
	case yaml.ScalarNode:
		items = []*yaml.Node{v}
	case yaml.SequenceNode:
		items = v.Content
	default:
		return nil, p.errorf(v, "fingerprint: want text or a list of text, got %s", kindName(v))
	}
	if len(items) == 0 {
		return nil, p.errorf(v, "fingerprint is an empty list")
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, err := p.str("fingerprint", it)
		if err != nil {
			return nil, err
		}
		if _, err := parseValue(s); err != nil {
			return nil, p.errorf(it, "fingerprint: %v", err)
		}
		out = append(out, s)
	}
	return out, nil
}

func (p *rulesParser) components(v *yaml.Node) ([]contract.Component, error) {
	if v.Kind != yaml.MappingNode || len(v.Content) == 0 {
		return nil, p.errorf(v, "components: want a mapping of names to values, got %s", kindName(v))
	}
	var out []contract.Component
	err := p.mapping(v, func(key string, k, v *yaml.Node) error {
		if key == "" || key == "rule" {
			return p.errorf(k, "components: %q cannot name a component", key)
		}
		s, err := p.str("components."+key, v)
		if err != nil {
			return err
		}
		if _, err := parseValue(s); err != nil {
			return p.errorf(v, "components.%s: %v", key, err)
		}
		out = append(out, contract.Component{Name: key, Value: s})
		return nil
	})
	return out, err
}

func parseBool(v *yaml.Node) (bool, bool) {
	if v.Kind != yaml.ScalarNode {
		return false, false
	}
	switch v.Value {
	case "true", "True", "TRUE", "yes":
		return true, true
	case "false", "False", "FALSE", "no":
		return false, true
	}
	return false, false
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

// yamlError turns yaml's "yaml: line 3: ..." into "file:3: ...".
func yamlError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.IndexByte(rest, ':'); i > 0 {
			if line, perr := strconv.Atoi(rest[:i]); perr == nil {
				return &RulesError{File: file, Line: line, Msg: strings.TrimSpace(rest[i+1:])}
			}
		}
	}
	return &RulesError{File: file, Msg: msg}
}

// framePrefix returns the prefix of a frame pattern that is a prefix
// followed by * (or has no wildcard at all).
func framePrefix(pattern string) (string, bool) {
	prefix := strings.TrimSuffix(pattern, "*")
	if prefix == "" || strings.ContainsAny(prefix, "*?") {
		return "", false
	}
	return prefix, true
}

// valueKind says what a fingerprint entry or component value stands for.
type valueKind uint8

const (
	valueText valueKind = iota
	valueDefault
	valueComponent
	valueAttribute
)

type value struct {
	kind valueKind
	// text is the text, the component's name or the attribute's key.
	text string
}

// placeholderComponents are the default components a placeholder can name.
var placeholderComponents = []string{"test", "service", "type", "message", "frames", "stack"}

func parseValue(s string) (value, error) {
	inner, ok := strings.CutPrefix(s, "{{")
	if !ok {
		if strings.Contains(s, "{{") {
			return value{}, fmt.Errorf("%q: a value is either text or one placeholder such as {{ message }}", s)
		}
		return value{kind: valueText, text: s}, nil
	}
	inner, ok = strings.CutSuffix(inner, "}}")
	if !ok || strings.Contains(inner, "{{") || strings.Contains(inner, "}}") {
		return value{}, fmt.Errorf("%q: a value is either text or one placeholder such as {{ message }}", s)
	}
	name := strings.TrimSpace(inner)
	if name == "default" {
		return value{kind: valueDefault}, nil
	}
	if key, ok := strings.CutPrefix(name, "attributes."); ok && key != "" {
		return value{kind: valueAttribute, text: key}, nil
	}
	for _, c := range placeholderComponents {
		if name == c {
			return value{kind: valueComponent, text: c}, nil
		}
	}
	return value{}, fmt.Errorf("unknown placeholder %q: want default, %s or attributes.KEY", name, strings.Join(placeholderComponents, ", "))
}

// compiledRule is a grouping rule ready to match.
type compiledRule struct {
	name                     string
	test, errorType, message string
	messageGlob              bool
	frame                    string
	fingerprint              []value // nil: keep the default components
	components               []namedValue
}

type namedValue struct {
	name string
	value
}

// compileRules splits rules into grouping rules and in-app prefixes.
func compileRules(rules []Rule) (grouping []compiledRule, inApp, notInApp []string) {
	for _, r := range rules {
		if r.InApp != nil {
			prefix, _ := framePrefix(r.Frame)
			if *r.InApp {
				inApp = append(inApp, prefix)
			} else {
				notInApp = append(notInApp, prefix)
			}
			continue
		}
		c := compiledRule{
			name: r.Name, test: r.Test, errorType: r.ErrorType, message: r.Message, frame: r.Frame,
			messageGlob: strings.ContainsAny(r.Message, "*?"),
		}
		for _, s := range r.Fingerprint {
			v, _ := parseValue(s) // checked when parsed
			c.fingerprint = append(c.fingerprint, v)
		}
		for _, comp := range r.Components {
			v, _ := parseValue(comp.Value)
			c.components = append(c.components, namedValue{comp.Name, v})
		}
		grouping = append(grouping, c)
	}
	return grouping, inApp, notInApp
}

// applyRules applies the first rule that matches f to res.
// test is the failure's test name, "" for a runtime error.
func (fp *Fingerprinter) applyRules(f *contract.Failure, res *Result, test string) {
	for i := range fp.rules {
		r := &fp.rules[i]
		if fp.matches(r, f, res, test) {
			r.apply(f, res, test)
			return
		}
	}
}

func (fp *Fingerprinter) matches(r *compiledRule, f *contract.Failure, res *Result, test string) bool {
	if r.test != "" {
		// The test, even when the default components leave it out.
		if f.Test == nil || !Glob(r.test, test) {
			return false
		}
	}
	if r.errorType != "" && !Glob(r.errorType, f.Error.Type) {
		return false
	}
	if r.message != "" {
		if r.messageGlob {
			if !Glob(r.message, f.Error.Message) {
				return false
			}
		} else if !strings.Contains(f.Error.Message, r.message) {
			return false
		}
	}
	return r.frame == "" || fp.anyFrame(f, r.frame)
}

// anyFrame reports whether a frame of f, sent or parsed from its stack
// text, matches pattern as "module.function".
func (fp *Fingerprinter) anyFrame(f *contract.Failure, pattern string) bool {
	if len(f.Error.Frames) > 0 {
		for _, fr := range f.Error.Frames {
			if frameMatches(pattern, fr.Module, fr.Function, fr.File) {
				return true
			}
		}
		return false
	}
	text := f.Error.Stack
	if text == "" {
		text = f.Error.Message
	}
	buf := fp.frameBufs.Get().(*[]stack.Frame)
	frames := fp.parser.ParseInnermostInto(*buf, text, 0)
	found := false
	for _, fr := range frames {
		if frameMatches(pattern, fr.Module, fr.Function, fr.File) {
			found = true
			break
		}
	}
	if cap(frames) <= 4*maxAppFrames {
		clear(frames)
		*buf = frames[:0]
	}
	fp.frameBufs.Put(buf)
	return found
}

// frameMatches matches pattern against "module.function", built on the
// stack when it is short; a frame known by its file only, by the file.
func frameMatches(pattern, module, function, file string) bool {
	switch {
	case module != "" && function != "":
		var arr [256]byte
		if len(module)+1+len(function) > len(arr) {
			return Glob(pattern, module+"."+function)
		}
		b := append(arr[:0], module...)
		b = append(b, '.')
		b = append(b, function...)
		return Glob(pattern, unsafe.String(unsafe.SliceData(b), len(b)))
	case module != "":
		return Glob(pattern, module)
	case function != "":
		return Glob(pattern, function)
	}
	return file != "" && Glob(pattern, file)
}

// component returns the default component named name; the test of a test
// failure even when the default components leave it out, as a rule that
// names it wants it.
func component(f *contract.Failure, res *Result, test, name string) (contract.Component, bool) {
	for _, c := range res.Components {
		if c.Name == name {
			return c, true
		}
	}
	if name == "test" && f.Test != nil {
		return contract.Component{Name: "test", Value: test}, true
	}
	return contract.Component{}, false
}

func (r *compiledRule) apply(f *contract.Failure, res *Result, test string) {
	n := len(res.Components) + len(r.components) + 1
	if r.fingerprint != nil {
		n = len(r.fingerprint) + len(res.Components) + len(r.components) + 1
	}
	comps := make([]contract.Component, 0, n)
	if r.fingerprint == nil {
		comps = append(comps, res.Components...)
	} else {
		for _, v := range r.fingerprint {
			switch v.kind {
			case valueText:
				comps = append(comps, contract.Component{Name: "fingerprint", Value: v.text})
			case valueDefault:
				comps = append(comps, res.Components...)
			case valueComponent:
				if c, ok := component(f, res, test, v.text); ok {
					comps = append(comps, c)
				}
			case valueAttribute:
				comps = append(comps, contract.Component{Name: "attributes." + v.text, Value: f.Attributes[v.text]})
			}
		}
	}
	for _, c := range r.components {
		switch c.kind {
		case valueText:
			comps = append(comps, contract.Component{Name: c.name, Value: c.text})
		case valueAttribute:
			comps = append(comps, contract.Component{Name: c.name, Value: f.Attributes[c.text]})
		case valueComponent:
			if d, ok := component(f, res, test, c.text); ok {
				comps = append(comps, contract.Component{Name: c.name, Value: d.Value})
			}
		case valueDefault:
			comps = append(comps, res.Components...)
		}
	}
	comps = append(comps, contract.Component{Name: "rule", Value: r.name})
	res.Components = comps
	res.Fingerprint = hash(comps)
}

// Glob reports whether s matches pattern, in which * stands for any run of
// bytes (none too) and ? for one byte; every other byte stands for itself.
func Glob(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case star >= 0:
			// Let the last * take one more byte.
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
