package markdown

import (
	"context"
	"fmt"

	"github.com/rounds-dev/rounds/services/report/internal/sink"
)

// Pages reads the signatures' pages.
type Pages interface {
	Page(signatureID string) (*sink.Page, error)
	Pages() ([]sink.Page, error)
}

// Sink keeps one markdown file per signature and summary.md under a
// reports directory. Every delivery rewrites the signature's page from the
// state as it is then, so a repeated delivery writes the same bytes and
// deliveries that queued up coalesce. The summary, rendered from every
// page, is rewritten when the runner settles the sink (sink.Settler): once
// per burst of deliveries rather than once per delivery.
type Sink struct {
	dir   string
	pages Pages
}

// NewSink returns the markdown sink writing under dir.
func NewSink(dir string, pages Pages) *Sink { return &Sink{dir: dir, pages: pages} }

// Name is "markdown".
func (s *Sink) Name() string { return sink.Markdown }

// Wants every delivery: each changes the page or the summary.
func (s *Sink) Wants(*sink.Delivery) bool { return true }

// Deliver rewrites the page of d's signature.
func (s *Sink) Deliver(_ context.Context, d *sink.Delivery) error {
	p, err := s.pages.Page(d.SignatureID)
	if err != nil {
		return err
	}
	if p == nil {
		return fmt.Errorf("%w: signature %s has no page", sink.ErrPermanent, d.SignatureID)
	}
	_, err = Write(s.dir, p.File, RenderPage(*p))
	return err
}

// Settle rewrites summary.md from every page; with no page yet, there is
// nothing to sum up and nothing is written.
func (s *Sink) Settle(context.Context) error {
	pages, err := s.pages.Pages()
	if err != nil || len(pages) == 0 {
		return err
	}
	_, err = Write(s.dir, SummaryName, RenderSummary(pages))
	return err
}
