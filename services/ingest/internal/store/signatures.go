package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rounds-dev/rounds/services/ingest/internal/signatures"
)

// A signature is stored under two keys, so that counting an occurrence
// rewrites a few dozen bytes rather than the whole record (its title,
// fingerprint components, audit trail and tags, a kilobyte or more):
//
//	sig/<project>/<id>    the record as JSON, with its counts zeroed;
//	                      rewritten only when something in it changed
//	sigc/<project>/<id>   its counts (below), rewritten with every batch
//	                      that counts an occurrence
//
// A read takes the JSON and puts the counts over it. A record written
// before the counts had their own key has none: its JSON holds its counts.
//
// The counts' value is a version byte (1), the occurrence count and
// PassesSinceFailure as uvarints, then FirstSeen, LastSeen and
// LastCounted (each time.Time's binary form, preceded by its length as a
// uvarint) and FirstCommit and LastCommit (each preceded by its length).
const prefixSignatureCounts = "sigc/"

const countsVersion = 1

func countsKey(project, id string) []byte { return []byte(prefixSignatureCounts + project + "/" + id) }

var errBadCounts = errors.New("malformed signature counts")

// coldJSON is a record's JSON without what counting an occurrence changes.
func coldJSON(rec *signatures.Record) ([]byte, error) {
	cold := *rec
	cold.Occurrences, cold.PassesSinceFailure = 0, 0
	cold.FirstSeen, cold.LastSeen, cold.LastCounted = time.Time{}, time.Time{}, time.Time{}
	cold.FirstCommit, cold.LastCommit = "", ""
	return json.Marshal(&cold)
}

func appendTime(b []byte, t time.Time) ([]byte, error) {
	v, err := t.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return append(binary.AppendUvarint(b, uint64(len(v))), v...), nil
}

func encodeCounts(rec *signatures.Record) ([]byte, error) {
	b := make([]byte, 0, 1+2*binary.MaxVarintLen64+3*16+2+len(rec.FirstCommit)+len(rec.LastCommit)+2)
	b = append(b, countsVersion)
	b = binary.AppendUvarint(b, uint64(rec.Occurrences))
	b = binary.AppendUvarint(b, uint64(rec.PassesSinceFailure))
	var err error
	for _, t := range [...]time.Time{rec.FirstSeen, rec.LastSeen, rec.LastCounted} {
		if b, err = appendTime(b, t); err != nil {
			return nil, err
		}
	}
	b = appendString(b, rec.FirstCommit)
	return appendString(b, rec.LastCommit), nil
}

func readUvarint(v []byte) (uint64, []byte, error) {
	n, used := binary.Uvarint(v)
	if used <= 0 {
		return 0, nil, errBadCounts
	}
	return n, v[used:], nil
}

func readTime(v []byte) (time.Time, []byte, error) {
	n, rest, err := readUvarint(v)
	if err != nil || uint64(len(rest)) < n {
		return time.Time{}, nil, errBadCounts
	}
	var t time.Time
	if err := t.UnmarshalBinary(rest[:n]); err != nil {
		return time.Time{}, nil, fmt.Errorf("%w: %w", errBadCounts, err)
	}
	return t, rest[n:], nil
}

// decodeCounts puts the counts in v over rec's.
func decodeCounts(v []byte, rec *signatures.Record) error {
	if len(v) == 0 || v[0] != countsVersion {
		return errBadCounts
	}
	rest := v[1:]
	occurrences, rest, err := readUvarint(rest)
	if err != nil {
		return err
	}
	passes, rest, err := readUvarint(rest)
	if err != nil {
		return err
	}
	var times [3]time.Time
	for i := range times {
		if times[i], rest, err = readTime(rest); err != nil {
			return err
		}
	}
	first, rest, err := readString(rest)
	if err != nil {
		return errBadCounts
	}
	last, rest, err := readString(rest)
	if err != nil || len(rest) != 0 {
		return errBadCounts
	}
	rec.Occurrences, rec.PassesSinceFailure = int64(occurrences), int64(passes)
	rec.FirstSeen, rec.LastSeen, rec.LastCounted = times[0], times[1], times[2]
	rec.FirstCommit, rec.LastCommit = first, last
	return nil
}

// readRecord decodes a record's JSON and puts its counts over it, when it
// has them.
func readRecord(txn *badger.Txn, item *badger.Item) (signatures.Record, error) {
	var rec signatures.Record
	if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &rec) }); err != nil {
		return rec, fmt.Errorf("decode signature %q: %w", item.Key(), err)
	}
	counts, err := txn.Get(countsKey(rec.Project, rec.ID))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return rec, nil
	}
	if err != nil {
		return rec, fmt.Errorf("read counts of signature %s/%s: %w", rec.Project, rec.ID, err)
	}
	if err := counts.Value(func(v []byte) error { return decodeCounts(v, &rec) }); err != nil {
		return rec, fmt.Errorf("decode counts of signature %s/%s: %w", rec.Project, rec.ID, err)
	}
	return rec, nil
}

// coldSum is the digest of the JSON last committed for a signature.
type coldSum = [sha256.Size]byte

// stageRecord stages a record's counts, and its JSON unless the JSON is
// what was last committed for it. It returns the JSON's key and digest
// when it staged it, for remember to note once the batch is committed.
func (s *Store) stageRecord(rec *signatures.Record, set func(*badger.Entry, string) error) (key string, sum coldSum, staged bool, err error) {
	counts, err := encodeCounts(rec)
	if err != nil {
		return "", sum, false, fmt.Errorf("encode counts of signature %s: %w", rec.ID, err)
	}
	if err := set(badger.NewEntry(countsKey(rec.Project, rec.ID), counts), "signature counts"); err != nil {
		return "", sum, false, err
	}
	v, err := coldJSON(rec)
	if err != nil {
		return "", sum, false, fmt.Errorf("encode signature %s: %w", rec.ID, err)
	}
	k := signatureKey(rec.Project, rec.ID)
	sum = sha256.Sum256(v)
	s.coldMu.Lock()
	last, ok := s.cold[string(k)]
	s.coldMu.Unlock()
	if ok && last == sum {
		return "", sum, false, nil
	}
	if err := set(badger.NewEntry(k, v), "signature"); err != nil {
		return "", sum, false, err
	}
	return string(k), sum, true, nil
}

// remember notes the JSON of signatures a committed batch wrote.
func (s *Store) remember(keys []string, sums []coldSum) {
	if len(keys) == 0 {
		return
	}
	s.coldMu.Lock()
	defer s.coldMu.Unlock()
	for i, k := range keys {
		s.cold[k] = sums[i]
	}
}
