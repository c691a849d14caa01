package github_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/services/report/internal/github"
	"github.com/rounds-dev/rounds/services/report/internal/github/githubtest"
	"github.com/rounds-dev/rounds/services/report/internal/sink"
	"github.com/rounds-dev/rounds/services/report/internal/store"
)

const token = "ghp_secret-token-value"

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a fake clock whose Sleep only records and moves time on.
type clock struct {
	now   time.Time
	slept []time.Duration
}

func (c *clock) Now() time.Time { return c.now }

func (c *clock) Sleep(_ context.Context, d time.Duration) error {
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	return nil
}

func newClient(t *testing.T, gh *githubtest.Server, c *clock) *github.Client {
	t.Helper()
	client, err := github.NewClient(github.ClientConfig{
		BaseURL: gh.URL + "/", Repo: gh.Repo, Token: token,
		Now: c.Now, Sleep: c.Sleep, MaxWait: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

func TestTheClientWaitsOutRateLimitsAndRetriesServerErrors(t *testing.T) {
	reset := t0.Add(90 * time.Second)
	tests := []struct {
		name      string
		answers   []githubtest.Answer
		wantSlept []time.Duration
	}{
		{
			name: "a primary rate limit waits until X-RateLimit-Reset and a second",
			answers: []githubtest.Answer{{Status: 403, Body: `{"message":"API rate limit exceeded"}`, Header: map[string]string{
				"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(reset.Unix(), 10)}}},
			wantSlept: []time.Duration{91 * time.Second},
		},
		{
			name:      "a secondary rate limit waits Retry-After",
			answers:   []githubtest.Answer{{Status: 429, Body: `{"message":"secondary rate limit"}`, Header: map[string]string{"Retry-After": "30"}}},
			wantSlept: []time.Duration{30 * time.Second},
		},
		{
			name:      "5xx answers are retried with a doubling backoff",
			answers:   []githubtest.Answer{{Status: 502, Body: "bad gateway"}, {Status: 503, Body: "unavailable"}},
			wantSlept: []time.Duration{time.Second, 2 * time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gh := githubtest.Start(t, "acme/shop", token)
			c := &clock{now: t0}
			client := newClient(t, gh, c)
			gh.Then(tt.answers...)

			is, err := client.CreateIssue(context.Background(), "title", "body", []string{"rounds"})
			if err != nil || is.Number != 1 {
				t.Fatalf("CreateIssue = %+v, %v; want issue 1", is, err)
			}
			if !reflect.DeepEqual(c.slept, tt.wantSlept) {
				t.Errorf("slept %v, want %v", c.slept, tt.wantSlept)
			}
			reqs := gh.Requests()
			if len(reqs) != len(tt.answers)+1 {
				t.Fatalf("%d requests, want %d", len(reqs), len(tt.answers)+1)
			}
			for _, r := range reqs {
				if r.Method != "POST" || r.Path != "/repos/acme/shop/issues" || r.Body["title"] != "title" {
					t.Errorf("request %+v, want the same issue each time", r)
				}
			}
			if len(gh.Issues()) != 1 {
				t.Errorf("issues %+v, want one", gh.Issues())
			}
		})
	}
}

func TestTheClientGivesUpWhereWaitingCannotHelp(t *testing.T) {
	tests := []struct {
		name          string
		answers       []githubtest.Answer
		wantPermanent bool
		wantRequests  int
	}{
		{name: "a 403 without rate-limit headers is permanent", answers: []githubtest.Answer{{Status: 403, Body: `{"message":"Resource not accessible by integration"}`}}, wantPermanent: true, wantRequests: 1},
		{name: "a 422 is permanent", answers: []githubtest.Answer{{Status: 422, Body: `{"message":"Validation Failed"}`}}, wantPermanent: true, wantRequests: 1},
		{name: "5xx answers stop after five attempts, to be tried again later", answers: []githubtest.Answer{{Status: 500}, {Status: 500}, {Status: 500}, {Status: 500}, {Status: 500}}, wantRequests: 5},
		{name: "a rate limit longer than MaxWait fails at once, to be tried again later", answers: []githubtest.Answer{{Status: 403, Header: map[string]string{
			"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(t0.Add(2*time.Hour).Unix(), 10)}}}, wantRequests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gh := githubtest.Start(t, "acme/shop", token)
			c := &clock{now: t0}
			client := newClient(t, gh, c)
			gh.Then(tt.answers...)

			err := client.Comment(context.Background(), 7, "hello")
			if err == nil {
				t.Fatal("Comment succeeded")
			}
			if got := errors.Is(err, sink.ErrPermanent); got != tt.wantPermanent {
				t.Errorf("permanent = %v, want %v (err %v)", got, tt.wantPermanent, err)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("the error shows the token: %v", err)
			}
			if n := len(gh.Requests()); n != tt.wantRequests {
				t.Errorf("%d requests, want %d", n, tt.wantRequests)
			}
		})
	}
	t.Run("a wrong token is permanent and not shown", func(t *testing.T) {
		gh := githubtest.Start(t, "acme/shop", "another")
		err := newClient(t, gh, &clock{now: t0}).Comment(context.Background(), 1, "x")
		if !errors.Is(err, sink.ErrPermanent) || strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "Bad credentials") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestNewClientRefusesABadRepoOrURL(t *testing.T) {
	for _, cfg := range []github.ClientConfig{
		{Repo: "acme", Token: token},
		{Repo: "acme/shop/x", Token: token},
		{Repo: "../shop", Token: token},
		{Repo: "acme/shop", Token: ""},
		{Repo: "acme/shop", Token: token, BaseURL: "ftp://example.com"},
	} {
		if _, err := github.NewClient(cfg); err == nil {
			t.Errorf("NewClient(%+v) succeeded", cfg)
		}
	}
}

type fixture struct {
	gh    *githubtest.Server
	sink  *github.Sink
	store *store.Store
}

func newFixture(t *testing.T) *fixture {
	db, err := badgerdb.Open(t.TempDir(), logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	gh := githubtest.Start(t, "acme/shop", token)
	st := store.New(db)
	return &fixture{gh: gh, store: st, sink: github.NewSink(newClient(t, gh, &clock{now: t0}), st)}
}

func reportDelivery(diagnosisID string, flaky bool) *sink.Delivery {
	r := &contract.ReportPublished{
		Schema: contract.SchemaReport, ID: "report." + diagnosisID, Time: t0,
		Signature: contract.Signature{ID: "s1", Project: "shop", Title: "cart.TestAdd: expected <*>, got <*>", Status: contract.StatusDiagnosed, Occurrences: 3, Flaky: flaky},
		Diagnosis: contract.Diagnosis{Category: "assertion", RootCause: "3 is not 4", SuggestedFix: "add properly", Confidence: 0.7, Diagnoser: "heuristic"},
	}
	return &sink.Delivery{Key: diagnosisID, Kind: sink.KindReport, SignatureID: "s1", Report: r}
}

func changeDelivery(id string, change contract.SignatureChange, transition contract.SignatureTransition) *sink.Delivery {
	c := &contract.SignatureChanged{
		Schema: contract.SchemaSignature, ID: id, Time: t0.Add(time.Hour), Change: change, Transition: transition,
		Signature: contract.Signature{ID: "s1", Project: "shop", Occurrences: 5, LastCommit: "abc123"}, Reason: "reason of " + id,
	}
	return &sink.Delivery{Key: id, Kind: sink.KindChange, SignatureID: "s1", Change: c}
}

func (f *fixture) deliver(t *testing.T, d *sink.Delivery) {
	t.Helper()
	if !f.sink.Wants(d) {
		t.Fatalf("the sink does not want %s", d.Key)
	}
	if err := f.sink.Deliver(context.Background(), d); err != nil {
		t.Fatalf("Deliver(%s) = %v", d.Key, err)
	}
}

func TestOneIssuePerSignatureFollowsItsLifecycle(t *testing.T) {
	f := newFixture(t)
	f.deliver(t, reportDelivery("d1", true))

	is := f.gh.Issues()[1]
	if len(f.gh.Issues()) != 1 || is.Title != "[rounds] cart.TestAdd: expected <*>, got <*>" || !reflect.DeepEqual(is.Labels, []string{"rounds", "flaky"}) {
		t.Fatalf("issues %+v, want one titled after the signature, labelled rounds and flaky", f.gh.Issues())
	}
	if !strings.Contains(is.Body, "3 is not 4") || !strings.Contains(is.Body, "<!-- rounds-signature: s1 -->") {
		t.Errorf("issue body lacks the diagnosis or the signature marker:\n%s", is.Body)
	}
	if got, err := f.store.Issue("s1"); err != nil || got == nil || got.Number != 1 || got.URL != "https://github.example/acme/shop/issues/1" {
		t.Errorf("stored issue %+v, %v", got, err)
	}

	steps := []struct {
		d          *sink.Delivery
		wantState  string
		wantLabels []string
		wantInLast string
	}{
		{changeDelivery("e-resolved", contract.ChangeStatus, contract.TransitionResolved), "closed", []string{"rounds", "flaky"}, "**Signature resolved**"},
		{changeDelivery("e-regressed", contract.ChangeRegressed, contract.TransitionRegressed), "open", []string{"rounds", "flaky", "regressed"}, "Last seen on commit `abc123`"},
		{reportDelivery("d2", false), "open", []string{"rounds", "flaky", "regressed"}, "**New diagnosis**"},
		{changeDelivery("e-muted", contract.ChangeStatus, contract.TransitionMuted), "closed", []string{"rounds", "flaky", "regressed"}, "reason of e-muted"},
		{changeDelivery("e-unmuted", contract.ChangeStatus, contract.TransitionUnmuted), "open", []string{"rounds", "flaky", "regressed"}, "**Signature unmuted**"},
	}
	for i, st := range steps {
		f.deliver(t, st.d)
		is := f.gh.Issues()[1]
		if len(f.gh.Issues()) != 1 || is.State != st.wantState || !reflect.DeepEqual(is.Labels, st.wantLabels) || len(is.Comments) != i+1 || !strings.Contains(is.Comments[i], st.wantInLast) {
			t.Fatalf("after %s: issue %+v; want %s, labels %v, %d comments, the last with %q", st.d.Key, is, st.wantState, st.wantLabels, i+1, st.wantInLast)
		}
	}
	var patches []string
	for _, r := range f.gh.Requests() {
		if r.Method == "PATCH" {
			patches = append(patches, r.Path+" "+r.Body["state"].(string)+" "+r.Body["state_reason"].(string))
		}
	}
	want := []string{
		"/repos/acme/shop/issues/1 closed completed", "/repos/acme/shop/issues/1 open reopened",
		"/repos/acme/shop/issues/1 closed not_planned", "/repos/acme/shop/issues/1 open reopened",
	}
	if !reflect.DeepEqual(patches, want) {
		t.Errorf("patches %v, want %v", patches, want)
	}
}

func TestAChangeOfASignatureWithoutAnIssueDoesNothing(t *testing.T) {
	f := newFixture(t)
	f.deliver(t, changeDelivery("e-regressed", contract.ChangeRegressed, contract.TransitionRegressed))
	if n := len(f.gh.Requests()); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
}

func TestARetriedReportCommentsRatherThanOpeningASecondIssue(t *testing.T) {
	f := newFixture(t)
	f.deliver(t, reportDelivery("d1", false))
	// Retried after the issue was opened and recorded: a later failure of
	// the same delivery must not open another.
	f.deliver(t, reportDelivery("d1", false))
	if n := len(f.gh.Issues()); n != 1 {
		t.Errorf("%d issues, want 1", n)
	}
}

func TestTheSinkWantsReportsAndLifecycleChangesOnly(t *testing.T) {
	s := github.NewSink(nil, nil)
	for _, tt := range []struct {
		d    *sink.Delivery
		want bool
	}{
		{reportDelivery("d", false), true},
		{changeDelivery("e", contract.ChangeDetected, ""), false},
		{changeDelivery("e", contract.ChangeRecurred, ""), false},
		{changeDelivery("e", contract.ChangeFlaky, ""), true},
		{changeDelivery("e", contract.ChangeRegressed, contract.TransitionRegressed), true},
		{changeDelivery("e", contract.ChangeStatus, contract.TransitionResolved), true},
		{changeDelivery("e", contract.ChangeTagged, ""), true},
		{changeDelivery("e", contract.ChangeRetriage, ""), false},
	} {
		if got := s.Wants(tt.d); got != tt.want {
			t.Errorf("Wants(%s %v) = %v, want %v", tt.d.Kind, tt.d.Change, got, tt.want)
		}
	}
}

func TestTheIssueLabelsFollowTheSignaturesTags(t *testing.T) {
	f := newFixture(t)
	long := strings.Repeat("x", 51) // longer than a label can be
	report := reportDelivery("d1", false)
	report.Report.Signature.Tags = []string{"a/b", "checkout", long, "team:payments"}
	f.deliver(t, report)
	if is := f.gh.Issues()[1]; !reflect.DeepEqual(is.Labels, []string{"rounds", "a/b", "checkout", "team:payments"}) {
		t.Fatalf("labels %v, want rounds and the tags that can be labels", is.Labels)
	}
	// Someone labels the issue by hand, and takes a tag's label off.
	client := newClient(t, f.gh, &clock{now: t0})
	if err := client.AddLabels(context.Background(), 1, "needs-triage"); err != nil {
		t.Fatal(err)
	}
	if err := client.RemoveLabel(context.Background(), 1, "checkout"); err != nil {
		t.Fatal(err)
	}

	tagged := changeDelivery("e-tagged", contract.ChangeTagged, "")
	tagged.Change.Signature.Tags = []string{"wip"}
	before := len(f.gh.Requests())
	f.deliver(t, tagged)
	is := f.gh.Issues()[1]
	if !reflect.DeepEqual(is.Labels, []string{"rounds", "needs-triage", "wip"}) || len(is.Comments) != 0 || is.State != "open" {
		t.Errorf("issue %+v; want labels rounds, needs-triage (by hand) and wip, no comment, still open", is)
	}
	if got, err := f.store.Issue("s1"); err != nil || !reflect.DeepEqual(got.Tags, []string{"wip"}) {
		t.Errorf("stored issue %+v (%v), want its tags recorded", got, err)
	}
	// One POST of the new label, one DELETE per gone tag ("checkout",
	// gone already, answers 404 and is no error); "a/b" is one segment.
	var calls []string
	for _, r := range f.gh.Requests()[before:] {
		calls = append(calls, r.Method+" "+r.Path)
	}
	want := []string{"POST /repos/acme/shop/issues/1/labels", "DELETE /repos/acme/shop/issues/1/labels/a/b", "DELETE /repos/acme/shop/issues/1/labels/checkout", "DELETE /repos/acme/shop/issues/1/labels/team:payments"}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("requests %v, want %v", calls, want)
	}
	// Delivered again (a retry): nothing left to change, nothing sent.
	before = len(f.gh.Requests())
	f.deliver(t, tagged)
	if n := len(f.gh.Requests()) - before; n != 0 {
		t.Errorf("a repeated tag change sent %d requests, want none", n)
	}
}
