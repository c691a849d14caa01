package grouping

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rounds-dev/rounds/pkg/contract"
)

const goodRules = `# How shop's failures group.
version: 1
rules:
  - name: database down
    match:
      error_type: "*OpError"
      message: "connection refused"
    fingerprint: ["database-down"]
  - name: checkout by os
    match: {test: "github.com/acme/shop/cart.Test*", frame: "github.com/acme/shop/cart.(*Cart).*"}
    components: {os: "{{ attributes.os }}"}
  - name: generated code is not ours
    match: {frame: "github.com/acme/shop/gen.*"}
    in_app: false
`

func TestParseRules(t *testing.T) {
	rules, err := ParseRules(".rounds.yml", []byte(goodRules))
	if err != nil {
		t.Fatal(err)
	}
	no := false
	want := []Rule{
		{Name: "database down", Line: 4, ErrorType: "*OpError", Message: "connection refused", Fingerprint: []string{"database-down"}},
		{Name: "checkout by os", Line: 9, Test: "github.com/acme/shop/cart.Test*", Frame: "github.com/acme/shop/cart.(*Cart).*",
			Components: []contract.Component{{Name: "os", Value: "{{ attributes.os }}"}}},
		{Name: "generated code is not ours", Line: 12, Frame: "github.com/acme/shop/gen.*", InApp: &no},
	}
	if !reflect.DeepEqual(rules, want) {
		t.Errorf("ParseRules =\n%+v\nwant\n%+v", rules, want)
	}
}

func TestParseRulesOfNothing(t *testing.T) {
	for _, data := range []string{"", "# nothing yet\n", "rules:\n", "version: 1\nrules: []\n", "~\n"} {
		rules, err := ParseRules(".rounds.yml", []byte(data))
		if err != nil || len(rules) != 0 {
			t.Errorf("ParseRules(%q) = %v, %v; want no rules and no error", data, rules, err)
		}
	}
}

