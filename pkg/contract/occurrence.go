package contract

import "time"

// Occurrence is one counted failure of a signature, as it was published:
// what `rounds signatures export` lists per signature and what ingest keeps
// in its state next to the count (recorded in the same transaction, so the
// list and the count agree).
type Occurrence struct {
	// EventID is the failure's id (Failure.ID): unique per occurrence.
	EventID string `json:"event_id"`
	// RunID and Commit are the failure's Run.ID and Run.Commit, when given.
	RunID  string `json:"run_id,omitempty"`
	Commit string `json:"commit,omitempty"`
	// Time is the failure's time.
	Time time.Time `json:"time"`
	// Test is the test identity as published (suite and name); nil for
	// runtime errors.
	Test *OccurrenceTest `json:"test,omitempty"`
}

// OccurrenceTest is the part of a TestIdentity an occurrence keeps.
type OccurrenceTest struct {
	Suite string `json:"suite,omitempty"`
	Name  string `json:"name"`
}

// OccurrenceOf returns the occurrence f makes.
func OccurrenceOf(f *Failure) Occurrence {
	o := Occurrence{EventID: f.ID, RunID: f.Run.ID, Commit: f.Run.Commit, Time: f.Time}
	if f.Test != nil {
		o.Test = &OccurrenceTest{Suite: f.Test.Suite, Name: f.Test.Name}
	}
	return o
}
