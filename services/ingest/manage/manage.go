// Package manage is the signatures management API: list, show, mute,
// unmute, resolve, reopen, retriage, tag and export, as a Manager whose
// methods take the request types of package contract and return typed
// errors, whatever the transport; Serve adapts it to a NATS micro service
// (an HTTP API can adapt the same Manager). Ingest serves it, since ingest
// owns the signatures: every change runs in ingest's loop, is audited on
// the signature and announced as a signature event.
package manage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/ingest/internal/signatures"
)

// Errors of the operations, for callers to branch on (Code maps them to
// the codes of contract.ManageError).
var (
	// ErrNotFound means no signature has the project and id.
	ErrNotFound = signatures.ErrSignatureNotFound
	// ErrInvalidRequest means the request itself is wrong.
	ErrInvalidRequest = signatures.ErrInvalidRequest
	// ErrTransition means the signature's status does not allow the
	// change.
	ErrTransition = signatures.ErrTransition
	// ErrUnavailable means ingest is not running (yet, or any more).
	ErrUnavailable = errors.New("ingest is not running")
)

// Signatures is what the Manager operates on: ingest.Service.
type Signatures interface {
	Signature(ctx context.Context, project, id string) (signatures.Record, error)
	Signatures(ctx context.Context) ([]signatures.Record, error)
	Mute(ctx context.Context, project, id string, until time.Time, occurrences int64, by, reason string) (signatures.Record, error)
	Unmute(ctx context.Context, project, id, by, reason string) (signatures.Record, error)
	Resolve(ctx context.Context, project, id, inCommit, by, reason string) (signatures.Record, error)
	Reopen(ctx context.Context, project, id, by, reason string) (signatures.Record, error)
	Retriage(ctx context.Context, project, id, by, reason string) (signatures.Record, error)
	Tag(ctx context.Context, project, id string, add, remove []string, by, reason string) (signatures.Record, error)
	Occurrences(ctx context.Context, project, id string, fn func(contract.Occurrence) error) error
}

// Manager runs the management operations on the signatures.
type Manager struct {
	sigs Signatures
	// notRunning is the backend's error for "not running", mapped to
	// ErrUnavailable.
	notRunning error
	// pageBytes bounds the occurrences in one export page, in encoded
	// bytes (roughly): a NATS reply must fit in the server's max payload.
	pageBytes int
}

// DefaultPageBytes is the default budget of an export page: a quarter of
// NATS's default max payload, leaving room for the signatures.
const DefaultPageBytes = 256 << 10

// New returns a Manager over sigs; notRunning is the error sigs returns
// while it is not running (ingest.ErrNotRunning).
func New(sigs Signatures, notRunning error) *Manager {
	return &Manager{sigs: sigs, notRunning: notRunning, pageBytes: DefaultPageBytes}
}

// SetPageBytes changes the export page budget (tests use a small one).
func (m *Manager) SetPageBytes(n int) { m.pageBytes = max(n, 1) }

// wrap gives an error of the backend the Manager's meaning.
func (m *Manager) wrap(op contract.ManageOp, err error) error {
	if err == nil {
		return nil
	}
	if m.notRunning != nil && errors.Is(err, m.notRunning) {
		return fmt.Errorf("%s: %w", op, ErrUnavailable)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func invalid(op contract.ManageOp, err error) error {
	return fmt.Errorf("%s: %w: %v", op, ErrInvalidRequest, err)
}

func checkChange(op contract.ManageOp, ref contract.SignatureRef, by contract.ChangedBy) error {
	if err := ref.Validate(); err != nil {
		return invalid(op, err)
	}
	if err := by.Validate(); err != nil {
		return invalid(op, err)
	}
	return nil
}

// List returns the signatures matching the request, sorted and limited as
// asked, with their count by status.
func (m *Manager) List(ctx context.Context, req contract.ListRequest) (contract.ListReply, error) {
	if err := req.Validate(); err != nil {
		return contract.ListReply{}, invalid(contract.OpList, err)
	}
	recs, err := m.sigs.Signatures(ctx)
	if err != nil {
		return contract.ListReply{}, m.wrap(contract.OpList, err)
	}
	out := contract.ListReply{Signatures: []contract.SignatureSummary{}, ByStatus: map[contract.SignatureStatus]int{}}
	for i := range recs {
		r := &recs[i]
		switch {
		case req.Project != "" && r.Project != req.Project,
			req.Status != "" && r.Status != req.Status,
			req.Flaky != nil && r.Flaky != *req.Flaky,
			req.Tag != "" && !slices.Contains(r.Tags, req.Tag):
			continue
		}
		out.ByStatus[r.Status]++
		out.Signatures = append(out.Signatures, Summary(r))
	}
	out.Total = len(out.Signatures)
	byID := func(a, b contract.SignatureSummary) int {
		return cmp.Or(cmp.Compare(a.Project, b.Project), cmp.Compare(a.ID, b.ID))
	}
	switch req.Sort {
	case contract.SortCount:
		slices.SortFunc(out.Signatures, func(a, b contract.SignatureSummary) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), byID(a, b))
		})
	case contract.SortID:
		slices.SortFunc(out.Signatures, byID)
	default:
		slices.SortFunc(out.Signatures, func(a, b contract.SignatureSummary) int {
			return cmp.Or(b.LastSeen.Compare(a.LastSeen), byID(a, b))
		})
	}
	if req.Limit > 0 && len(out.Signatures) > req.Limit {
		out.Signatures = out.Signatures[:req.Limit]
	}
	return out, nil
}

