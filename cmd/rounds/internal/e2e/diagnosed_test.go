package e2e

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/natstest"
)

// isDiagnosedStatus reports whether data is a signature event announcing
// that a signature was diagnosed.
func isDiagnosedStatus(data []byte) bool {
	var ev struct {
		Change     contract.SignatureChange     `json:"change"`
		Transition contract.SignatureTransition `json:"transition"`
	}
	return json.Unmarshal(data, &ev) == nil && ev.Change == contract.ChangeStatus && ev.Transition == contract.TransitionDiagnosed
}

func TestOnceDiagnoseHasDiagnosedASignatureIngestMarksItDiagnosed(t *testing.T) {
	r := start(t, natstest.Start(t), newConfig(t))
	cons, err := r.js.OrderedConsumer(context.Background(), contract.StreamSignatures, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"rounds.signatures.shop.status"}})
	if err != nil {
		t.Fatal(err)
	}
	statuses := make(chan jetstream.Msg, 100)
	cc, err := cons.Consume(func(m jetstream.Msg) { statuses <- m })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cc.Stop)
	diagnoses := r.watch(contract.StreamDiagnoses, contract.DiagnosesAll)

	r.publish(runtimeFailure("f-1", "dial tcp 10.0.0.1:5432: connect: connection refused"))
	d := next(t, "diagnosis", diagnoses, contract.DecodeDiagnosisCompleted)
	ev := next(t, "status event", statuses, contract.DecodeSignatureChanged)
	if ev.Transition != contract.TransitionDiagnosed || ev.Signature.Status != contract.StatusDiagnosed || ev.Signature.ID != d.Signature.ID {
		t.Fatalf("status event %s of %s with status %s, want diagnosed of %s", ev.Transition, ev.Signature.ID, ev.Signature.Status, d.Signature.ID)
	}
	if want := "in " + d.ID; len(ev.Reason) < len(want) || ev.Reason[len(ev.Reason)-len(want):] != want {
		t.Errorf("reason %q does not name the diagnosis %s", ev.Reason, d.ID)
	}
	// More occurrences leave it diagnosed, and announce no more status.
	r.publish(runtimeFailure("f-2", "dial tcp 10.0.0.2:5432: connect: connection refused"))
	nothingMore(t, "status events", statuses)
}
