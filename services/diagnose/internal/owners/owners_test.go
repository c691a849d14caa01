package owners

import (
	"reflect"
	"strings"
	"testing"
)

// github is GitHub's documented example, abridged, in file order.
const github = `# This is a comment.
# Each line is a file pattern followed by one or more owners.

*       @global-owner1 @global-owner2
*.js    @js-owner #This is an inline comment.
*.go docs@example.com
*.txt @octo-org/octocats
/build/logs/ @doctocat
docs/*  docs@example.com
apps/ @octocat
/docs/ @doctocat
/scripts/ @doctocat @octocat
**/logs @octocat
/apps/ @octocat
/apps/github
`

func TestOwnersFollowGitHubsExample(t *testing.T) {
	rules := Parse([]byte(github))
	tests := []struct {
		name, file string
		want       []string
	}{
		{"a file nothing more specific matches belongs to the global owners", "README.md", []string{"@global-owner1", "@global-owner2"}},
		{"an extension pattern matches at any depth", "web/src/app.js", []string{"@js-owner"}},
		{"an inline comment is not an owner", "index.js", []string{"@js-owner"}},
		{"an email is an owner", "pkg/cart/cart.go", []string{"docs@example.com"}},
		{"a later rule overrides an earlier one", "build/logs/run.log", []string{"@octocat"}},
		{"an anchored directory owns its files", "scripts/deploy.sh", []string{"@doctocat", "@octocat"}},
		{"a trailing slash pattern without a leading one matches any apps directory", "services/apps/main.py", []string{"@octocat"}},
		{"docs/* owns only the files directly in docs", "docs/getting-started.md", []string{"@doctocat"}},
		{"/docs/ owns nested files too", "docs/build-app/troubleshooting.md", []string{"@doctocat"}},
		{"**/logs owns files in logs directories anywhere", "deeply/nested/logs/x.md", []string{"@octocat"}},
		{"a last matching pattern with no owners leaves the file unowned", "apps/github/x.md", nil},
		{"a directory pattern owns everything under it", "apps/web/deep/x.md", []string{"@octocat"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := rules.Owners(tt.file)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Owners(%q) = %v, want %v", tt.file, got, tt.want)
			}
		})
	}
}

func TestPatterns(t *testing.T) {
	tests := []struct {
		pattern string
		matches []string
		misses  []string
	}{
		{"cart.go", []string{"cart.go", "pkg/cart.go"}, []string{"pkg/cart.golden", "xcart.go"}},
		{"/cart.go", []string{"cart.go"}, []string{"pkg/cart.go"}},
		{"pkg/cart", []string{"pkg/cart/cart.go", "pkg/cart"}, []string{"src/pkg/cart/cart.go", "pkg/cartography/x.go"}},
		{"pkg/**/cart.go", []string{"pkg/cart.go", "pkg/a/b/cart.go"}, []string{"cart.go", "src/pkg/cart.go"}},
		{"pkg/**", []string{"pkg/a", "pkg/a/b/c"}, []string{"src/pkg/a"}},
		{"*_test.go", []string{"a_test.go", "x/y/a_test.go"}, []string{"a.go"}},
		{"ca?t.go", []string{"cart.go"}, []string{"cat.go", "ca/t.go"}},
		{"[ch]art.go", []string{"cart.go", "hart.go"}, []string{"dart.go"}},
		{"[!c]art.go", []string{"dart.go"}, []string{"cart.go"}},
		{`\#notes`, []string{"#notes"}, []string{"notes"}},
		{"/", []string{"anything/at/all"}, nil},
		{"a.b+c(d)", []string{"a.b+c(d)"}, []string{"aXb+c(d)"}},
	}
	for _, tt := range tests {
		rules := Parse([]byte(tt.pattern + " @owner\n"))
		for _, f := range tt.matches {
			if got, _ := rules.Owners(f); got == nil {
				t.Errorf("%q does not match %q, want it to", tt.pattern, f)
			}
		}
		for _, f := range tt.misses {
			if got, _ := rules.Owners(f); got != nil {
				t.Errorf("%q matches %q, want it not to", tt.pattern, f)
			}
		}
	}
}

func TestParseSkipsWhatItCannotRead(t *testing.T) {
	data := strings.Join([]string{
		"[Backend] @backend-team", // GitLab section headers
		"[Docs][2] @docs-team",
		"^[Optional]",
		"!vendor/ @nobody", // negation is not supported
		"# *.go @commented",
		"   ",
		strings.Repeat("x", maxLineBytes+10) + " @too-long",
		"*.go @go-team",
	}, "\n")
	rules := Parse([]byte(data))
	if got, pattern := rules.Owners("main.go"); !reflect.DeepEqual(got, []string{"@go-team"}) || pattern != "*.go" {
		t.Errorf("Owners(main.go) = %v by %q, want @go-team by *.go", got, pattern)
	}
	if got, _ := rules.Owners("vendor/x.txt"); got != nil {
		t.Errorf("Owners(vendor/x.txt) = %v, want none", got)
	}
	if got, _ := (*Rules)(nil).Owners("x"); got != nil {
		t.Errorf("nil rules own %v", got)
	}
}
