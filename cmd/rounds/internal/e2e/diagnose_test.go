package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/natstest"
)

// gitRepo is a git repository built in a temporary directory, commit by
// commit, with the user's and the system's git configuration kept out.
type gitRepo struct {
	t       *testing.T
	dir     string
	commits int
}

func newGitRepo(t *testing.T) *gitRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	r := &gitRepo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *gitRepo) git(args ...string) string {
	r.t.Helper()
	when := time.Date(2026, 3, 1, 9+r.commits, 0, 0, 0, time.UTC).Format(time.RFC3339)
	cmd := exec.Command("git", append([]string{"-C", r.dir, "-c", "user.email=dev@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE="+when, "GIT_COMMITTER_DATE="+when)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files and commits them as author, returning the hash.
func (r *gitRepo) commit(author, subject string, files map[string]string) string {
	r.t.Helper()
	for name, text := range files {
		p := filepath.Join(r.dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	r.git("add", "-A")
	r.git("-c", "user.name="+author, "commit", "-q", "-m", subject)
	r.commits++
	return r.git("rev-parse", "HEAD")
}

// cartGo is checkout/cart.go with line 17 as given.
func cartGo(line17 string) string {
	var b strings.Builder
	b.WriteString("package checkout\n\ntype Cart struct{ items []Item }\n")
	for i := 4; i <= 15; i++ {
		fmt.Fprintf(&b, "// line %d\n", i)
	}
	b.WriteString("func (c *Cart) Total() int {\n" + line17 + "\n}\n")
	return b.String()
}

// indexPanic is a Go panic in Cart.Total at checkout/cart.go:17, as CI
// printed it.
const indexPanic = `panic: runtime error: index out of range [0] with length 0

goroutine 1 [running]:
example.com/shop/checkout.(*Cart).Total(...)
	/home/runner/work/shop/shop/checkout/cart.go:17 +0x1d
main.main()
	/home/runner/work/shop/shop/main.go:9 +0x2c
`

func TestADiagnosisCitesTheSourceTheGitHistoryAndTheOwnersOfTheFailingCode(t *testing.T) {
	repo := newGitRepo(t)
	repo.commit("Alice", "Add the cart", map[string]string{
		"checkout/cart.go": cartGo("\treturn 0"),
		"main.go":          "package main\n\nimport \"example.com/shop/checkout\"\n\nfunc main() {\n\tvar c checkout.Cart\n\t_ = c\n\n\tprintln(c.Total())\n}\n",
		"CODEOWNERS":       "* @acme/everyone\n/checkout/ @acme/checkout\n",
	})
	repo.commit("Carol", "Document the shop", map[string]string{"README.md": "shop\n"})
	bad := repo.commit("Bob", "Price the cart by its first item", map[string]string{"checkout/cart.go": cartGo("\treturn c.items[0].Price")})

	cfg := newConfig(t)
	cfg.Codebase = repo.dir
	r := start(t, natstest.Start(t), cfg)
	reports := r.watch(contract.StreamReports, contract.ReportsAll)

	f := runtimeFailure("panic-1", "runtime error: index out of range [0] with length 0")
	f.Error = contract.ErrorInfo{Type: "runtime.Error", Message: "runtime error: index out of range [0] with length 0", Stack: indexPanic}
	f.Run.Commit = bad
	r.publish(f)

	rep := next(t, "report", reports, contract.DecodeReportPublished)
	d := rep.Diagnosis
	short := bad[:12]
	var source, commit bool
	for _, e := range d.Evidence {
		switch {
		case e.Kind == "source" && e.File == "checkout/cart.go" && e.Line == 17 && strings.Contains(e.Snippet, "> 17 | \treturn c.items[0].Price"):
			source = true
		case e.Kind == "commit" && strings.Contains(e.Summary, short):
			commit = true
		}
	}
	if !source || !commit {
		t.Errorf("evidence has the source of checkout/cart.go:17: %v, a commit citing %s: %v\n%+v", source, short, commit, d.Evidence)
	}
	if !strings.Contains(d.RootCause, "commit "+short) || !strings.Contains(d.RootCause, "Price the cart by its first item") {
		t.Errorf("RootCause = %q, want it to name the suspect commit %s", d.RootCause, short)
	}
	if !strings.Contains(d.SuggestedFix, "@acme/checkout") {
		t.Errorf("SuggestedFix = %q, want it to name the owners @acme/checkout", d.SuggestedFix)
	}
	body, err := os.ReadFile(filepath.Join(r.cfg.ReportsDir, rep.Reported.File))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), short) {
		t.Errorf("the report file does not cite commit %s:\n%s", short, body)
	}
}

func TestWhatTriageLetsThrough(t *testing.T) {
	t.Run("a signature is diagnosed once it reaches the minimum occurrences", func(t *testing.T) {
		cfg := newConfig(t)
		cfg.Diagnose.Triage.MinOccurrences = 3
		r := start(t, natstest.Start(t), cfg)
		diagnoses := r.watch(contract.StreamDiagnoses, contract.DiagnosesAll)
		sigs := r.watch(contract.StreamSignatures, contract.SignaturesAll)

		// Ingest announces the 1st and 2nd occurrences, below the minimum,
		// and then the 4th.
		for i := 1; i <= 3; i++ {
			r.publish(runtimeFailure(fmt.Sprint("occ-", i), "dial tcp 10.0.0.7:8080: connect: connection refused"))
		}
		for range 2 {
			next(t, "signature event", sigs, contract.DecodeSignatureChanged)
		}
		nothingMore(t, "diagnoses below the minimum", diagnoses)

		r.publish(runtimeFailure("occ-4", "dial tcp 10.0.0.7:8080: connect: connection refused"))
		d := next(t, "diagnosis", diagnoses, contract.DecodeDiagnosisCompleted)
		if d.Signature.Occurrences != 4 {
			t.Errorf("diagnosed at %d occurrences, want 4", d.Signature.Occurrences)
		}
		nothingMore(t, "diagnoses", diagnoses)
	})

	for _, tt := range []struct {
		name      string
		cooldown  time.Duration
		diagnoses int
	}{
		{"a recurrence within the cooldown is not diagnosed again", time.Hour, 1},
		{"without a cooldown a recurrence is diagnosed again", 0, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := newConfig(t)
			cfg.Diagnose.Triage.Cooldown = tt.cooldown
			r := start(t, natstest.Start(t), cfg)
			diagnoses := r.watch(contract.StreamDiagnoses, contract.DiagnosesAll)

			r.publish(runtimeFailure("occ-1", "connection refused"))
			next(t, "first diagnosis", diagnoses, contract.DecodeDiagnosisCompleted)
			r.publish(runtimeFailure("occ-2", "connection refused"))
			for i := 2; i <= tt.diagnoses; i++ {
				if d := next(t, "diagnosis of the recurrence", diagnoses, contract.DecodeDiagnosisCompleted); d.Signature.Occurrences != 2 {
					t.Errorf("diagnosis at %d occurrences, want 2", d.Signature.Occurrences)
				}
			}
			nothingMore(t, "diagnoses", diagnoses)
		})
	}

	for _, tt := range []struct {
		name  string
		flaky bool // --diagnose-flaky
		want  []string
	}{
		{"flaky signatures and changes from an infrastructure storm are not diagnosed", false, []string{"sig-control"}},
		{"flaky signatures are diagnosed when asked, changes from a storm still not", true, []string{"sig-control", "sig-flaky"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := newConfig(t)
			cfg.Diagnose.Triage.Flaky = tt.flaky
			r := start(t, natstest.Start(t), cfg)
			diagnoses := r.watch(contract.StreamDiagnoses, contract.DiagnosesAll)

			// As ingest will announce them; it marks neither yet.
			flaky := signatureEvent("sig-flaky", "occ-1")
			flaky.Signature.Flaky = true
			storm := signatureEvent("sig-storm", "occ-2")
			storm.Storm = true
			for _, ev := range []contract.SignatureChanged{flaky, storm, signatureEvent("sig-control", "occ-3")} {
				r.publishSignatureEvent(ev)
			}

			var got []string
			for range tt.want {
				got = append(got, next(t, "diagnosis", diagnoses, contract.DecodeDiagnosisCompleted).Signature.ID)
			}
			nothingMore(t, "diagnoses", diagnoses)
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("diagnosed %v, want %v", got, tt.want)
			}
		})
	}
}

// signatureEvent is the detection of a runtime signature with one
// occurrence, as ingest publishes it.
func signatureEvent(sigID, occurrenceID string) contract.SignatureChanged {
	occ := runtimeFailure(occurrenceID, "connection refused to "+sigID)
	return contract.SignatureChanged{
		Schema: contract.SchemaSignature,
		ID:     sigID + ".detected.1",
		Time:   occ.Time,
		Change: contract.ChangeDetected,
		Signature: contract.Signature{
			ID: sigID, Project: "shop", Fingerprint: sigID, FingerprintVersion: 1, Title: "checkout: connection refused",
			Kind: contract.KindRuntime, Service: occ.Service, ErrorType: occ.Error.Type, MessageTemplate: "connection refused to <*>",
			Status: contract.StatusNew, Occurrences: 1, FirstSeen: occ.Time, LastSeen: occ.Time, FirstCommit: occ.Run.Commit, LastCommit: occ.Run.Commit,
		},
		Occurrence: &occ,
	}
}

func (r *rounds) publishSignatureEvent(ev contract.SignatureChanged) {
	r.t.Helper()
	subject, err := contract.SignatureSubject(ev.Signature.Project, ev.Change)
	if err != nil {
		r.t.Fatal(err)
	}
	data, err := json.Marshal(ev)
	if err != nil {
		r.t.Fatal(err)
	}
	m := nats.NewMsg(subject)
	m.Data = data
	m.Header.Set(contract.HeaderMsgID, ev.ID)
	if _, err := r.js.PublishMsg(context.Background(), m); err != nil {
		r.t.Fatal(err)
	}
}
