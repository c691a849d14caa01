package manage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/rounds-dev/rounds/pkg/contract"
)

// requestTimeout bounds one operation: a change waits for ingest's loop to
// finish the batch in hand.
const requestTimeout = 30 * time.Second

// maxRequestBytes bounds a request's JSON.
const maxRequestBytes = 64 << 10

// Serve registers the management API on nc as the micro service
// contract.ManageServiceName, one endpoint per operation under
// contract.ManageSubjectPrefix, and serves it until ctx ends or Stop is
// called on what it returns. Requests are answered in parallel with
// ingest's work; each change then waits its turn in ingest's loop.
func Serve(ctx context.Context, nc *nats.Conn, m *Manager, log *slog.Logger) (micro.Service, error) {
	svc, err := micro.AddService(nc, micro.Config{
		Name:        contract.ManageServiceName,
		Version:     contract.ManageServiceVersion,
		Description: "Rounds: manage signatures (list, show, mute, unmute, resolve, reopen, retriage, tag, export)",
		Metadata:    map[string]string{"service": "ingest"},
		ErrorHandler: func(_ micro.Service, e *micro.NATSError) {
			log.Warn("management API", "subject", e.Subject, "error", e.Description)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("add micro service %s: %w", contract.ManageServiceName, err)
	}
	g := svc.AddGroup(contract.ManageSubjectPrefix)
	add := func(op contract.ManageOp, h func(context.Context, []byte) (any, error)) error {
		handler := micro.ContextHandler(ctx, func(ctx context.Context, req micro.Request) {
			ctx, cancel := context.WithTimeout(ctx, requestTimeout)
			defer cancel()
			reply, err := h(ctx, req.Data())
			if err != nil {
				respondError(req, op, err, log)
				return
			}
			if err := req.RespondJSON(reply); err != nil {
				log.Warn("management API: reply not sent", "op", op, "error", err)
			}
		})
		if err := g.AddEndpoint(string(op), handler, micro.WithEndpointMetadata(map[string]string{"op": string(op)})); err != nil {
			return fmt.Errorf("add endpoint %s: %w", op, err)
		}
		return nil
	}
	ops := []struct {
		op contract.ManageOp
		h  func(context.Context, []byte) (any, error)
	}{
		{contract.OpList, handle(m.List)},
		{contract.OpShow, handle(m.Show)},
		{contract.OpMute, handle(m.Mute)},
		{contract.OpUnmute, handle(m.Unmute)},
		{contract.OpResolve, handle(m.Resolve)},
		{contract.OpReopen, handle(m.Reopen)},
		{contract.OpRetriage, handle(m.Retriage)},
		{contract.OpTag, handle(m.Tag)},
		{contract.OpExport, handle(m.Export)},
	}
	for _, o := range ops {
		if err := add(o.op, o.h); err != nil {
			_ = svc.Stop()
			return nil, err
		}
	}
	go func() {
		<-ctx.Done()
		_ = svc.Stop()
	}()
	return svc, nil
}

// handle adapts a Manager method to a handler of raw JSON: an empty body
// is the zero request; unknown fields are refused, so that a typo does not
// silently become "no filter".
func handle[Req, Reply any](fn func(context.Context, Req) (Reply, error)) func(context.Context, []byte) (any, error) {
	return func(ctx context.Context, data []byte) (any, error) {
		var req Req
		if len(data) > maxRequestBytes {
			return nil, fmt.Errorf("%w: request is %d bytes, more than %d", ErrInvalidRequest, len(data), maxRequestBytes)
		}
		if len(bytes.TrimSpace(data)) > 0 {
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				return nil, fmt.Errorf("%w: decode request: %v", ErrInvalidRequest, err)
			}
		}
		return fn(ctx, req)
	}
}

// respondError replies with a micro error: the code and message in the
// headers, and a contract.ManageError as the body.
func respondError(req micro.Request, op contract.ManageOp, err error, log *slog.Logger) {
	code := Code(err)
	msg := err.Error()
	if errors.Is(err, context.DeadlineExceeded) {
		msg = fmt.Sprintf("%s: ingest did not answer within %s", op, requestTimeout)
	}
	if code == contract.ManageCodeInternal {
		log.Error("management API: operation failed", "op", op, "error", err)
	}
	body, _ := json.Marshal(contract.ManageError{Code: code, Message: msg})
	if rerr := req.Error(strconv.Itoa(code), msg, body); rerr != nil {
		log.Warn("management API: error reply not sent", "op", op, "error", rerr)
	}
}
