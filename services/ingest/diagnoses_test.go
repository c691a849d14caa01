package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/pkg/natstest"
)

func publishJSON(t *testing.T, js jetstream.JetStream, subject, msgID string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	m := nats.NewMsg(subject)
	m.Data = data
	if msgID != "" {
		m.Header.Set(contract.HeaderMsgID, msgID)
	}
	if _, err := js.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

func TestADiagnosisMarksItsSignatureDiagnosedOnceAndAnnouncesIt(t *testing.T) {
	url := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	dataDir := filepath.Join(t.TempDir(), "ingest")
	s, stop := runService(t, url, dataDir)
	eventually(t, "ingest runs", func() bool { return s.consumer.Load() != nil })

	f := contract.Failure{
		Schema: contract.SchemaFailure, ID: "f-1", Project: "shop", Time: time.Now().UTC(), Kind: contract.KindTest,
		Test:  &contract.TestIdentity{Suite: "cart", Name: "TestAdd"},
		Error: contract.ErrorInfo{Type: "AssertionError", Message: "expected 3, got 4"},
	}
	publishJSON(t, js, "rounds.failures.shop", f.ID, f)
	eventually(t, "the failure is counted", func() bool { return s.Stats().Applied == 1 })
	var sig Signature
	s.stateMu.RLock()
	err := s.state.Records(func(r Signature) error { sig = r; return nil })
	s.stateMu.RUnlock()
	if err != nil {
		t.Fatal(err)
	}

	// A diagnosis that does not decode, one of a signature ingest does
	// not hold, then the signature's, twice (a copy past the duplicate
	// window): only the last two apply, the second changing nothing.
	subject, _ := contract.DiagnosisSubject("shop")
	publishJSON(t, js, subject, "bad", map[string]string{"schema": "nope"})
	d := contract.DiagnosisCompleted{
		Schema: contract.SchemaDiagnosis, ID: "d-other", Time: time.Now().UTC(),
		Signature: contract.Signature{ID: "0000000000000000", Project: "shop", Status: contract.StatusNew},
		Diagnosis: contract.Diagnosis{Category: "assertion", Diagnoser: "heuristic", Confidence: 0.4},
	}
	publishJSON(t, js, subject, d.ID, d)
	d.ID, d.Signature = "d-1", sig.Signature
	publishJSON(t, js, subject, "", d)
	publishJSON(t, js, subject, "", d)
	eventually(t, "both copies of the diagnosis are applied", func() bool { return s.Stats().Diagnoses == 2 })

	stop()
	records, err := ReadRecords(dataDir, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 1 || records[0].Status != contract.StatusDiagnosed {
		t.Fatalf("signatures %+v, want one, diagnosed", records)
	}
	if st := s.Stats(); st.Applied != 1 {
		t.Errorf("stats %+v: a diagnosis was counted as a failure", st)
	}

	// One status event, "diagnosed", with the signature diagnosed.
	stream, err := js.Stream(context.Background(), contract.StreamSignatures)
	if err != nil {
		t.Fatal(err)
	}
	var transitions []string
	for seq := uint64(1); seq <= stream.CachedInfo().State.LastSeq; seq++ {
		m, err := stream.GetMsg(context.Background(), seq)
		if err != nil {
			continue
		}
		ev, err := contract.DecodeSignatureChanged(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		transitions = append(transitions, fmt.Sprintf("%s:%s:%s", ev.Change, ev.Transition, ev.Signature.Status))
	}
	want := []string{"detected::new", "status:diagnosed:diagnosed"}
	if fmt.Sprint(transitions) != fmt.Sprint(want) {
		t.Errorf("signature events %v, want %v", transitions, want)
	}
}
