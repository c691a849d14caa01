package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/rounds-dev/rounds/pkg/contract"
)

// ErrManagementUnavailable means no ingest answered on the management
// API's subjects.
var ErrManagementUnavailable = errors.New("no ingest answers the signatures management API (" + contract.ManageSubjectPrefix + ".*): is ingest running against this server?")

// Signatures manages signatures over the management API that ingest
// serves (see contract.ManageSubjectPrefix), on a connection it does not
// own. Its errors are *contract.ManageError when ingest refused the
// request: errors.As tells the code (400, 404, 409, 500, 503).
type Signatures struct {
	nc *nats.Conn
}

// NewSignatures returns a management client on nc.
func NewSignatures(nc *nats.Conn) *Signatures { return &Signatures{nc: nc} }

// call sends req to op's endpoint and decodes the reply into reply. ctx
// must have a deadline or be cancellable; without one, the request waits
// 30 seconds.
func (s *Signatures) call(ctx context.Context, op contract.ManageOp, req, reply any) error {
	data, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode %s request: %w", op, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultManageTimeout)
		defer cancel()
	}
	msg, err := s.nc.RequestWithContext(ctx, contract.ManageSubject(op), data)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return ErrManagementUnavailable
	case err != nil:
		return fmt.Errorf("signatures %s: %w", op, err)
	}
	if code := msg.Header.Get(micro.ErrorCodeHeader); code != "" {
		me := &contract.ManageError{Message: msg.Header.Get(micro.ErrorHeader)}
		if json.Unmarshal(msg.Data, me) != nil || me.Code == 0 {
			me.Code, _ = strconv.Atoi(code)
		}
		return me
	}
	if err := json.Unmarshal(msg.Data, reply); err != nil {
		return fmt.Errorf("decode %s reply: %w", op, err)
	}
	return nil
}

const defaultManageTimeout = 30 * time.Second

// List lists the signatures matching req.
func (s *Signatures) List(ctx context.Context, req contract.ListRequest) (contract.ListReply, error) {
	var r contract.ListReply
	return r, s.call(ctx, contract.OpList, req, &r)
}

// Show returns a signature with its lifecycle and audit.
func (s *Signatures) Show(ctx context.Context, ref contract.SignatureRef) (contract.SignatureDetail, error) {
	return s.change(ctx, contract.OpShow, contract.ShowRequest{SignatureRef: ref})
}

// Mute mutes a signature.
func (s *Signatures) Mute(ctx context.Context, req contract.MuteRequest) (contract.SignatureDetail, error) {
	return s.change(ctx, contract.OpMute, req)
}

// Unmute ends a signature's mute.
func (s *Signatures) Unmute(ctx context.Context, req contract.UnmuteRequest) (contract.SignatureDetail, error) {
	return s.change(ctx, contract.OpUnmute, req)
}

// Resolve resolves a signature, in a commit when given.
func (s *Signatures) Resolve(ctx context.Context, req contract.ResolveRequest) (contract.SignatureDetail, error) {
	return s.change(ctx, contract.OpResolve, req)
}

// Reopen reopens a resolved signature.
func (s *Signatures) Reopen(ctx context.Context, req contract.ReopenRequest) (contract.SignatureDetail, error) {
	return s.change(ctx, contract.OpReopen, req)
}

// Retriage asks diagnose to diagnose a signature again now.
func (s *Signatures) Retriage(ctx context.Context, req contract.RetriageRequest) (contract.SignatureDetail, error) {
	return s.change(ctx, contract.OpRetriage, req)
}

// Tag adds and removes a signature's tags.
func (s *Signatures) Tag(ctx context.Context, req contract.TagRequest) (contract.SignatureDetail, error) {
	return s.change(ctx, contract.OpTag, req)
}

func (s *Signatures) change(ctx context.Context, op contract.ManageOp, req any) (contract.SignatureDetail, error) {
	var d contract.SignatureDetail
	return d, s.call(ctx, op, req, &d)
}

// Export calls fn with every signature (of project, when not empty) and
// all its occurrences, by project and id, fetching them page by page.
func (s *Signatures) Export(ctx context.Context, project string, fn func(contract.ExportedSignature) error) error {
	req := contract.ExportRequest{Project: project}
	var held *contract.ExportedSignature
	for {
		var page contract.ExportReply
		if err := s.call(ctx, contract.OpExport, req, &page); err != nil {
			return err
		}
		for i := range page.Signatures {
			e := page.Signatures[i]
			if held != nil && held.Project == e.Project && held.ID == e.ID {
				// The same signature, continued from the page before.
				held.Occurrences = append(held.Occurrences, e.Occurrences...)
				continue
			}
			if held != nil {
				if err := fn(*held); err != nil {
					return err
				}
			}
			held = &e
		}
		if page.Next == nil {
			break
		}
		if req.After != nil && *req.After == *page.Next {
			return fmt.Errorf("export: ingest returned the same page twice (at %s/%s)", page.Next.Project, page.Next.ID)
		}
		req.After = page.Next
	}
	if held != nil {
		return fn(*held)
	}
	return nil
}
