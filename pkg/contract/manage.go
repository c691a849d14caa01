package contract

import (
	"fmt"
	"time"
)

// The signatures management API: a request/reply service over NATS, built
// with nats.go's micro package (so `nats micro ls` lists it), which ingest
// serves because ingest owns the signatures. Each operation is an endpoint
// on ManageSubjectPrefix.<op>; a request is one of the *Request types below
// as JSON, a reply one of the reply types, and an error a micro error
// (headers Nats-Service-Error-Code and Nats-Service-Error) whose body is a
// ManageError. The subjects are outside every Rounds stream.
const (
	// ManageServiceName is the micro service's name.
	ManageServiceName = "rounds-signatures"
	// ManageServiceVersion is the version of the API (SemVer).
	ManageServiceVersion = "1.0.0"
	// ManageSubjectPrefix is the subject of the service's endpoint group.
	ManageSubjectPrefix = "rounds.manage.signatures"
)

// ManageOp names an operation of the management API, the last token of its
// subject.
type ManageOp string

// Operations of the management API.
const (
	OpList     ManageOp = "list"
	OpShow     ManageOp = "show"
	OpMute     ManageOp = "mute"
	OpUnmute   ManageOp = "unmute"
	OpResolve  ManageOp = "resolve"
	OpReopen   ManageOp = "reopen"
	OpRetriage ManageOp = "retriage"
	OpTag      ManageOp = "tag"
	OpExport   ManageOp = "export"
)

// ManageOps lists every operation, in the order the docs give them.
func ManageOps() []ManageOp {
	return []ManageOp{OpList, OpShow, OpMute, OpUnmute, OpResolve, OpReopen, OpRetriage, OpTag, OpExport}
}

// ManageSubject is the subject a request for op is sent to.
func ManageSubject(op ManageOp) string { return ManageSubjectPrefix + "." + string(op) }

// Signature changes announced by the management operations that leave the
// status as it is.
const (
	// ChangeRetriage asks diagnose to diagnose the signature again now,
	// whatever its cooldown.
	ChangeRetriage SignatureChange = "retriage"
	// ChangeTagged says the signature's tags changed (the reason lists
	// them).
	ChangeTagged SignatureChange = "tagged"
)

// Codes of ManageError, as HTTP spells them.
const (
	ManageCodeInvalid     = 400 // the request is wrong
	ManageCodeNotFound    = 404 // no signature has the project and id
	ManageCodeConflict    = 409 // the signature's status does not allow the change
	ManageCodeInternal    = 500 // ingest failed to do it
	ManageCodeUnavailable = 503 // ingest is not running (starting, stopping)
)

// ManageError is the body of an error reply.
type ManageError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *ManageError) Error() string { return fmt.Sprintf("%s (%d)", e.Message, e.Code) }

// SignatureRef names a signature.
type SignatureRef struct {
	Project string `json:"project"`
	ID      string `json:"id"`
}

// Validate reports what is wrong with the reference.
func (r SignatureRef) Validate() error {
	switch {
	case !ValidToken(r.Project):
		return fmt.Errorf("project %q: use 1-64 of A-Z a-z 0-9 - _", r.Project)
	case r.ID == "":
		return fmt.Errorf("id is required")
	case len(r.ID) > 256:
		return fmt.Errorf("id is longer than 256 bytes")
	}
	return nil
}

// ChangedBy says who asks for a change and why: the audit entry's actor
// and reason.
type ChangedBy struct {
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
}

// Validate reports what is wrong with who.
func (c ChangedBy) Validate() error {
	switch {
	case c.By == "":
		return fmt.Errorf("by is required: say who makes the change")
	case len(c.By) > 128:
		return fmt.Errorf("by is longer than 128 bytes")
	case len(c.Reason) > 1024:
		return fmt.Errorf("reason is longer than 1024 bytes")
	}
	return nil
}

// ListSort orders a list.
type ListSort string

