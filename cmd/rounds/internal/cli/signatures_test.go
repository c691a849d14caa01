package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/cmd/rounds/internal/app/apptest"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/natstest"
)

// startRounds runs ingest, diagnose and report in this process against
// an embedded JetStream, until the test ends.
func startRounds(t *testing.T) (string, jetstream.JetStream) {
	t.Helper()
	url := apptest.Start(t, apptest.Config(t)).NATSURL
	_, js := natstest.Connect(t, url)
	waitFor(t, "ingest answers the management API", func() bool {
		res := rounds(t, context.Background(), "", nil, "signatures", "list", "--nats-url", url, "--json")
		return res.code == 0
	})
	return url, js
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// listJSON runs `signatures list --json` with args.
func listJSON(t *testing.T, url string, args ...string) contract.ListReply {
	t.Helper()
	res := rounds(t, context.Background(), "", nil, append([]string{"signatures", "list", "--nats-url", url, "--json"}, args...)...)
	if res.code != 0 {
		t.Fatalf("list: exit %d, stderr %q", res.code, res.stderr)
	}
	var reply contract.ListReply
	if err := json.Unmarshal([]byte(res.stdout), &reply); err != nil {
		t.Fatalf("list --json: %v in %q", err, res.stdout)
	}
	return reply
}

func TestSignaturesCommands(t *testing.T) {
	url, js := startRounds(t)
	ctx := context.Background()
	lines := `{"id":"f1","kind":"test","test":{"suite":"cart","name":"TestAdd"},"error":{"message":"expected 3, got 4"}}
{"id":"f2","kind":"test","test":{"suite":"cart","name":"TestAdd"},"error":{"message":"expected 3, got 4"}}
{"id":"f3","kind":"runtime","service":{"name":"api"},"error":{"type":"*net.OpError","message":"connection refused"}}
`
	if res := rounds(t, ctx, lines, nil, "publish", "--nats-url", url, "--project", "shop", "--run-id", "r1", "-"); res.code != 0 {
		t.Fatalf("publish: exit %d, stderr %q", res.code, res.stderr)
	}
	waitFor(t, "ingest counts three failures on two signatures", func() bool {
		l := listJSON(t, url)
		return l.Total == 2 && l.Signatures[0].Count+l.Signatures[1].Count == 3
	})
	var testSig, apiSig contract.SignatureSummary
	for _, s := range listJSON(t, url, "--sort", "count").Signatures {
		if s.Kind == contract.KindTest {
			testSig = s
		} else {
			apiSig = s
		}
	}
	if testSig.Count != 2 || apiSig.Count != 1 {
		t.Fatalf("signatures %+v and %+v; want the test's with 2 occurrences, the api's with 1", testSig, apiSig)
	}
	diagnoses := watchDiagnoses(t, js)
	waitDiagnosis(t, diagnoses, testSig.ID, time.Time{}, "the first diagnosis of the test's signature")
	// Ingest follows diagnose: both signatures end up diagnosed, which
	// the statuses below start from.
	waitFor(t, "both signatures are diagnosed", func() bool {
		return listJSON(t, url, "--status", "diagnosed").Total == 2
	})

	user := map[string]string{"USER": "alice"}
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStdout []string
		wantStderr string
	}{
		{
			name:       "list prints an aligned table with a count by status",
			args:       []string{"list"},
			wantStdout: []string{"ID  ", "STATUS", "COUNT", testSig.ID, apiSig.ID, "2 signatures: 2 diagnosed"},
		},
		{
			name:       "show names a signature by a prefix of its id",
			args:       []string{"show", testSig.ID[:8]},
			wantStdout: []string{"Signature:", "shop/" + testSig.ID, "Count:", "2", "Test:", "cart.TestAdd", "(algorithm v3)", "Grouped by:", "  test ", "  message "},
		},
		{
			name:       "mute for a while records who and why",
			args:       []string{"mute", testSig.ID, "--for", "2h", "--reason", "known outage"},
			env:        user,
			wantStdout: []string{"shop/" + testSig.ID + ": muted (muted by alice: known outage)"},
		},
		{
			name:       "list filters by status",
			args:       []string{"list", "--status", "muted"},
			wantStdout: []string{testSig.ID, "1 signature: 1 muted"},
		},
		{
			name:       "show prints the mute and the audit",
			args:       []string{"show", "shop/" + testSig.ID},
			wantStdout: []string{"Muted:", "by alice: known outage", "Audit:", "diagnosed -> muted"},
		},
		{
			name:       "unmute takes it back",
			args:       []string{"unmute", testSig.ID, "--by", "bob"},
			wantStdout: []string{": diagnosed (unmuted by bob)"},
		},
		{
			name:       "unmute of a signature not muted is refused with the conflict",
			args:       []string{"unmute", testSig.ID},
			env:        user,
			wantCode:   1,
			wantStderr: "(409)",
		},
		{
			name:       "resolve in a commit",
			args:       []string{"resolve", apiSig.ID, "--in-commit", "abc123", "--reason", "retry added"},
			env:        user,
			wantStdout: []string{": resolved (resolved by alice: retry added)"},
		},
		{
			name:       "reopen",
			args:       []string{"reopen", apiSig.ID},
			env:        user,
			wantStdout: []string{": diagnosed (reopened by alice)"},
		},
		{
			name:       "tag adds and removes",
			args:       []string{"tag", testSig.ID, "--add", "critical,team:cart"},
			env:        user,
			wantStdout: []string{"tags: critical team:cart"},
		},
		{
			name:       "list filters by tag and shows tags",
			args:       []string{"list", "--tag", "critical"},
			wantStdout: []string{testSig.ID, "[critical team:cart]", "1 signature"},
		},
		{
			name:       "an unknown signature is not found",
			args:       []string{"show", "shop/ffffffffffffffff"},
			wantCode:   1,
			wantStderr: "(404)",
		},
		{
			name:       "an unknown id prefix is not found",
			args:       []string{"retriage", "zzzz"},
			env:        user,
			wantCode:   1,
			wantStderr: "no signature has the id \"zzzz\"",
		},
		{
			name:       "a change without anyone to make it is a usage error",
			args:       []string{"retriage", testSig.ID},
			wantCode:   2,
			wantStderr: "--by is required",
		},
		{
			name:       "a mute until a malformed time is a usage error",
			args:       []string{"mute", testSig.ID, "--until", "tomorrow"},
			env:        user,
			wantCode:   2,
			wantStderr: "RFC 3339",
		},
		{
			name:       "an unknown status is a usage error",
			args:       []string{"list", "--status", "gone"},
			wantCode:   2,
			wantStderr: "status \"gone\" is unknown",
		},
		{
			name:       "tag without tags is a usage error",
			args:       []string{"tag", testSig.ID},
			env:        user,
			wantCode:   2,
			wantStderr: "give --add or --remove",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"signatures"}, tt.args...)
			args = append(args, "--nats-url", url)
			res := rounds(t, ctx, "", tt.env, args...)
			if res.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", res.code, tt.wantCode, res.stdout, res.stderr)
			}
			for _, want := range tt.wantStdout {
				if !strings.Contains(res.stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, res.stdout)
				}
			}
			if !strings.Contains(res.stderr, tt.wantStderr) {
				t.Errorf("stderr %q, want %q in it", res.stderr, tt.wantStderr)
			}
		})
	}

	t.Run("retriage diagnoses again within the cooldown", func(t *testing.T) {
		res := rounds(t, ctx, "", user, "signatures", "retriage", testSig.ID, "--reason", "new evidence", "--json", "--nats-url", url)
		if res.code != 0 {
			t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
		}
		var d contract.SignatureDetail
		if err := json.Unmarshal([]byte(res.stdout), &d); err != nil {
			t.Fatal(err)
		}
		a := d.Audit[len(d.Audit)-1]
		if a.Action != "retriage" || a.Actor != "alice" || a.Reason != "new evidence" {
			t.Errorf("last audit entry %+v, want the retriage by alice", a)
		}
		// The default cooldown is an hour: only the retriage explains a
		// second diagnosis, completed after it.
		waitDiagnosis(t, diagnoses, testSig.ID, a.At, "a second diagnosis after the retriage")
	})

	t.Run("export writes each signature with its count and occurrences", func(t *testing.T) {
		res := rounds(t, ctx, "", nil, "signatures", "export", "--nats-url", url)
		if res.code != 0 {
			t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
		}
		var sigs []contract.ExportedSignature
		if err := json.Unmarshal([]byte(res.stdout), &sigs); err != nil {
			t.Fatalf("%v in %q", err, res.stdout)
		}
		if len(sigs) != 2 {
			t.Fatalf("%d signatures, want 2", len(sigs))
		}
		for _, s := range sigs {
			if s.ID == "" || s.Fingerprint == "" || s.Project != "shop" || s.Status == "" || int64(len(s.Occurrences)) != s.Count {
				t.Errorf("signature %s: fingerprint %q, project %q, status %q, count %d, %d occurrences", s.ID, s.Fingerprint, s.Project, s.Status, s.Count, len(s.Occurrences))
			}
			for _, o := range s.Occurrences {
				if o.EventID == "" || o.RunID != "r1" || o.Time.IsZero() {
					t.Errorf("occurrence %+v: want an event id, run r1 and a time", o)
				}
			}
			if s.ID == testSig.ID && (s.Occurrences[0].Test == nil || s.Occurrences[0].Test.Name != "TestAdd") {
				t.Errorf("occurrence of the test's signature names test %+v", s.Occurrences[0].Test)
			}
		}
	})

	t.Run("status shows the services, the lag and the signatures", func(t *testing.T) {
		res := rounds(t, ctx, "", nil, "status", "--nats-url", url)
		if res.code != 0 {
			t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
		}
		for _, want := range []string{contract.ManageServiceName, "rounds-ingest", "rounds-diagnose", "rounds-report", "READY", contract.StreamFailures, "Dead letters: none", "Signatures: 2: 2 diagnosed"} {
			if !strings.Contains(res.stdout, want) {
				t.Errorf("status lacks %q:\n%s", want, res.stdout)
			}
		}
		res = rounds(t, ctx, "", nil, "status", "--nats-url", url, "--json")
		var st statusReport
		if err := json.Unmarshal([]byte(res.stdout), &st); err != nil {
			t.Fatalf("%v in %q", err, res.stdout)
		}
		var failures *streamStatus
		for i := range st.Streams {
			if st.Streams[i].Name == contract.StreamFailures {
				failures = &st.Streams[i]
			}
		}
		if failures == nil || failures.Messages != 3 || len(failures.Consumers) == 0 || failures.Consumers[0].Pending != 0 {
			t.Errorf("failures stream %+v; want 3 messages, consumed", failures)
		}
		// One process runs every service: each announces itself, ready,
		// next to the management API (which says nothing of readiness).
		ready := map[string]bool{}
		for _, s := range st.Services {
			switch {
			case s.Name == contract.ManageServiceName:
				if s.Requests == 0 || s.Ready != nil {
					t.Errorf("management API %+v; want used, without readiness", s)
				}
			case s.Ready != nil && *s.Ready && s.Problem == "":
				ready[s.Name] = true
			}
		}
		if len(st.Services) != 4 || !ready["rounds-ingest"] || !ready["rounds-diagnose"] || !ready["rounds-report"] || st.SignaturesTotal != 2 {
			t.Errorf("services %+v, %d signatures; want the management API and ingest, diagnose and report ready, and 2", st.Services, st.SignaturesTotal)
		}
	})
}