func TestParseRulesRefusesMistakesNamingTheFileAndLine(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"invalid YAML", "rules:\n  - name: x\n    match: {test: [\n", ".rounds.yml:3: did not find expected node content"},
		{"a tab for indentation", "rules:\n\t- name: x\n", ".rounds.yml:2: found character that cannot start any token"},
		{"a list at the top", "- name: x\n", ".rounds.yml:1: want a mapping with a rules list, got a list"},
		{"an unknown top-level key", "version: 1\nrulez: []\n", `.rounds.yml:2: unknown key "rulez": want version or rules`},
		{"an unknown version", "version: 2\n", `.rounds.yml:1: version "2" is unknown: this Rounds reads version 1`},
		{"rules that are not a list", "rules: {name: x}\n", ".rounds.yml:1: rules: want a list, got a mapping"},
		{"a rule that is not a mapping", "rules:\n  - just text\n", `.rounds.yml:2: a rule must be a mapping with name, match and what to do, got "just text"`},
		{"a rule without a name", "rules:\n  - match: {test: x}\n    fingerprint: [a]\n", ".rounds.yml:2: rule has no name"},
		{"a rule that matches nothing", "rules:\n  - name: x\n    fingerprint: [a]\n", `.rounds.yml:2: rule "x" matches nothing: give match with test, error_type, message or frame`},
		{"a rule that does nothing", "rules:\n\n  - name: x\n    match: {test: x}\n", `.rounds.yml:3: rule "x" does nothing: give fingerprint, components or in_app`},
		{"an unknown key in a rule", "rules:\n  - name: x\n    match: {test: x}\n    fingerprints: [a]\n", `.rounds.yml:4: unknown key "fingerprints" in a rule`},
		{"an unknown key in match", "rules:\n  - name: x\n    match:\n      tset: x\n    fingerprint: [a]\n", `.rounds.yml:4: unknown key "tset" in match`},
		{"an empty pattern", "rules:\n  - name: x\n    match: {message: \"\"}\n    fingerprint: [a]\n", ".rounds.yml:3: match.message is empty"},
		{"a pattern that is not text", "rules:\n  - name: x\n    match: {message: [a]}\n    fingerprint: [a]\n", ".rounds.yml:3: match.message: want text, got a list"},
		{"an empty fingerprint", "rules:\n  - name: x\n    match: {test: x}\n    fingerprint: []\n", ".rounds.yml:4: fingerprint is an empty list"},
		{"an unknown placeholder", "rules:\n  - name: x\n    match: {test: x}\n    fingerprint: [\"{{ mesage }}\"]\n", `.rounds.yml:4: fingerprint: unknown placeholder "mesage"`},
		{"text around a placeholder", "rules:\n  - name: x\n    match: {test: x}\n    components: {a: \"db-{{ type }}\"}\n", `.rounds.yml:4: components.a: "db-{{ type }}": a value is either text or one placeholder`},
		{"a component named rule", "rules:\n  - name: x\n    match: {test: x}\n    components: {rule: y}\n", `.rounds.yml:4: components: "rule" cannot name a component`},
		{"in_app that is not a boolean", "rules:\n  - name: x\n    match: {frame: a.*}\n    in_app: maybe\n", `.rounds.yml:4: in_app: want true or false, got "maybe"`},
		{"in_app with a pattern that is no prefix", "rules:\n  - name: x\n    match:\n      frame: \"*.gen.*\"\n    in_app: false\n", `.rounds.yml:4: rule "x": in_app needs a frame pattern that is a prefix followed by *`},
		{"in_app on more than frames", "rules:\n  - name: x\n    match: {frame: a.*, test: t}\n    in_app: false\n", `.rounds.yml:2: rule "x": in_app rules match on frame only`},
		{"in_app with grouping", "rules:\n  - name: x\n    match: {frame: a.*}\n    in_app: false\n    fingerprint: [a]\n", `.rounds.yml:2: rule "x": in_app cannot go with fingerprint or components`},
		{"two rules of one name", "rules:\n  - {name: x, match: {test: a}, fingerprint: [a]}\n  - {name: x, match: {test: b}, fingerprint: [b]}\n", `.rounds.yml:3: rule "x": the name is already used on line 2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRules(".rounds.yml", []byte(tt.data))
			var re *RulesError
			if !errors.As(err, &re) {
				t.Fatalf("ParseRules = %v, want a *RulesError", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("ParseRules error\n  %s\nwant it to start with\n  %s", err, tt.want)
			}
		})
	}
}

func TestLoadRules(t *testing.T) {
	dir := t.TempDir()
	t.Run("a file that does not exist means no rules", func(t *testing.T) {
		rules, found, err := LoadRules(filepath.Join(dir, RulesFileName))
		if rules != nil || found || err != nil {
			t.Errorf("LoadRules = %v, %v, %v", rules, found, err)
		}
	})
	t.Run("a file is read and parsed", func(t *testing.T) {
		path := filepath.Join(dir, "good.yml")
		if err := os.WriteFile(path, []byte(goodRules), 0o644); err != nil {
			t.Fatal(err)
		}
		rules, found, err := LoadRules(path)
		if len(rules) != 3 || !found || err != nil {
			t.Errorf("LoadRules = %d rules, %v, %v", len(rules), found, err)
		}
	})
	t.Run("a mistake names the file's path", func(t *testing.T) {
		path := filepath.Join(dir, "bad.yml")
		if err := os.WriteFile(path, []byte("rules:\n  - name: x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, found, err := LoadRules(path)
		if !found || err == nil || !strings.HasPrefix(err.Error(), path+":2: ") {
			t.Errorf("LoadRules = %v, %v; want an error starting with %s:2:", found, err, path)
		}
	})
	t.Run("a file that cannot be read is an error", func(t *testing.T) {
		if _, _, err := LoadRules(dir); err == nil {
			t.Error("LoadRules of a directory gave no error")
		}
	})
}

func mustRules(t *testing.T, data string) []Rule {
	t.Helper()
	rules, err := ParseRules("test.yml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

func TestRulesSetTheFingerprint(t *testing.T) {
	base := func() *contract.Failure { return checkoutFailure(firstOccurrence()) }
	defaults := Fingerprint(base()).Components
	component := func(name string) contract.Component {
		for _, c := range defaults {
			if c.Name == name {
				return c
			}
		}
		t.Fatalf("no default component %s", name)
		return contract.Component{}
	}
	rule := func(name string) contract.Component { return contract.Component{Name: "rule", Value: name} }
	tests := []struct {
		name    string
		rules   string
		failure *contract.Failure
		want    []contract.Component // nil: the default ones
	}{
		{
			name:  "a rule matching on error type and message substring replaces the components",
			rules: "rules:\n  - {name: db, match: {error_type: '*OpError', message: connection refused}, fingerprint: [database-down]}\n",
			want:  []contract.Component{{Name: "fingerprint", Value: "database-down"}, rule("db")},
		},
		{
			name:  "a rule matching on the test's suite and name",
			rules: "rules:\n  - {name: cart, match: {test: 'github.com/acme/*/cart.TestCheck*'}, fingerprint: [cart]}\n",
			want:  []contract.Component{{Name: "fingerprint", Value: "cart"}, rule("cart")},
		},
		{
			name:  "{{ test }} names the test even when the default components leave it out (it broke in the code under test)",
			rules: "rules:\n  - {name: t, match: {message: 'checkout order *'}, fingerprint: ['{{ test }}', '{{ message }}']}\n",
			want:  []contract.Component{{Name: "test", Value: "github.com/acme/shop/cart.TestCheckout"}, component("message"), rule("t")},
		},
		{
			name:  "a message glob must match the whole message",
			rules: "rules:\n  - {name: m, match: {message: 'checkout order *refused*'}, fingerprint: [m]}\n",
			want:  []contract.Component{{Name: "fingerprint", Value: "m"}, rule("m")},
		},
		{
			name:  "a message glob matching part of the message does not match",
			rules: "rules:\n  - {name: m, match: {message: 'connection refused*'}, fingerprint: [m]}\n",
		},
		{
			name:  "a frame glob matches any frame parsed from the stack text, library frames too",
			rules: "rules:\n  - {name: f, match: {frame: 'testing.tRunner'}, fingerprint: [f]}\n",
			want:  []contract.Component{{Name: "fingerprint", Value: "f"}, rule("f")},
		},
		{
			name:  "a frame glob matches frames the publisher sent",
			rules: "rules:\n  - {name: f, match: {frame: 'com.acme.*.save'}, fingerprint: [f]}\n",
			failure: changed(base(), func(f *contract.Failure) {
				f.Error.Stack = ""
				f.Error.Frames = []contract.Frame{frame("org.postgresql", "connect", 1, nil), frame("com.acme.repo", "save", 2, nil)}
			}),
			want: []contract.Component{{Name: "fingerprint", Value: "f"}, rule("f")},
		},
		{
			name:  "every condition must hold",
			rules: "rules:\n  - {name: db, match: {error_type: '*OpError', message: 'no such host'}, fingerprint: [x]}\n",
		},
		{
			name:  "a test condition does not match a runtime error",
			rules: "rules:\n  - {name: t, match: {test: '*'}, fingerprint: [x]}\n",
			failure: changed(base(), func(f *contract.Failure) {
				f.Kind, f.Test, f.Service = contract.KindRuntime, nil, &contract.ServiceIdentity{Name: "cart"}
			}),
		},
		{
			name: "the first rule that matches applies",
			rules: "rules:\n  - {name: a, match: {message: 'nothing like it'}, fingerprint: [a]}\n" +
				"  - {name: b, match: {message: refused}, fingerprint: [b]}\n  - {name: c, match: {message: refused}, fingerprint: [c]}\n",
			want: []contract.Component{{Name: "fingerprint", Value: "b"}, rule("b")},
		},
		{
			name:  "placeholders stand for default components and attributes",
			rules: "rules:\n  - {name: p, match: {message: refused}, fingerprint: [db, '{{ type }}', '{{ attributes.os }}', '{{ attributes.none }}']}\n",
			failure: changed(base(), func(f *contract.Failure) {
				f.Attributes = map[string]string{"os": "linux"}
			}),
			want: []contract.Component{{Name: "fingerprint", Value: "db"}, component("type"), {Name: "attributes.os", Value: "linux"}, {Name: "attributes.none"}, rule("p")},
		},
		{
			name:  "{{ default }} keeps every default component",
			rules: "rules:\n  - {name: d, match: {message: refused}, fingerprint: [db, '{{ default }}']}\n",
			want:  append(append([]contract.Component{{Name: "fingerprint", Value: "db"}}, defaults...), rule("d")),
		},
		{
			name:  "components are added to the default ones",
			rules: "rules:\n  - {name: os, match: {message: refused}, components: {os: '{{ attributes.os }}', team: payments}}\n",
			failure: changed(base(), func(f *contract.Failure) {
				f.Attributes = map[string]string{"os": "darwin"}
			}),
			want: append(append([]contract.Component{}, defaults...), contract.Component{Name: "os", Value: "darwin"}, contract.Component{Name: "team", Value: "payments"}, rule("os")),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fp := NewFingerprinter(Config{Rules: mustRules(t, tt.rules)})
			f := tt.failure
			if f == nil {
				f = base()
			}
			got := fp.Fingerprint(f)
			want := tt.want
			if want == nil {
				want = Fingerprint(f).Components
			}
			if !reflect.DeepEqual(got.Components, want) {
				t.Errorf("components\n%+v\nwant\n%+v", got.Components, want)
			}
			if got.Fingerprint != hash(want) {
				t.Error("the fingerprint is not the hash of the components")
			}
		})
	}
}

func TestARuleGroupsDifferentFailuresTogether(t *testing.T) {
	fp := NewFingerprinter(Config{Rules: mustRules(t, "rules:\n  - {name: db, match: {message: connection refused}, fingerprint: [database-down]}\n")})
	a := checkoutFailure(firstOccurrence())
	b := changed(checkoutFailure(firstOccurrence()), func(f *contract.Failure) {
		f.Test = &contract.TestIdentity{Suite: "billing", Name: "TestInvoice"}
		f.Error.Type = "ECONNREFUSED"
		f.Error.Stack = "Error: connect ECONNREFUSED\n    at TCPConnectWrap.afterConnect (node:net:1555:16)\n"
	})
	if fa, fb := fp.Fingerprint(a), fp.Fingerprint(b); fa.Fingerprint != fb.Fingerprint {
		t.Errorf("two failures the rule matches group apart:\n%+v\n%+v", fa.Components, fb.Components)
	}
	if Fingerprint(a).Fingerprint == Fingerprint(b).Fingerprint {
		t.Error("without the rule they grouped together already: the test proves nothing")
	}
}

func TestInAppRulesMarkFrames(t *testing.T) {
	f := checkoutFailure(firstOccurrence())
	frames := func(fp *Fingerprinter) string {
		for _, c := range fp.Fingerprint(f).Components {
			if c.Name == "frames" {
				return c.Value
			}
		}
		return ""
	}
	before := frames(NewFingerprinter(Config{}))
	if !strings.Contains(before, "github.com/acme/shop/cart.(*Cart).Checkout") {
		t.Fatalf("frames without rules: %q", before)
	}
	rules := mustRules(t, "rules:\n  - {name: cart is a library, match: {frame: 'github.com/acme/shop/cart.*'}, in_app: false}\n")
	after := frames(NewFingerprinter(Config{Rules: rules}))
	// No frame is in-app any more: the innermost ones stand in.
	if !strings.Contains(after, "testing.tRunner") {
		t.Errorf("frames with the rule: %q, want the innermost frames, testing.tRunner among them", after)
	}
	if c := NewFingerprinter(Config{Rules: rules}).Fingerprint(f).Components; c[len(c)-1].Name == "rule" {
		t.Error("an in_app rule named itself in the components: it marks frames, it does not group")
	}
	t.Run("a longer in-app prefix wins over a shorter one", func(t *testing.T) {
		rules := mustRules(t, "rules:\n  - {name: lib, match: {frame: 'github.com/acme/*'}, in_app: false}\n  - {name: cart, match: {frame: 'github.com/acme/shop/cart*'}, in_app: true}\n")
		if got := frames(NewFingerprinter(Config{Rules: rules})); got != before {
			t.Errorf("frames %q, want %q", got, before)
		}
	})
}

func TestRulesThatMatchNothingCostNoAllocation(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts vary under the race detector")
	}
	f := checkoutFailure(firstOccurrence())
	plain := NewFingerprinter(Config{})
	ruled := NewFingerprinter(Config{Rules: mustRules(t, `rules:
  - {name: a, match: {test: 'billing.*'}, fingerprint: [a]}
  - {name: b, match: {error_type: 'java.*', message: refused}, fingerprint: [b]}
  - {name: c, match: {message: 'timeout*'}, fingerprint: [c]}
  - {name: d, match: {message: refused, frame: 'org.postgresql.*'}, fingerprint: [d]}
`)})
	want := testing.AllocsPerRun(100, func() { plain.Fingerprint(f) })
	if got := testing.AllocsPerRun(100, func() { ruled.Fingerprint(f) }); got != want {
		t.Errorf("%v allocations with rules that do not match, want %v as without rules", got, want)
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "anything at all", true},
		{"abc", "abc", true},
		{"abc", "abcd", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"com.acme.*", "com.acme.Cart.add", true},
		{"com.acme.*", "com.acmex.Cart", false},
		{"*Exception", "java.lang.IllegalStateException", true},
		{"*OpError", "*net.OpError", true},
		{"(*Cart).*", "(*Cart).Checkout", true},
		{"*Exception", "java.lang.IllegalStateExceptions", false},
		{"*refused*", "dial tcp: connection refused (retry)", true},
		{"a*b*c", "a-x-b-y-b-c", true},
		{"a*b*c", "a-x-b-y-c-d", false},
		{"**", "x", true},
		{"*a", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", false},
	}
	for _, tt := range tests {
		if got := Glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func BenchmarkFingerprintWithRules(b *testing.B) {
	f := checkoutFailure(firstOccurrence())
	rules, err := ParseRules("bench.yml", []byte(goodRules))
	if err != nil {
		b.Fatal(err)
	}
	fp := NewFingerprinter(Config{Rules: rules})
	b.ReportAllocs()
	for b.Loop() {
		fp.Fingerprint(f)
	}
}
