package contract

import (
	"fmt"
	"time"
)

// ReportPublished tells that a signature and its diagnosis were reported
// (rounds.report.v1), on rounds.reports.<project>. Anyone may subscribe.
type ReportPublished struct {
	Schema    string    `json:"schema"`
	ID        string    `json:"id"`
	Time      time.Time `json:"time"`
	Signature Signature `json:"signature"`
	Diagnosis Diagnosis `json:"diagnosis"`
	Reported  Reported  `json:"reported"`
}

// Reported says where a report went.
type Reported struct {
	// File is the markdown report's path relative to the reports directory.
	File     string `json:"file,omitempty"`
	IssueURL string `json:"issue_url,omitempty"`
}

// Validate reports the first reason the event cannot be processed.
func (e *ReportPublished) Validate() error {
	switch {
	case e.Schema != SchemaReport:
		return fmt.Errorf("%w: schema %q is not %q", ErrInvalidEvent, e.Schema, SchemaReport)
	case e.ID == "":
		return fmt.Errorf("%w: id is required", ErrInvalidEvent)
	case e.Signature.ID == "":
		return fmt.Errorf("%w: signature.id is required", ErrInvalidEvent)
	}
	return nil
}

// DecodeReportPublished decodes and validates a report event.
func DecodeReportPublished(data []byte) (ReportPublished, error) {
	var e ReportPublished
	if err := decodeStrict("report event", data, 4*MaxFailureBytes, &e); err != nil {
		return ReportPublished{}, err
	}
	if err := e.Validate(); err != nil {
		return ReportPublished{}, err
	}
	return e, nil
}
