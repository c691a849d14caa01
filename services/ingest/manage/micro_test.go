package manage_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/micro"
	"github.com/rounds-dev/rounds/pkg/client"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/pkg/natstest"
	"github.com/rounds-dev/rounds/services/ingest/manage"
)

// TestMicroService talks to the API ingest serves, as the CLI does: over
// NATS, with the client of pkg/client.
func TestMicroService(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ref := e.signature(t, "TestMicro")
	nc, _ := natstest.Connect(t, e.url)
	c := client.NewSignatures(nc)

	t.Run("micro discovery finds the service and its endpoints", func(t *testing.T) {
		msg, err := nc.Request("$SRV.INFO."+contract.ManageServiceName, nil, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var info micro.Info
		if err := json.Unmarshal(msg.Data, &info); err != nil {
			t.Fatal(err)
		}
		var subjects []string
		for _, ep := range info.Endpoints {
			subjects = append(subjects, ep.Subject)
		}
		var want []string
		for _, op := range contract.ManageOps() {
			want = append(want, contract.ManageSubject(op))
		}
		slices.Sort(subjects)
		slices.Sort(want)
		if info.Name != contract.ManageServiceName || info.Version != contract.ManageServiceVersion || !slices.Equal(subjects, want) {
			t.Errorf("info %s %s with %v; want %s %s with %v", info.Name, info.Version, subjects, contract.ManageServiceName, contract.ManageServiceVersion, want)
		}
	})

	t.Run("list and show answer with the signature", func(t *testing.T) {
		list, err := c.List(ctx, contract.ListRequest{Project: "shop"})
		if err != nil || list.Total != 1 || list.Signatures[0].ID != ref.ID || list.Signatures[0].Count != 1 {
			t.Fatalf("list = %+v, %v", list, err)
		}
		d, err := c.Show(ctx, ref)
		if err != nil || d.ID != ref.ID || d.Fingerprint == "" {
			t.Fatalf("show = %+v, %v", d, err)
		}
	})

	t.Run("a change answers with the signature as stored", func(t *testing.T) {
		d, err := c.Mute(ctx, contract.MuteRequest{SignatureRef: ref, ChangedBy: alice, Occurrences: 3})
		if err != nil || d.Status != contract.StatusMuted || d.Mute == nil || d.Mute.UntilCount != 4 {
			t.Fatalf("mute = %+v, %v", d, err)
		}
		if ev := e.nextEventOf(t, ref); ev.Transition != contract.TransitionMuted {
			t.Errorf("event %s/%s, want status/muted", ev.Change, ev.Transition)
		}
	})

	errorCases := []struct {
		name     string
		call     func() error
		wantCode int
	}{
		{"an unknown signature is 404", func() error {
			_, err := c.Show(ctx, contract.SignatureRef{Project: "shop", ID: "ffffffffffffffff"})
			return err
		}, contract.ManageCodeNotFound},
		{"a bad transition is 409", func() error {
			_, err := c.Reopen(ctx, contract.ReopenRequest{SignatureRef: ref, ChangedBy: alice})
			return err
		}, contract.ManageCodeConflict},
		{"an invalid request is 400", func() error {
			_, err := c.Mute(ctx, contract.MuteRequest{SignatureRef: ref})
			return err
		}, contract.ManageCodeInvalid},
		{"an unknown field is 400, not silently ignored", func() error {
			msg, err := nc.Request(contract.ManageSubject(contract.OpList), []byte(`{"stauts":"muted"}`), 10*time.Second)
			if err != nil {
				return err
			}
			return &contract.ManageError{Code: atoi(msg.Header.Get(micro.ErrorCodeHeader)), Message: msg.Header.Get(micro.ErrorHeader)}
		}, contract.ManageCodeInvalid},
		{"a body that is not JSON is 400", func() error {
			msg, err := nc.Request(contract.ManageSubject(contract.OpShow), []byte(`shop/x`), 10*time.Second)
			if err != nil {
				return err
			}
			var me contract.ManageError
			if err := json.Unmarshal(msg.Data, &me); err != nil {
				return err
			}
			return &me
		}, contract.ManageCodeInvalid},
	}
	for _, tt := range errorCases {
		t.Run(tt.name, func(t *testing.T) {
			var me *contract.ManageError
			if err := tt.call(); !errors.As(err, &me) || me.Code != tt.wantCode || me.Message == "" {
				t.Fatalf("error %v, want a ManageError %d with a message", err, tt.wantCode)
			}
		})
	}

	t.Run("export over NATS pages and joins a signature's occurrences", func(t *testing.T) {
		var more []contract.Failure
		for range 6 {
			more = append(more, e.failure("TestMicro", "c2"))
		}
		e.publish(t, more...)
		eventually(t, "the signature is counted seven times", func() bool {
			d, err := c.Show(ctx, ref)
			return err == nil && d.Occurrences == 7
		})
		// A second server serving the same Manager with tiny pages: the
		// client must join the pieces.
		url2 := natstest.Start(t)
		nc2, _ := natstest.Connect(t, url2)
		small := e.ing.Manager()
		small.SetPageBytes(200)
		svcCtx, stop := context.WithCancel(ctx)
		defer stop()
		if _, err := manage.Serve(svcCtx, nc2, small, logging.Discard()); err != nil {
			t.Fatal(err)
		}
		var got []contract.ExportedSignature
		err := client.NewSignatures(nc2).Export(ctx, "", func(s contract.ExportedSignature) error {
			got = append(got, s)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Count != 7 || len(got[0].Occurrences) != 7 {
			t.Fatalf("export: %d signatures, the first with count %d and %d occurrences; want 1 with 7 and 7", len(got), got[0].Count, len(got[0].Occurrences))
		}
		ids := map[string]bool{}
		for _, o := range got[0].Occurrences {
			ids[o.EventID] = true
		}
		if len(ids) != 7 {
			t.Errorf("%d distinct occurrences, want 7", len(ids))
		}
	})

	t.Run("with ingest stopped the client says no ingest answers", func(t *testing.T) {
		e.stop()
		_, err := c.List(ctx, contract.ListRequest{})
		if !errors.Is(err, client.ErrManagementUnavailable) {
			t.Fatalf("error %v, want ErrManagementUnavailable", err)
		}
	})
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}