// Orders of a list.
const (
	SortLastSeen ListSort = "last_seen" // most recently seen first (the default)
	SortCount    ListSort = "count"     // most occurrences first
	SortID       ListSort = "id"        // by project, then id
)

// ListRequest asks for the signatures matching every filter given.
type ListRequest struct {
	Project string          `json:"project,omitempty"`
	Status  SignatureStatus `json:"status,omitempty"`
	// Flaky, when set, keeps only the flaky signatures (true) or those
	// that are not (false).
	Flaky *bool    `json:"flaky,omitempty"`
	Tag   string   `json:"tag,omitempty"`
	Sort  ListSort `json:"sort,omitempty"`
	// Limit is the most signatures in the reply; 0: all of them.
	Limit int `json:"limit,omitempty"`
}

// Validate reports what is wrong with the request.
func (r ListRequest) Validate() error {
	switch {
	case r.Project != "" && !ValidToken(r.Project):
		return fmt.Errorf("project %q: use 1-64 of A-Z a-z 0-9 - _", r.Project)
	case r.Status != "" && !r.Status.Known():
		return fmt.Errorf("status %q is unknown (new, diagnosing, diagnosed, resolved, muted, regressed)", r.Status)
	case r.Sort != "" && r.Sort != SortLastSeen && r.Sort != SortCount && r.Sort != SortID:
		return fmt.Errorf("sort %q is unknown (last_seen, count, id)", r.Sort)
	case r.Limit < 0:
		return fmt.Errorf("limit must not be negative, got %d", r.Limit)
	}
	return nil
}

// Known reports whether s is a status of the lifecycle.
func (s SignatureStatus) Known() bool {
	switch s {
	case StatusNew, StatusDiagnosing, StatusDiagnosed, StatusResolved, StatusMuted, StatusRegressed:
		return true
	}
	return false
}

// ListReply lists the signatures that matched, in the order asked for.
type ListReply struct {
	Signatures []SignatureSummary `json:"signatures"`
	// Total counts the signatures that matched, Limit aside.
	Total int `json:"total"`
	// ByStatus counts the signatures that matched by status, Limit aside.
	ByStatus map[SignatureStatus]int `json:"by_status"`
}

// SignatureSummary is a signature as a list shows it.
type SignatureSummary struct {
	ID        string          `json:"id"`
	Project   string          `json:"project"`
	Title     string          `json:"title"`
	Kind      FailureKind     `json:"kind"`
	Status    SignatureStatus `json:"status"`
	Flaky     bool            `json:"flaky"`
	Regressed bool            `json:"regressed"`
	Count     int64           `json:"count"`
	FirstSeen time.Time       `json:"first_seen"`
	LastSeen  time.Time       `json:"last_seen"`
	Tags      []string        `json:"tags,omitempty"`
}

// ShowRequest asks for one signature.
type ShowRequest struct {
	SignatureRef
}

// MuteRequest mutes a signature until Until (zero: no end in time), until
// Occurrences more have come (0: no end in count), whichever comes first,
// or, with neither, until it is unmuted. Muting a muted signature changes
// the terms.
type MuteRequest struct {
	SignatureRef
	ChangedBy
	Until       time.Time `json:"until,omitzero"`
	Occurrences int64     `json:"occurrences,omitempty"`
}

// UnmuteRequest ends a mute.
type UnmuteRequest struct {
	SignatureRef
	ChangedBy
}

// ResolveRequest resolves a signature, in a commit when given: an
// occurrence on that commit leaves it resolved, one on a later commit is a
// regression.
type ResolveRequest struct {
	SignatureRef
	ChangedBy
	InCommit string `json:"in_commit,omitempty"`
}

// ReopenRequest reopens a resolved signature.
type ReopenRequest struct {
	SignatureRef
	ChangedBy
}

// RetriageRequest asks diagnose to diagnose a signature again now.
type RetriageRequest struct {
	SignatureRef
	ChangedBy
}

