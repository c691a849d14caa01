package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/pkg/messaging"
	"github.com/rounds-dev/rounds/pkg/natstest"
	"github.com/rounds-dev/rounds/services/ingest"
)

// startIngest runs `rounds ingest` in a child process.
func startIngest(t *testing.T, url, dataDir string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Env = append(os.Environ(), childArgs+"="+strings.Join([]string{"ingest", "--nats-url", url, "--data-dir", dataDir, "--log-format", "json", "--ingest-batch-size", "200"}, "\x1f"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &logs
}

func consumerState(t *testing.T, js jetstream.JetStream) *jetstream.ConsumerInfo {
	t.Helper()
	c, err := js.Consumer(context.Background(), contract.StreamFailures, ingest.Name)
	if err != nil {
		return nil
	}
	info, err := c.Info(context.Background())
	if err != nil {
		return nil
	}
	return info
}

// TestKillingIngestAtAnyInstantCountsEveryFailureExactlyOnce kills ingest
// with SIGKILL several times while it works through thousands of failures,
// some published twice under the same id, and checks that every failure is
// counted exactly once in the end.
func TestKillingIngestAtAnyInstantCountsEveryFailureExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes; skipped with -short")
	}
	const failures, bugs = 6000, 40
	url := natstest.Start(t)
	nc, js := natstest.Connect(t, url)
	if err := messaging.EnsureStreams(context.Background(), js, messaging.DefaultStreamsConfig()); err != nil {
		t.Fatal(err)
	}
	publishFailures(t, nc, js, failures, bugs)

	dataDir := filepath.Join(t.TempDir(), "data")
	for kill, at := range []uint64{800, 2500, 4200} {
		cmd, logs := startIngest(t, url, dataDir)
		deadline := time.Now().Add(60 * time.Second)
		for {
			info := consumerState(t, js)
			if info != nil && info.Delivered.Consumer >= at {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("kill %d: ingest did not reach %d deliveries; logs:\n%s", kill, at, logs)
			}
			time.Sleep(time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
	}

	cmd, logs := startIngest(t, url, dataDir)
	deadline := time.Now().Add(90 * time.Second)
	for {
		info := consumerState(t, js)
		if info != nil && info.NumPending == 0 && info.NumAckPending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ingest did not drain the stream: %+v; logs:\n%s", info, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ingest did not stop cleanly on SIGTERM: %v; logs:\n%s", err, logs)
	}

	sigs, err := ingest.ReadSignatures(filepath.Join(dataDir, ingest.Name), logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, s := range sigs {
		total += s.Occurrences
	}
	if len(sigs) != bugs || total != failures {
		t.Fatalf("%d signatures counting %d occurrences, want %d counting %d", len(sigs), total, bugs, failures)
	}

	// Each signature lists as many occurrences as it counts, each failure
	// once: the list is written in the count's transaction.
	listed := map[string]int64{}
	ids := map[string]bool{}
	err = ingest.ReadOccurrences(filepath.Join(dataDir, ingest.Name), logging.Discard(), func(_, id string, o contract.Occurrence) error {
		listed[id]++
		if ids[o.EventID] {
			t.Errorf("failure %s listed twice", o.EventID)
		}
		ids[o.EventID] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sigs {
		if listed[s.ID] != s.Occurrences {
			t.Errorf("signature %s counts %d occurrences but lists %d", s.ID, s.Occurrences, listed[s.ID])
		}
	}
	if len(ids) != failures {
		t.Errorf("%d failures listed, want %d", len(ids), failures)
	}

	// Every signature's detection was announced exactly once, although
	// ingest died with some of them committed but not yet confirmed.
	stream, err := js.Stream(context.Background(), contract.StreamSignatures)
	if err != nil {
		t.Fatal(err)
	}
	detected := map[string]int{}
	for seq := uint64(1); seq <= stream.CachedInfo().State.LastSeq; seq++ {
		m, err := stream.GetMsg(context.Background(), seq)
		if err != nil {
			continue
		}
		if strings.HasSuffix(m.Subject, ".detected") {
			var ev contract.SignatureChanged
			if err := json.Unmarshal(m.Data, &ev); err != nil {
				t.Fatal(err)
			}
			detected[ev.Signature.ID]++
		}
	}
	if len(detected) != bugs {
		t.Errorf("%d signatures announced as detected, want %d", len(detected), bugs)
	}
	for id, n := range detected {
		if n != 1 {
			t.Errorf("signature %s announced as detected %d times", id, n)
		}
	}
}

// publishFailures publishes n failures of the given number of bugs; every
// tenth is published a second time without Nats-Msg-Id, the way a retry
// from past JetStream's duplicate window arrives.
func publishFailures(t *testing.T, nc *nats.Conn, js jetstream.JetStream, n, bugs int) {
	t.Helper()
	for i := range n {
		f := runtimeFailure(fmt.Sprintf("f-%d", i), fmt.Sprintf("bug %c: dial tcp 10.0.%d.%d:5432: connect: connection refused", 'A'+rune(i%bugs), i%7, i%250))
		f.Service.Name = fmt.Sprintf("svc-%d", i%bugs)
		data, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		m := nats.NewMsg("rounds.failures.shop")
		m.Data = data
		m.Header.Set(contract.HeaderMsgID, f.ID)
		if _, err := js.PublishMsgAsync(m); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			if _, err := js.PublishAsync("rounds.failures.shop", data); err != nil {
				t.Fatal(err)
			}
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		t.Fatal("publishing did not complete")
	}
}
