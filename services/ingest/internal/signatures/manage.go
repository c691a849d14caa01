package signatures

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rounds-dev/rounds/pkg/contract"
)

// Audit actions of the changes that leave the status as it is.
const (
	ActionRetriage = "retriage"
	ActionTagged   = "tagged"
)

// Each calls fn with a copy of every signature held, in no order.
func (t *Tracker) Each(fn func(Record)) {
	for _, r := range t.records {
		fn(r.Clone())
	}
}

// Retriage asks for the signature to be diagnosed again now: it is
// audited and announced as a retriage change, which diagnose takes
// whatever its cooldown. The status stays as it is.
func (t *Tracker) Retriage(u *Unit, project, id string, who Who) (*Record, error) {
	rec, err := t.lookup(project, id)
	if err != nil {
		return nil, err
	}
	rec.audit(u.Now, who, ActionRetriage, rec.Status, who.Reason)
	u.touch(rec)
	t.emitAudited(u, rec, contract.ChangeRetriage, describe("retriage asked", who))
	return rec, nil
}

// Tag removes the tags remove, then adds the tags add; the tags stay
// sorted, each once. A change is audited and announced as a tagged
// change; a request that changes nothing changes nothing.
func (t *Tracker) Tag(u *Unit, project, id string, add, remove []string, who Who) (*Record, error) {
	rec, err := t.lookup(project, id)
	if err != nil {
		return nil, err
	}
	if len(add) == 0 && len(remove) == 0 {
		return nil, fmt.Errorf("%w: no tag to add or remove", ErrInvalidRequest)
	}
	for _, tag := range slices.Concat(add, remove) {
		if !contract.ValidTag(tag) {
			return nil, fmt.Errorf("%w: tag %q: use 1-64 of A-Z a-z 0-9 - _ . : /", ErrInvalidRequest, tag)
		}
	}
	tags := slices.DeleteFunc(slices.Clone(rec.Tags), func(tag string) bool { return slices.Contains(remove, tag) })
	tags = append(tags, add...)
	slices.Sort(tags)
	tags = slices.Compact(tags)
	if len(tags) > contract.MaxTags {
		return nil, fmt.Errorf("%w: %d tags, more than %d", ErrInvalidRequest, len(tags), contract.MaxTags)
	}
	if slices.Equal(tags, rec.Tags) {
		return rec, nil
	}
	var what []string
	for _, tag := range rec.Tags {
		if !slices.Contains(tags, tag) {
			what = append(what, "-"+tag)
		}
	}
	for _, tag := range tags {
		if !slices.Contains(rec.Tags, tag) {
			what = append(what, "+"+tag)
		}
	}
	change := strings.Join(what, " ")
	if len(tags) == 0 {
		tags = nil
	}
	// A new slice: copies handed out share the old one.
	rec.Tags = tags
	reason := change
	if who.Reason != "" {
		reason += ": " + who.Reason
	}
	rec.audit(u.Now, who, ActionTagged, rec.Status, reason)
	u.touch(rec)
	t.emitAudited(u, rec, contract.ChangeTagged, describe("tagged "+change, who))
	return rec, nil
}

// emitAudited adds an event for a change numbered by the signature's audit
// sequence, as status changes are: each retriage or tag change is its own
// event, however many occurrences the signature has.
func (t *Tracker) emitAudited(u *Unit, rec *Record, ch contract.SignatureChange, reason string) {
	u.Events = append(u.Events, Event{
		ID:        fmt.Sprintf("%s.%s.%d", rec.ID, ch, rec.AuditSeq),
		Change:    ch,
		Reason:    reason,
		Signature: rec.Signature,
	})
}
