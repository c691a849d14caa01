package client

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/messaging"
	"github.com/rounds-dev/rounds/pkg/natstest"
)

func failure(id string) contract.Failure {
	return contract.Failure{
		Schema: contract.SchemaFailure, ID: id, Project: "shop", Time: time.Now().UTC(), Kind: contract.KindTest,
		Test:  &contract.TestIdentity{Name: "TestAdd"},
		Error: contract.ErrorInfo{Message: "boom"},
	}
}

func setup(t *testing.T, streams bool) (*Client, *nats.Conn) {
	t.Helper()
	nc, js := natstest.Connect(t, natstest.Start(t))
	if streams {
		if err := messaging.EnsureStreams(context.Background(), js, messaging.DefaultStreamsConfig()); err != nil {
			t.Fatal(err)
		}
	}
	c, err := New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return c, nc
}

func TestPublishFailures(t *testing.T) {
	ctx := context.Background()
	c, _ := setup(t, true)

	res, err := c.PublishFailures(ctx, []contract.Failure{failure("a"), failure("b")})
	if err != nil || res.Published != 2 || res.Duplicates != 0 {
		t.Fatalf("first publication: %+v, %v; want 2 published", res, err)
	}
	res, err = c.PublishFailures(ctx, []contract.Failure{failure("a"), failure("c")})
	if err != nil || res.Published != 1 || res.Duplicates != 1 {
		t.Fatalf("republication: %+v, %v; want 1 published and 1 duplicate", res, err)
	}
}

func TestPublishFailuresPublishesNothingWhenOneIsInvalid(t *testing.T) {
	ctx := context.Background()
	c, _ := setup(t, true)
	bad := failure("bad")
	bad.Kind = "weird"
	if _, err := c.PublishFailures(ctx, []contract.Failure{failure("good"), bad}); !errors.Is(err, contract.ErrInvalidEvent) {
		t.Fatalf("err = %v, want ErrInvalidEvent", err)
	}
	info, err := c.js.Stream(ctx, contract.StreamFailures)
	if err != nil {
		t.Fatal(err)
	}
	if n := info.CachedInfo().State.Msgs; n != 0 {
		t.Fatalf("stream holds %d messages, want 0", n)
	}
}

func TestPublishFailuresWithoutRoundsSaysSo(t *testing.T) {
	c, _ := setup(t, false)
	if _, err := c.PublishFailures(context.Background(), []contract.Failure{failure("a")}); !errors.Is(err, ErrRoundsNotRunning) {
		t.Fatalf("err = %v, want ErrRoundsNotRunning", err)
	}
}

func TestFollowReportsDeliversNewReportsOfTheProject(t *testing.T) {
	c, _ := setup(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	got := make(chan contract.ReportPublished, 4)
	followErr := make(chan error, 1)
	go func() {
		followErr <- c.FollowReports(ctx, "shop", func(r contract.ReportPublished, err error) error {
			if err != nil {
				t.Errorf("decode: %v", err)
			}
			got <- r
			return nil
		})
	}()
	report := func(project, id string) *contract.ReportPublished {
		return &contract.ReportPublished{Schema: contract.SchemaReport, ID: id, Time: time.Now().UTC(), Signature: contract.Signature{ID: "s1", Project: project}}
	}
	// Publish until the follower is subscribed and sees one: it only
	// receives what is published after it starts.
	deadline := time.After(10 * time.Second)
	for i := 0; ; i++ {
		subject, _ := contract.ReportSubject("other")
		if err := messaging.PublishJSON(ctx, c.js, subject, "other-"+string(rune('a'+i%26)), report("other", "x")); err != nil {
			t.Fatal(err)
		}
		subject, _ = contract.ReportSubject("shop")
		if err := messaging.PublishJSON(ctx, c.js, subject, "shop-"+time.Now().String(), report("shop", "r")); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-got:
			if r.Signature.Project != "shop" {
				t.Fatalf("got a report of project %q while following shop", r.Signature.Project)
			}
			cancel()
			if err := <-followErr; err != nil {
				t.Fatalf("FollowReports returned %v after cancel, want nil", err)
			}
			return
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("no report arrived")
		}
	}
}

