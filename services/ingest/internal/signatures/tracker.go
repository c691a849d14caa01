// Package signatures keeps the signatures of failures: it records each
// occurrence on its signature and decides which changes are worth
// announcing. It knows neither Badger nor NATS.
package signatures

import (
	"fmt"
	"math/bits"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/ingest/grouping"
)

// Repository loads a signature that is not in memory yet.
type Repository interface {
	// Signature returns the stored signature, or found=false.
	Signature(project, id string) (sig contract.Signature, found bool, err error)
}

// Tracker applies occurrences to signatures, keeping every signature it has
// seen in memory: there are few signatures and many occurrences, so the hot
// path reads no database.
type Tracker struct {
	repo  Repository
	cache map[key]*contract.Signature
}

type key struct{ project, id string }

// NewTracker returns a tracker loading signatures from repo.
func NewTracker(repo Repository) *Tracker {
	return &Tracker{repo: repo, cache: map[key]*contract.Signature{}}
}

// Forget drops every signature held in memory. Call it when a batch whose
// changes are already applied here could not be stored, so memory goes back
// to what the repository holds.
func (t *Tracker) Forget() {
	clear(t.cache)
}

// Record applies one occurrence, grouped as g, to its signature. It returns
// the signature after the change and the changes worth announcing.
func (t *Tracker) Record(f *contract.Failure, g grouping.Result) (*contract.Signature, []contract.SignatureChange, error) {
	k := key{f.Project, grouping.SignatureID(f.Project, g.Fingerprint)}
	sig, ok := t.cache[k]
	if !ok {
		stored, found, err := t.repo.Signature(k.project, k.id)
		if err != nil {
			return nil, nil, fmt.Errorf("load signature %s/%s: %w", k.project, k.id, err)
		}
		if found {
			sig = &stored
			t.cache[k] = sig
		}
	}
	if sig == nil {
		sig = newSignature(k.id, f, g)
		t.cache[k] = sig
		return sig, []contract.SignatureChange{contract.ChangeDetected}, nil
	}
	return sig, recur(sig, f), nil
}

func newSignature(id string, f *contract.Failure, g grouping.Result) *contract.Signature {
	sig := &contract.Signature{
		ID:                 id,
		Project:            f.Project,
		Fingerprint:        g.Fingerprint,
		FingerprintVersion: grouping.Version,
		Title:              g.Title,
		Kind:               f.Kind,
		ErrorType:          f.Error.Type,
		MessageTemplate:    g.Template,
		Components:         g.Components,
		Status:             contract.StatusNew,
		Occurrences:        1,
		FirstSeen:          f.Time,
		LastSeen:           f.Time,
		FirstCommit:        f.Run.Commit,
		LastCommit:         f.Run.Commit,
	}
	if f.Test != nil {
		test := *f.Test
		sig.Test = &test
	}
	if f.Service != nil {
		svc := *f.Service
		sig.Service = &svc
	}
	return sig
}

// recur counts another occurrence. A resolved signature seen again has
// regressed; otherwise growth is announced on the 2nd, 4th, 8th...
// occurrence, so that diagnose hears of a growing bug without hearing of
// every occurrence.
func recur(sig *contract.Signature, f *contract.Failure) []contract.SignatureChange {
	sig.Occurrences++
	if f.Time.Before(sig.FirstSeen) {
		sig.FirstSeen = f.Time
		if f.Run.Commit != "" {
			sig.FirstCommit = f.Run.Commit
		}
	}
	if !f.Time.Before(sig.LastSeen) {
		sig.LastSeen = f.Time
		if f.Run.Commit != "" {
			sig.LastCommit = f.Run.Commit
		}
	}
	if sig.FirstCommit == "" {
		sig.FirstCommit = f.Run.Commit
	}
	if sig.Status == contract.StatusResolved {
		sig.Status = contract.StatusRegressed
		sig.Regressed = true
		return []contract.SignatureChange{contract.ChangeRegressed}
	}
	if bits.OnesCount64(uint64(sig.Occurrences)) == 1 {
		return []contract.SignatureChange{contract.ChangeRecurred}
	}
	return nil
}
