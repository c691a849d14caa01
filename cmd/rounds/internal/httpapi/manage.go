package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/ingest/manage"
)

// Management routes: the operations of the signatures management API
// (package manage), which ingest also serves over NATS.
const (
	PathSignatures = "/v1/signatures"
	PathExport     = "/v1/export"
)

// Manager is the signatures management layer: *manage.Manager, which
// ingest.Service.Manager returns.
type Manager interface {
	List(ctx context.Context, req contract.ListRequest) (contract.ListReply, error)
	Show(ctx context.Context, req contract.ShowRequest) (contract.SignatureDetail, error)
	Mute(ctx context.Context, req contract.MuteRequest) (contract.SignatureDetail, error)
	Unmute(ctx context.Context, req contract.UnmuteRequest) (contract.SignatureDetail, error)
	Resolve(ctx context.Context, req contract.ResolveRequest) (contract.SignatureDetail, error)
	Reopen(ctx context.Context, req contract.ReopenRequest) (contract.SignatureDetail, error)
	Retriage(ctx context.Context, req contract.RetriageRequest) (contract.SignatureDetail, error)
	Tag(ctx context.Context, req contract.TagRequest) (contract.SignatureDetail, error)
	Export(ctx context.Context, req contract.ExportRequest) (contract.ExportReply, error)
}

// AddManagement adds the management routes over m.
func (a *API) AddManagement(m Manager) {
	a.AddRoute("GET "+PathSignatures, "signatures_list", a.list(m))
	a.AddRoute("GET "+PathSignatures+"/{project}/{id}", "signatures_show", a.show(m))
	a.AddRoute("GET "+PathExport, "export", a.export(m))
	changes := []struct {
		op contract.ManageOp
		do func(ctx context.Context, ref contract.SignatureRef, body io.Reader) (contract.SignatureDetail, error)
	}{
		{contract.OpMute, change(m.Mute, func(r *contract.MuteRequest) *contract.SignatureRef { return &r.SignatureRef })},
		{contract.OpUnmute, change(m.Unmute, func(r *contract.UnmuteRequest) *contract.SignatureRef { return &r.SignatureRef })},
		{contract.OpResolve, change(m.Resolve, func(r *contract.ResolveRequest) *contract.SignatureRef { return &r.SignatureRef })},
		{contract.OpReopen, change(m.Reopen, func(r *contract.ReopenRequest) *contract.SignatureRef { return &r.SignatureRef })},
		{contract.OpRetriage, change(m.Retriage, func(r *contract.RetriageRequest) *contract.SignatureRef { return &r.SignatureRef })},
		{contract.OpTag, change(m.Tag, func(r *contract.TagRequest) *contract.SignatureRef { return &r.SignatureRef })},
	}
	for _, c := range changes {
		a.AddRoute("POST "+PathSignatures+"/{project}/{id}/"+string(c.op), "signatures_"+string(c.op),
			func(w http.ResponseWriter, r *http.Request) (int, error) {
				ref := contract.SignatureRef{Project: r.PathValue("project"), ID: r.PathValue("id")}
				d, err := c.do(r.Context(), ref, r.Body)
				if err != nil {
					return writeManageError(w, err)
				}
				return writeJSON(w, http.StatusOK, d)
			})
	}
}

// change decodes the JSON body of a change into its request, takes the
// signature from the path, and calls do.
func change[R any](do func(context.Context, R) (contract.SignatureDetail, error), ref func(*R) *contract.SignatureRef) func(context.Context, contract.SignatureRef, io.Reader) (contract.SignatureDetail, error) {
	return func(ctx context.Context, path contract.SignatureRef, body io.Reader) (contract.SignatureDetail, error) {
		var req R
		dec := json.NewDecoder(body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New(`the body is empty: send at least {"by": "who makes the change"}`)
			}
			return contract.SignatureDetail{}, fmt.Errorf("%w: read request body: %v", manage.ErrInvalidRequest, err)
		}
		// The path names the signature; a body that names another is a
		// mistake worth refusing rather than guessing.
		r := ref(&req)
		if (r.Project != "" && r.Project != path.Project) || (r.ID != "" && r.ID != path.ID) {
			return contract.SignatureDetail{}, fmt.Errorf("%w: the body names signature %s/%s, the path %s/%s", manage.ErrInvalidRequest, r.Project, r.ID, path.Project, path.ID)
		}
		*r = path
		return do(ctx, req)
	}
}

func (a *API) list(m Manager) func(w http.ResponseWriter, r *http.Request) (int, error) {
	return func(w http.ResponseWriter, r *http.Request) (int, error) {
		q := r.URL.Query()
		req := contract.ListRequest{
			Project: q.Get("project"),
			Status:  contract.SignatureStatus(q.Get("status")),
			Tag:     q.Get("tag"),
			Sort:    contract.ListSort(q.Get("sort")),
		}
		if s := q.Get("flaky"); s != "" {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return writeError(w, http.StatusBadRequest, fmt.Errorf("flaky %q: use true or false", s))
			}
			req.Flaky = &b
		}
		if s := q.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return writeError(w, http.StatusBadRequest, fmt.Errorf("limit %q: use a whole number", s))
			}
			req.Limit = n
		}
		reply, err := m.List(r.Context(), req)
		if err != nil {
			return writeManageError(w, err)
		}
		return writeJSON(w, http.StatusOK, reply)
	}
}

func (a *API) show(m Manager) func(w http.ResponseWriter, r *http.Request) (int, error) {
	return func(w http.ResponseWriter, r *http.Request) (int, error) {
		d, err := m.Show(r.Context(), contract.ShowRequest{SignatureRef: contract.SignatureRef{Project: r.PathValue("project"), ID: r.PathValue("id")}})
		if err != nil {
			return writeManageError(w, err)
		}
		return writeJSON(w, http.StatusOK, d)
	}
}

func (a *API) export(m Manager) func(w http.ResponseWriter, r *http.Request) (int, error) {
	return func(w http.ResponseWriter, r *http.Request) (int, error) {
		q := r.URL.Query()
		req := contract.ExportRequest{Project: q.Get("project")}
		if p, id := q.Get("after_project"), q.Get("after_id"); p != "" || id != "" {
			req.After = &contract.ExportCursor{Project: p, ID: id}
			if s := q.Get("after_skip"); s != "" {
				n, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					return writeError(w, http.StatusBadRequest, fmt.Errorf("after_skip %q: use a whole number", s))
				}
				req.After.Skip = n
			}
		}
		reply, err := m.Export(r.Context(), req)
		if err != nil {
			return writeManageError(w, err)
		}
		return writeJSON(w, http.StatusOK, reply)
	}
}

// writeManageError answers an error of the management layer with the
// status its code spells (400, 404, 409, 503 or 500).
func writeManageError(w http.ResponseWriter, err error) (int, error) {
	return writeError(w, manage.Code(err), err)
}