func runReport(id string, passed int) contract.RunReported {
	refs := make([]contract.TestRef, passed)
	for i := range refs {
		refs[i] = contract.TestRef{Suite: fmt.Sprintf("example.com/shop/pkg%03d", i%40), Name: fmt.Sprintf("TestSomethingRatherLong_%07d", i)}
	}
	return contract.RunReported{
		Schema: contract.SchemaRun, ID: id, Project: "shop", Time: time.Now().UTC(),
		Run:    contract.RunInfo{ID: "run-1", Commit: "abc123"},
		Source: "report.xml", Passed: contract.GroupTests(refs), Total: passed + 1, Failed: 1,
	}
}

// storedRuns returns the run report chunks in the stream, decoded.
func storedRuns(t *testing.T, js jetstream.JetStream) []contract.RunReported {
	t.Helper()
	var out []contract.RunReported
	for _, m := range natstest.Stored(t, js, contract.StreamRuns) {
		seq := m.Sequence
		if len(m.Data) > contract.RunChunkBytes {
			t.Errorf("message %d is %d bytes, more than %d", seq, len(m.Data), contract.RunChunkBytes)
		}
		r, err := contract.DecodeRunReported(m.Data)
		if err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		if got := m.Header.Get(contract.HeaderMsgID); got != r.ID {
			t.Errorf("message %d has Nats-Msg-Id %q and id %q", seq, got, r.ID)
		}
		if m.Subject != "rounds.runs.shop" {
			t.Errorf("message %d is on %s", seq, m.Subject)
		}
		out = append(out, r)
	}
	return out
}

func TestPublishRun(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		passed     int
		wantChunks int // 0: more than one
	}{
		{name: "a small run report is one message", passed: 10, wantChunks: 1},
		{name: "a run report without passed tests is one message", passed: 0, wantChunks: 1},
		{name: "a hundred thousand passed tests are cut into chunks below 512 KiB", passed: 100_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := setup(t, true)
			r := runReport("r-"+fmt.Sprint(tt.passed), tt.passed)
			res, err := c.PublishRun(ctx, r)
			if err != nil {
				t.Fatalf("PublishRun() error = %v", err)
			}
			if tt.wantChunks != 0 && res.Published != tt.wantChunks || tt.wantChunks == 0 && res.Published < 2 {
				t.Fatalf("PublishRun() = %+v, want %d chunks (0: several)", res, tt.wantChunks)
			}
			stored := storedRuns(t, c.js)
			if len(stored) != res.Published {
				t.Fatalf("the stream holds %d chunks, PublishRun says %d", len(stored), res.Published)
			}
			passed := 0
			for i, chunk := range stored {
				if chunk.Chunk != (contract.Chunk{Index: i, Count: len(stored)}) || chunk.ID != contract.ChunkID(r.ID, i) {
					t.Errorf("chunk %d is %+v with id %s", i, chunk.Chunk, chunk.ID)
				}
				passed += chunk.Passed.Len()
			}
			if passed != tt.passed {
				t.Errorf("the chunks list %d passed tests, want %d", passed, tt.passed)
			}
			again, err := c.PublishRun(ctx, r)
			if err != nil || again.Published != 0 || again.Duplicates != res.Published {
				t.Errorf("publishing again = %+v, %v; want every chunk a duplicate", again, err)
			}
		})
	}
}

func TestPublishRunPublishesNothingWhenTheReportIsInvalid(t *testing.T) {
	c, _ := setup(t, true)
	bad := runReport("bad", 3)
	bad.Source = ""
	if _, err := c.PublishRun(context.Background(), bad); !errors.Is(err, contract.ErrInvalidEvent) {
		t.Fatalf("err = %v, want ErrInvalidEvent", err)
	}
	if n := len(storedRuns(t, c.js)); n != 0 {
		t.Fatalf("stream holds %d messages, want 0", n)
	}
}

func TestPublishRunSaysWhatIsMissingOnTheServer(t *testing.T) {
	t.Run("without Rounds it says to start Rounds", func(t *testing.T) {
		c, _ := setup(t, false)
		if _, err := c.PublishRun(context.Background(), runReport("r", 1)); !errors.Is(err, ErrRoundsNotRunning) {
			t.Fatalf("err = %v, want ErrRoundsNotRunning", err)
		}
	})
	t.Run("with Rounds streams but none for run reports it says to upgrade", func(t *testing.T) {
		c, _ := setup(t, false)
		sc := messaging.DefaultStreamsConfig().StreamConfigs()[0]
		if _, err := c.js.CreateStream(context.Background(), sc); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PublishRun(context.Background(), runReport("r", 1)); !errors.Is(err, ErrRunsNotProvisioned) {
			t.Fatalf("err = %v, want ErrRunsNotProvisioned", err)
		}
	})
}
