package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rounds-dev/rounds/pkg/contract"
)

// An occurrence's key is
//
//	o/<project> 0 <signature id> 0 <n: 8 bytes, big endian>
//
// where n is the signature's count once the occurrence was counted (1 for
// the first): the occurrences of a signature are one prefix, in the order
// they were counted, and a signature's list ends at its count. Its value
// is the failure's time (unix nanoseconds, 8 bytes) then, each preceded by
// its length as a uvarint, the event id, run id, commit and, when the
// failure is a test's, a 1 then the suite and name.
//
// Occurrences have no TTL: they are kept as long as their count is.
const prefixOccurrence = "o/"

// Occurrence is one counted occurrence of a signature, to store with the
// batch that counts it.
type Occurrence struct {
	Project, Signature string
	// N is the signature's count with this occurrence.
	N          int64
	Occurrence contract.Occurrence
}

func occurrencePrefix(project, id string) []byte {
	k := make([]byte, 0, len(prefixOccurrence)+len(project)+len(id)+2+8)
	k = append(k, prefixOccurrence...)
	k = append(k, project...)
	k = append(k, 0)
	k = append(k, id...)
	return append(k, 0)
}

func (o *Occurrence) key() []byte {
	return binary.BigEndian.AppendUint64(occurrencePrefix(o.Project, o.Signature), uint64(o.N))
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func (o *Occurrence) value() []byte {
	oc := &o.Occurrence
	n := 8 + 3*binary.MaxVarintLen16 + len(oc.EventID) + len(oc.RunID) + len(oc.Commit)
	if oc.Test != nil {
		n += 1 + 2*binary.MaxVarintLen16 + len(oc.Test.Suite) + len(oc.Test.Name)
	}
	v := make([]byte, 8, n)
	binary.BigEndian.PutUint64(v, uint64(oc.Time.UnixNano()))
	v = appendString(v, oc.EventID)
	v = appendString(v, oc.RunID)
	v = appendString(v, oc.Commit)
	if oc.Test != nil {
		v = append(v, 1)
		v = appendString(v, oc.Test.Suite)
		v = appendString(v, oc.Test.Name)
	}
	return v
}

var errBadOccurrence = errors.New("malformed occurrence")

func readString(v []byte) (string, []byte, error) {
	n, used := binary.Uvarint(v)
	if used <= 0 || uint64(len(v)-used) < n {
		return "", nil, errBadOccurrence
	}
	return string(v[used : used+int(n)]), v[used+int(n):], nil
}

func decodeOccurrence(v []byte) (contract.Occurrence, error) {
	var o contract.Occurrence
	if len(v) < 8 {
		return o, errBadOccurrence
	}
	o.Time = time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
	rest := v[8:]
	var err error
	for _, s := range []*string{&o.EventID, &o.RunID, &o.Commit} {
		if *s, rest, err = readString(rest); err != nil {
			return o, err
		}
	}
	if len(rest) == 0 {
		return o, nil
	}
	if rest[0] != 1 {
		return o, errBadOccurrence
	}
	o.Test = &contract.OccurrenceTest{}
	if o.Test.Suite, rest, err = readString(rest[1:]); err != nil {
		return o, err
	}
	if o.Test.Name, rest, err = readString(rest); err != nil {
		return o, err
	}
	if len(rest) != 0 {
		return o, errBadOccurrence
	}
	return o, nil
}

// splitOccurrenceKey returns the project, signature id and number of an
// occurrence key.
func splitOccurrenceKey(k []byte) (project, id string, n int64, ok bool) {
	rest := k[len(prefixOccurrence):]
	if len(rest) < 8+1 || rest[len(rest)-9] != 0 {
		return "", "", 0, false
	}
	n = int64(binary.BigEndian.Uint64(rest[len(rest)-8:]))
	p, sig, found := bytes.Cut(rest[:len(rest)-9], []byte{0})
	if !found {
		return "", "", 0, false
	}
	return string(p), string(sig), n, true
}

// Occurrences calls fn with the occurrences of a signature in the order
// they were counted, read in one snapshot with the signature's count;
// found is false when the signature is not stored.
func (s *Store) Occurrences(project, id string, fn func(contract.Occurrence) error) (found bool, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		if _, err := txn.Get(signatureKey(project, id)); err != nil {
			if errors.Is(err, badger.ErrKeyNotFound) {
				return nil
			}
			return fmt.Errorf("read signature %s/%s: %w", project, id, err)
		}
		found = true
		return iterateOccurrences(txn, occurrencePrefix(project, id), func(_, _ string, o contract.Occurrence) error { return fn(o) })
	})
	return found, err
}

// AllOccurrences calls fn with every stored occurrence, signature by
// signature, each signature's in the order they were counted.
func (s *Store) AllOccurrences(fn func(project, id string, o contract.Occurrence) error) error {
	return s.db.View(func(txn *badger.Txn) error {
		return iterateOccurrences(txn, []byte(prefixOccurrence), fn)
	})
}

func iterateOccurrences(txn *badger.Txn, prefix []byte, fn func(project, id string, o contract.Occurrence) error) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		project, id, _, ok := splitOccurrenceKey(item.Key())
		if !ok {
			return fmt.Errorf("read occurrence %q: %w", item.Key(), errBadOccurrence)
		}
		var o contract.Occurrence
		if err := item.Value(func(v []byte) error {
			var err error
			o, err = decodeOccurrence(v)
			return err
		}); err != nil {
			return fmt.Errorf("read occurrence %q: %w", item.Key(), err)
		}
		if err := fn(project, id, o); err != nil {
			return err
		}
	}
	return nil
}