// watchDiagnoses collects the diagnoses published from now on.
func watchDiagnoses(t *testing.T, js jetstream.JetStream) <-chan contract.DiagnosisCompleted {
	t.Helper()
	cons, err := js.OrderedConsumer(context.Background(), contract.StreamDiagnoses, jetstream.OrderedConsumerConfig{FilterSubjects: []string{contract.DiagnosesAll}})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan contract.DiagnosisCompleted, 100)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		if d, err := contract.DecodeDiagnosisCompleted(m.Data()); err == nil {
			out <- d
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cc.Stop)
	return out
}

// waitDiagnosis waits for a diagnosis of sigID completed after after.
func waitDiagnosis(t *testing.T, ch <-chan contract.DiagnosisCompleted, sigID string, after time.Time, what string) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case d := <-ch:
			if d.Signature.ID == sigID && !d.Time.Before(after) {
				return
			}
		case <-deadline:
			t.Fatalf("%s: no diagnosis within 60s", what)
		}
	}
}

func TestSignaturesWithoutIngest(t *testing.T) {
	url := natstest.Start(t)
	res := rounds(t, context.Background(), "", nil, "signatures", "list", "--nats-url", url)
	if res.code != 1 || !strings.Contains(res.stderr, "is ingest running") {
		t.Fatalf("exit %d, stderr %q; want 1 and a hint that ingest is not running", res.code, res.stderr)
	}
	res = rounds(t, context.Background(), "", nil, "status", "--nats-url", url)
	if res.code != 0 || !strings.Contains(res.stdout, "none answered") || !strings.Contains(res.stdout, "missing") || !strings.Contains(res.stdout, "Signatures: unknown") {
		t.Fatalf("status without Rounds: exit %d, stdout %q", res.code, res.stdout)
	}
}