// Show returns a signature with its lifecycle.
func (m *Manager) Show(ctx context.Context, req contract.ShowRequest) (contract.SignatureDetail, error) {
	if err := req.Validate(); err != nil {
		return contract.SignatureDetail{}, invalid(contract.OpShow, err)
	}
	return m.detail(contract.OpShow)(m.sigs.Signature(ctx, req.Project, req.ID))
}

// detail converts what a backend call returned.
func (m *Manager) detail(op contract.ManageOp) func(signatures.Record, error) (contract.SignatureDetail, error) {
	return func(r signatures.Record, err error) (contract.SignatureDetail, error) {
		if err != nil {
			return contract.SignatureDetail{}, m.wrap(op, err)
		}
		return Detail(&r), nil
	}
}

// Mute mutes a signature (see contract.MuteRequest).
func (m *Manager) Mute(ctx context.Context, req contract.MuteRequest) (contract.SignatureDetail, error) {
	if err := checkChange(contract.OpMute, req.SignatureRef, req.ChangedBy); err != nil {
		return contract.SignatureDetail{}, err
	}
	return m.detail(contract.OpMute)(m.sigs.Mute(ctx, req.Project, req.ID, req.Until, req.Occurrences, req.By, req.Reason))
}

// Unmute ends a signature's mute.
func (m *Manager) Unmute(ctx context.Context, req contract.UnmuteRequest) (contract.SignatureDetail, error) {
	if err := checkChange(contract.OpUnmute, req.SignatureRef, req.ChangedBy); err != nil {
		return contract.SignatureDetail{}, err
	}
	return m.detail(contract.OpUnmute)(m.sigs.Unmute(ctx, req.Project, req.ID, req.By, req.Reason))
}

// Resolve resolves a signature, in a commit when given.
func (m *Manager) Resolve(ctx context.Context, req contract.ResolveRequest) (contract.SignatureDetail, error) {
	if err := checkChange(contract.OpResolve, req.SignatureRef, req.ChangedBy); err != nil {
		return contract.SignatureDetail{}, err
	}
	if len(req.InCommit) > 128 {
		return contract.SignatureDetail{}, invalid(contract.OpResolve, errors.New("in_commit is longer than 128 bytes"))
	}
	return m.detail(contract.OpResolve)(m.sigs.Resolve(ctx, req.Project, req.ID, req.InCommit, req.By, req.Reason))
}

// Reopen reopens a resolved signature.
func (m *Manager) Reopen(ctx context.Context, req contract.ReopenRequest) (contract.SignatureDetail, error) {
	if err := checkChange(contract.OpReopen, req.SignatureRef, req.ChangedBy); err != nil {
		return contract.SignatureDetail{}, err
	}
	return m.detail(contract.OpReopen)(m.sigs.Reopen(ctx, req.Project, req.ID, req.By, req.Reason))
}

// Retriage asks diagnose to diagnose a signature again now.
func (m *Manager) Retriage(ctx context.Context, req contract.RetriageRequest) (contract.SignatureDetail, error) {
	if err := checkChange(contract.OpRetriage, req.SignatureRef, req.ChangedBy); err != nil {
		return contract.SignatureDetail{}, err
	}
	return m.detail(contract.OpRetriage)(m.sigs.Retriage(ctx, req.Project, req.ID, req.By, req.Reason))
}

// Tag adds and removes a signature's tags.
func (m *Manager) Tag(ctx context.Context, req contract.TagRequest) (contract.SignatureDetail, error) {
	if err := checkChange(contract.OpTag, req.SignatureRef, req.ChangedBy); err != nil {
		return contract.SignatureDetail{}, err
	}
	return m.detail(contract.OpTag)(m.sigs.Tag(ctx, req.Project, req.ID, req.Add, req.Remove, req.By, req.Reason))
}

// errPageFull stops reading occurrences when a page is full.
var errPageFull = errors.New("page full")

// occurrenceBytes is roughly what an occurrence costs encoded, beyond its
// strings.
const occurrenceBytes = 120

