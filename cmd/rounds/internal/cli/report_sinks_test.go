package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportSinksAreChosenByFlagOrEnvironmentAndSecretsComeFromTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	base := []string{"report", "--data-dir", filepath.Join(dir, "data"), "--reports-dir", filepath.Join(dir, "reports"), "--log-format", "json"}
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		wantStderr string
	}{
		{name: "an unknown sink in the environment is refused",
			env: map[string]string{"ROUNDS_REPORT_SINKS": "markdown,slack"}, wantStderr: `ROUNDS_REPORT_SINKS="markdown,slack": unknown sink "slack"`},
		{name: "an unknown sink on the command line is refused",
			args: []string{"--report-sinks", "pager"}, wantStderr: `unknown sink "pager"`},
		{name: "--sinks is --report-sinks, and wins over the environment",
			env: map[string]string{"ROUNDS_REPORT_SINKS": "markdown"}, args: []string{"--sinks", "pager"}, wantStderr: `unknown sink "pager"`},
		{name: "ROUNDS_SINKS is not read: only the flag has a short name",
			env: map[string]string{"ROUNDS_SINKS": "markdown", "ROUNDS_REPORT_SINKS": "slack"}, wantStderr: `unknown sink "slack"`},
		{name: "the github sink without a token says where the token comes from",
			args: []string{"--report-sinks", "github", "--report-github-repo", "acme/shop"}, wantStderr: "ROUNDS_GITHUB_TOKEN or GITHUB_TOKEN"},
		{name: "the github sink from the environment needs its repo",
			env: map[string]string{"ROUNDS_REPORT_SINKS": "github", "GITHUB_TOKEN": "ghp_from-env"}, wantStderr: "--report-github-repo owner/name"},
		{name: "the webhook sink without a secret says where the secret comes from",
			args: []string{"--report-sinks", "markdown,webhook", "--report-webhook-url", "https://hooks.example/rounds"}, wantStderr: "ROUNDS_WEBHOOK_SECRET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := rounds(t, context.Background(), "", tt.env, append(append([]string{}, base...), tt.args...)...)
			if res.code == 0 || !strings.Contains(res.stderr, tt.wantStderr) {
				t.Errorf("exit %d, stderr %q; want a failure mentioning %q", res.code, res.stderr, tt.wantStderr)
			}
			if strings.Contains(res.stderr, "ghp_from-env") {
				t.Error("stderr shows the token")
			}
		})
	}
}