// TagRequest adds and removes tags (Remove first, then Add).
type TagRequest struct {
	SignatureRef
	ChangedBy
	Add    []string `json:"add,omitempty"`
	Remove []string `json:"remove,omitempty"`
}

// MaxTags bounds the tags of a signature.
const MaxTags = 32

// ValidTag reports whether s can be a tag: 1 to 64 of ASCII letters,
// digits and - _ . : /.
func ValidTag(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '/':
		default:
			return false
		}
	}
	return true
}

// SignatureDetail is a signature with its lifecycle: the reply of show and
// of every change.
type SignatureDetail struct {
	Signature
	Mute               *MuteTerms      `json:"mute,omitempty"`
	Resolution         *ResolutionInfo `json:"resolution,omitempty"`
	FlakyReason        string          `json:"flaky_reason,omitempty"`
	FailureRate        *FailureRate    `json:"failure_rate,omitempty"`
	PassesSinceFailure int64           `json:"passes_since_failure,omitempty"`
	// Audit lists the latest changes, oldest first.
	Audit []AuditRecord `json:"audit,omitempty"`
}

// MuteTerms are the terms of a mute.
type MuteTerms struct {
	Until time.Time `json:"until,omitzero"`
	// UntilCount is the occurrence count at which the mute ends; 0: none.
	UntilCount int64           `json:"until_count,omitempty"`
	Previous   SignatureStatus `json:"previous"`
	By         string          `json:"by"`
	Reason     string          `json:"reason,omitempty"`
	At         time.Time       `json:"at"`
}

// ResolutionInfo says where and when a signature was resolved.
type ResolutionInfo struct {
	Commit   string          `json:"commit,omitempty"`
	At       time.Time       `json:"at"`
	Auto     bool            `json:"auto,omitempty"`
	Previous SignatureStatus `json:"previous"`
}

// FailureRate is how often a signature's test failed with it over the
// flakiness window: on how many of the commits it ran on.
type FailureRate struct {
	Failed  int `json:"failed"`
	Commits int `json:"commits"`
}

// AuditRecord is one audited change: who, when, what and why.
type AuditRecord struct {
	Seq    int64           `json:"seq"`
	At     time.Time       `json:"at"`
	Actor  string          `json:"actor"`
	Action string          `json:"action"`
	From   SignatureStatus `json:"from"`
	To     SignatureStatus `json:"to"`
	Reason string          `json:"reason,omitempty"`
}

// ExportRequest asks for a page of the export: every signature (of
// Project, when given) with its occurrences, by project and id, from
// After on.
type ExportRequest struct {
	Project string        `json:"project,omitempty"`
	After   *ExportCursor `json:"after,omitempty"`
}

// ExportCursor is where a page of the export starts: at signature
// Project/ID, skipping its first Skip occurrences (a signature with more
// occurrences than fit in one reply spans several pages).
type ExportCursor struct {
	Project string `json:"project"`
	ID      string `json:"id"`
	Skip    int64  `json:"skip,omitempty"`
}

// ExportReply is a page of the export. A signature continued from the
// previous page comes first, with the rest of its occurrences; Next is
// where the next page starts, nil after the last.
type ExportReply struct {
	Signatures []ExportedSignature `json:"signatures"`
	Next       *ExportCursor       `json:"next,omitempty"`
}

// ExportedSignature is a signature as `rounds signatures export` writes
// it: Count is the number of occurrences ingest counted, Occurrences the
// occurrences themselves.
type ExportedSignature struct {
	ID          string          `json:"id"`
	Fingerprint string          `json:"fingerprint"`
	Project     string          `json:"project"`
	Title       string          `json:"title"`
	Status      SignatureStatus `json:"status"`
	Flaky       bool            `json:"flaky"`
	Count       int64           `json:"count"`
	FirstSeen   time.Time       `json:"first_seen"`
	LastSeen    time.Time       `json:"last_seen"`
	Tags        []string        `json:"tags,omitempty"`
	Occurrences []Occurrence    `json:"occurrences"`
}
