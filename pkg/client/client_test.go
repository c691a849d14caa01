package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
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
