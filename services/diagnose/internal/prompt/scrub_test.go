package prompt

import (
	"strings"
	"testing"
)

func TestScrub(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{
			name: "a GitHub personal access token is removed",
			in:   "clone failed with ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 as credential",
			want: "clone failed with [REDACTED] as credential",
		},
		{
			name: "a GitHub OAuth token is removed",
			in:   "gho_16C7e42F292c6912E7710c838347Ae178B4a",
			want: "[REDACTED]",
		},
		{
			name: "a fine-grained GitHub token is removed",
			in:   "GITHUB_TOKEN github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
			want: "GITHUB_TOKEN [REDACTED]",
		},
		{
			name: "an AWS access key id is removed",
			in:   "InvalidClientTokenId: AKIAIOSFODNN7EXAMPLE is not valid",
			want: "InvalidClientTokenId: [REDACTED] is not valid",
		},
		{
			name: "a Slack token is removed",
			in:   "posting with xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
			want: "posting with [REDACTED]",
		},
		{
			name: "an OpenAI key is removed",
			in:   "Incorrect API key provided: sk-proj-abcdefghijklmnopqrstuvwx1234",
			want: "Incorrect API key provided: [REDACTED]",
		},
		{
			name: "an Anthropic key is removed",
			in:   "x-api-key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
			want: "x-api-key [REDACTED]",
		},
		{
			name: "a JSON Web Token is removed",
			in:   "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U expired",
			want: "token [REDACTED] expired",
		},
		{
			name: "a bearer token in an Authorization header is removed and the scheme kept",
			in:   "Authorization: Bearer abc.def-ghi_jkl",
			want: "Authorization: Bearer [REDACTED]",
		},
		{
			name: "basic credentials in a JSON header are removed",
			in:   `{"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}`,
			want: `{"Authorization": "Basic [REDACTED]"}`,
		},
		{
			name: "a bearer token on a curl command line is removed",
			in:   `curl -H "X-Trace: 1" -H 'auth: Bearer 0123456789abcdef'`,
			want: `curl -H "X-Trace: 1" -H 'auth: Bearer [REDACTED]'`,
		},
		{
			name: "a private key block is removed whole",
			in:   "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabcdef\n-----END RSA PRIVATE KEY-----\ndone",
			want: "key:\n[REDACTED PRIVATE KEY]\ndone",
		},
		{
			name: "a private key block cut off before its end is removed to the end",
			in:   "loaded -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA",
			want: "loaded [REDACTED PRIVATE KEY]",
		},
		{
			name: "a password assignment is masked and its name kept",
			in:   "connect: password=hunter2 user=bob",
			want: "connect: password=[REDACTED] user=bob",
		},
		{
			name: "a quoted JSON secret keeps its quotes",
			in:   `{"client_secret": "s3cr3t value", "id": 7}`,
			want: `{"client_secret": "[REDACTED]", "id": 7}`,
		},
		{
			name: "an environment variable holding a key is masked",
			in:   "STRIPE_API_KEY=abc123 DB_PASS=letmein LOG_LEVEL=debug",
			want: "STRIPE_API_KEY=[REDACTED] DB_PASS=[REDACTED] LOG_LEVEL=debug",
		},
		{
			name: "a token in a URL query is masked up to the next parameter",
			in:   "GET https://api.example.com/v1/items?access_token=abc123&page=2 failed",
			want: "GET https://api.example.com/v1/items?access_token=[REDACTED]&page=2 failed",
		},
		{
			name: "a Go struct field holding a secret is masked",
			in:   "config {Host:db Password:hunter2 Port:5432}",
			want: "config {Host:db Password:[REDACTED] Port:5432}",
		},
		{
			name: "a connection string keeps its scheme and host and loses user and password",
			in:   "dial postgres://app:s3cret@db.internal:5432/shop?sslmode=disable: refused",
			want: "dial postgres://[REDACTED]@db.internal:5432/shop?sslmode=disable: refused",
		},
		{
			name: "a token used as a URL user is removed",
			in:   "fatal: could not read from https://x-access-token:ghs_abc@github.com/org/repo.git",
			want: "fatal: could not read from https://[REDACTED]@github.com/org/repo.git",
		},
		{
			name: "an e-mail address is removed",
			in:   "user jane.doe+ci@example.co.uk not found",
			want: "user [EMAIL] not found",
		},
		{
			name: "a word ending in key that is not a secret name is kept",
			in:   "monkey=3 turkey: 4",
			want: "monkey=3 turkey: 4",
		},
		{
			name: "a Go module version is not taken for an e-mail address",
			in:   "golang.org/x/sys@v0.50.0 and Object@1a2b3c and @babel/core",
			want: "golang.org/x/sys@v0.50.0 and Object@1a2b3c and @babel/core",
		},
		{
			name: "an ordinary failure message is left alone",
			in:   "cart_test.go:42: total = 0, want 1299 (expected: 1299, actual: 0)",
			want: "cart_test.go:42: total = 0, want 1299 (expected: 1299, actual: 0)",
		},
		{
			name: "a URL without credentials is left alone",
			in:   "see https://ci.example.com/shop/runs/8812?attempt=2",
			want: "see https://ci.example.com/shop/runs/8812?attempt=2",
		},
		{
			name: "scrubbing twice changes nothing more",
			in:   Scrub("password=x token=ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 a@b.io postgres://u:p@h/db"),
			want: "password=[REDACTED] token=[REDACTED] [EMAIL] postgres://[REDACTED]@h/db",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Scrub(tt.in); got != tt.want {
				t.Errorf("Scrub(%q)\n got: %q\nwant: %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzScrubLeavesNoKnownToken(f *testing.F) {
	f.Add("prefix ", " suffix")
	f.Add("password=", "")
	f.Add("https://", "@host")
	const secret = "ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	f.Fuzz(func(t *testing.T, before, after string) {
		in := before + " " + secret + " " + after
		if strings.Contains(before+after, "ghp_") {
			t.Skip()
		}
		if out := Scrub(in); strings.Contains(out, secret) {
			t.Errorf("Scrub(%q) = %q still has the token", in, out)
		}
	})
}
