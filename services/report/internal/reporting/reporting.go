// Package reporting is report's use case: write each diagnosis as a
// markdown report and announce it as a report event, exactly once per
// diagnosis.
package reporting

import (
	"context"
	"log/slog"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/report/internal/markdown"
)

// Store is what the use case keeps.
type Store interface {
	Report(diagnosisID string) (*contract.ReportPublished, error)
	Record(diagnosisID string, r *contract.ReportPublished) error
}

// Publisher announces a report. Publishing the same report twice must be
// harmless (its id is the de-duplication key).
type Publisher interface {
	PublishReport(ctx context.Context, r *contract.ReportPublished) error
}

// Reporting handles diagnoses.
type Reporting struct {
	store      Store
	publisher  Publisher
	reportsDir string
	log        *slog.Logger
	now        func() time.Time
}

// New returns the use case writing under reportsDir.
func New(st Store, pub Publisher, reportsDir string, log *slog.Logger) *Reporting {
	return &Reporting{store: st, publisher: pub, reportsDir: reportsDir, log: log, now: time.Now}
}

// OnDiagnosisCompleted reports one diagnosis. The file's name comes from
// the diagnosis (its time, project, error type and signature), so a
// redelivery rewrites the same file rather than adding one; a diagnosis
// already reported is only announced again.
func (r *Reporting) OnDiagnosisCompleted(ctx context.Context, ev *contract.DiagnosisCompleted) error {
	done, err := r.store.Report(ev.ID)
	if err != nil {
		return err
	}
	if done != nil {
		return r.publisher.PublishReport(ctx, done)
	}
	sig := &ev.Signature
	rel := markdown.FileName(ev.Time, sig.Project, sig.ErrorType, sig.ID)
	path, err := markdown.Write(r.reportsDir, rel, markdown.Render(*ev))
	if err != nil {
		return err
	}
	report := &contract.ReportPublished{
		Schema:    contract.SchemaReport,
		ID:        "report." + ev.ID,
		Time:      r.now().UTC(),
		Signature: ev.Signature,
		Diagnosis: ev.Diagnosis,
		Reported:  contract.Reported{File: rel},
	}
	if err := r.store.Record(ev.ID, report); err != nil {
		return err
	}
	r.log.Info("reported", "signature_id", sig.ID, "file", path)
	return r.publisher.PublishReport(ctx, report)
}