// Export returns a page of the export (see contract.ExportRequest): the
// signatures by project and id from req.After on, each with its
// occurrences, until the page budget is spent. A signature whose
// occurrences do not fit goes on over the next pages.
func (m *Manager) Export(ctx context.Context, req contract.ExportRequest) (contract.ExportReply, error) {
	if req.Project != "" && !contract.ValidToken(req.Project) {
		return contract.ExportReply{}, invalid(contract.OpExport, fmt.Errorf("project %q: use 1-64 of A-Z a-z 0-9 - _", req.Project))
	}
	if a := req.After; a != nil && a.Skip < 0 {
		return contract.ExportReply{}, invalid(contract.OpExport, fmt.Errorf("after.skip must not be negative, got %d", a.Skip))
	}
	recs, err := m.sigs.Signatures(ctx)
	if err != nil {
		return contract.ExportReply{}, m.wrap(contract.OpExport, err)
	}
	recs = slices.DeleteFunc(recs, func(r signatures.Record) bool {
		if req.Project != "" && r.Project != req.Project {
			return true
		}
		if a := req.After; a != nil {
			return cmp.Or(cmp.Compare(r.Project, a.Project), cmp.Compare(r.ID, a.ID)) < 0
		}
		return false
	})
	slices.SortFunc(recs, func(a, b signatures.Record) int {
		return cmp.Or(cmp.Compare(a.Project, b.Project), cmp.Compare(a.ID, b.ID))
	})
	out := contract.ExportReply{Signatures: []contract.ExportedSignature{}}
	budget := m.pageBytes
	for i := range recs {
		r := &recs[i]
		var skip int64
		if a := req.After; a != nil && a.Project == r.Project && a.ID == r.ID {
			skip = a.Skip
		}
		if budget <= 0 {
			out.Next = &contract.ExportCursor{Project: r.Project, ID: r.ID, Skip: skip}
			return out, nil
		}
		e := Exported(r)
		var seen int64
		err := m.sigs.Occurrences(ctx, r.Project, r.ID, func(o contract.Occurrence) error {
			seen++
			if seen <= skip {
				return nil
			}
			// At least one occurrence per page, so that the export moves on.
			if budget <= 0 && len(e.Occurrences) > 0 {
				return errPageFull
			}
			e.Occurrences = append(e.Occurrences, o)
			budget -= occurrenceBytes + len(o.EventID) + len(o.RunID) + len(o.Commit)
			if o.Test != nil {
				budget -= len(o.Test.Suite) + len(o.Test.Name)
			}
			return nil
		})
		full := errors.Is(err, errPageFull)
		if err != nil && !full {
			return contract.ExportReply{}, m.wrap(contract.OpExport, err)
		}
		budget -= occurrenceBytes + len(e.Title) + len(e.Fingerprint) + len(e.ID)
		out.Signatures = append(out.Signatures, e)
		if full {
			out.Next = &contract.ExportCursor{Project: r.Project, ID: r.ID, Skip: skip + int64(len(e.Occurrences))}
			return out, nil
		}
	}
	return out, nil
}

// Summary is a record as a list shows it.
func Summary(r *signatures.Record) contract.SignatureSummary {
	return contract.SignatureSummary{
		ID: r.ID, Project: r.Project, Title: r.Title, Kind: r.Kind, Status: r.Status,
		Flaky: r.Flaky, Regressed: r.Regressed, Count: r.Occurrences,
		FirstSeen: r.FirstSeen, LastSeen: r.LastSeen, Tags: slices.Clone(r.Tags),
	}
}

// Exported is a record as the export writes it, without its occurrences.
func Exported(r *signatures.Record) contract.ExportedSignature {
	return contract.ExportedSignature{
		ID: r.ID, Fingerprint: r.Fingerprint, Project: r.Project, Title: r.Title, Status: r.Status,
		Flaky: r.Flaky, Count: r.Occurrences, FirstSeen: r.FirstSeen, LastSeen: r.LastSeen,
		Tags: slices.Clone(r.Tags), Occurrences: []contract.Occurrence{},
	}
}

// Detail is a record with its lifecycle, as show returns it.
func Detail(r *signatures.Record) contract.SignatureDetail {
	d := contract.SignatureDetail{
		Signature: r.Signature, FlakyReason: r.FlakyReason,
		PassesSinceFailure: r.PassesSinceFailure,
	}
	d.Tags = slices.Clone(r.Tags)
	if mu := r.Mute; mu != nil {
		d.Mute = &contract.MuteTerms{Until: mu.Until, UntilCount: mu.UntilOccurrences, Previous: mu.Previous, By: mu.By, Reason: mu.Reason, At: mu.At}
	}
	if res := r.Resolution; res != nil {
		d.Resolution = &contract.ResolutionInfo{Commit: res.Commit, At: res.At, Auto: res.Auto, Previous: res.Previous}
	}
	if fr := r.FailureRate; fr != nil {
		d.FailureRate = &contract.FailureRate{Failed: fr.Failed, Commits: fr.Commits}
	}
	for _, a := range r.Audit {
		d.Audit = append(d.Audit, contract.AuditRecord{Seq: a.Seq, At: a.At, Actor: a.Actor, Action: a.Action, From: a.From, To: a.To, Reason: a.Reason})
	}
	return d
}

// Code is the contract.ManageError code of an error of the Manager.
func Code(err error) int {
	switch {
	case errors.Is(err, ErrInvalidRequest):
		return contract.ManageCodeInvalid
	case errors.Is(err, ErrNotFound):
		return contract.ManageCodeNotFound
	case errors.Is(err, ErrTransition):
		return contract.ManageCodeConflict
	case errors.Is(err, ErrUnavailable):
		return contract.ManageCodeUnavailable
	}
	return contract.ManageCodeInternal
}
