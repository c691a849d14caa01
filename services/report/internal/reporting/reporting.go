// Package reporting is report's use case: keep each signature's page from
// the diagnoses and signature events, queue every event for the configured
// sinks, and announce each diagnosis as a report event, exactly once per
// event.
package reporting

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/report/internal/markdown"
	"github.com/rounds-dev/rounds/services/report/internal/sink"
)

// Store is what the use case keeps.
type Store interface {
	Report(diagnosisID string) (*contract.ReportPublished, error)
	Seen(eventID string) (bool, error)
	Page(signatureID string) (*sink.Page, error)
	Issue(signatureID string) (*sink.Issue, error)
	Commit(c sink.Change) error
}

// Publisher announces a report. Publishing the same report twice must be
// harmless (its id is the de-duplication key).
type Publisher interface {
	PublishReport(ctx context.Context, r *contract.ReportPublished) error
}

// Reporting handles diagnoses and signature events.
type Reporting struct {
	store  Store
	sinks  []sink.Sink
	notify func()
	log    *slog.Logger
	now    func() time.Time
	// mu serializes the read-modify-write of pages: the diagnoses and the
	// signature events are handled by two consumers at once.
	mu sync.Mutex
}

// New returns the use case queuing for sinks; notify, if set, is called
// after deliveries were queued.
func New(st Store, sinks []sink.Sink, notify func(), log *slog.Logger) *Reporting {
	if notify == nil {
		notify = func() {}
	}
	return &Reporting{store: st, sinks: sinks, notify: notify, log: log, now: time.Now}
}

// OnDiagnosisCompleted records a diagnosis on its signature's page, queues
// the report for the sinks and publishes it with pub. A diagnosis already
// reported is only announced again.
func (r *Reporting) OnDiagnosisCompleted(ctx context.Context, ev *contract.DiagnosisCompleted, pub Publisher) error {
	report, err := r.recordDiagnosis(ev)
	if err != nil {
		return err
	}
	return pub.PublishReport(ctx, report)
}

func (r *Reporting) recordDiagnosis(ev *contract.DiagnosisCompleted) (*contract.ReportPublished, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	done, err := r.store.Report(ev.ID)
	if err != nil || done != nil {
		return done, err
	}
	page, err := r.page(&ev.Signature)
	if err != nil {
		return nil, err
	}
	snapshot := ev.Signature
	switch snapshot.Status {
	case "", contract.StatusNew, contract.StatusDiagnosing:
		snapshot.Status = contract.StatusDiagnosed
	}
	adopt(page, snapshot, ev.Time)
	if page.Diagnosis == nil || !ev.Time.Before(page.Diagnosis.Time) {
		d := *ev
		page.Diagnosis = &d
	}
	page.Add(sink.Entry{
		EventID: ev.ID, Time: ev.Time, What: "diagnosed", Occurrences: ev.Signature.Occurrences,
		DiagnosisID: ev.ID, Category: ev.Diagnosis.Category, Confidence: ev.Diagnosis.Confidence,
	})
	report := &contract.ReportPublished{
		Schema:    contract.SchemaReport,
		ID:        "report." + ev.ID,
		Time:      r.now().UTC(),
		Signature: ev.Signature,
		Diagnosis: ev.Diagnosis,
	}
	if r.has(sink.Markdown) {
		report.Reported.File = page.File
	}
	// The issue is opened by the GitHub sink after this report is out, so
	// only a signature reported before names its issue here.
	if is, err := r.store.Issue(ev.Signature.ID); err != nil {
		return nil, err
	} else if is != nil {
		report.Reported.IssueURL = is.URL
	}
	d := sink.Delivery{Key: ev.ID, Kind: sink.KindReport, SignatureID: ev.Signature.ID, Report: report}
	err = r.store.Commit(sink.Change{EventID: ev.ID, DiagnosisID: ev.ID, Report: report, Page: page, Deliveries: r.deliveries(d)})
	if err != nil {
		return nil, err
	}
	r.log.Info("reported", "signature_id", ev.Signature.ID, "diagnosis_id", ev.ID, "file", page.File)
	r.notify()
	return report, nil
}

// OnSignatureChanged records a signature event on the signature's page and
// queues it for the sinks that want it. An event already seen changes
// nothing.
func (r *Reporting) OnSignatureChanged(_ context.Context, ev *contract.SignatureChanged) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen, err := r.store.Seen(ev.ID)
	if err != nil || seen {
		return err
	}
	page, err := r.page(&ev.Signature)
	if err != nil {
		return err
	}
	adopt(page, ev.Signature, ev.Time)
	entry := sink.Entry{EventID: ev.ID, Time: ev.Time, What: string(ev.Change), Occurrences: ev.Signature.Occurrences, Reason: ev.Reason}
	if ev.Change == contract.ChangeStatus && ev.Transition != "" {
		entry.What = string(ev.Transition)
	}
	if ev.Occurrence != nil {
		entry.Commit = ev.Occurrence.Run.Commit
	}
	page.Add(entry)
	// The occurrence is the bulk of the event and no sink needs it.
	change := *ev
	change.Occurrence = nil
	d := sink.Delivery{Key: ev.ID, Kind: sink.KindChange, SignatureID: ev.Signature.ID, Change: &change}
	if err := r.store.Commit(sink.Change{EventID: ev.ID, Page: page, Deliveries: r.deliveries(d)}); err != nil {
		return err
	}
	r.log.Debug("signature changed", "signature_id", ev.Signature.ID, "event_id", ev.ID, "change", entry.What)
	r.notify()
	return nil
}

// page returns the page of sig, a new one if it has none.
func (r *Reporting) page(sig *contract.Signature) (*sink.Page, error) {
	p, err := r.store.Page(sig.ID)
	if err != nil || p != nil {
		return p, err
	}
	return &sink.Page{Signature: *sig, File: markdown.PageName(sig.Project, sig.ErrorType, sig.ID)}, nil
}

// adopt takes snapshot as the page's signature unless the page holds one
// from a later event (the two consumers deliver in their own orders).
func adopt(p *sink.Page, snapshot contract.Signature, at time.Time) {
	if at.Before(p.Updated) {
		return
	}
	p.Signature, p.Updated = snapshot, at
}

// deliveries returns d for every sink that wants it.
func (r *Reporting) deliveries(d sink.Delivery) map[string]sink.Delivery {
	out := map[string]sink.Delivery{}
	for _, s := range r.sinks {
		if s.Wants(&d) {
			out[s.Name()] = d
		}
	}
	return out
}

func (r *Reporting) has(name string) bool {
	for _, s := range r.sinks {
		if s.Name() == name {
			return true
		}
	}
	return false
}
