package store

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
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
// is, to keep the hot path's writes small:
//
//	flags (1 byte), time (unix nanoseconds, 8 bytes), event id, run id,
//	commit (20 or 32 raw bytes when flagged hex, else a string),
//	[suite, name] when flagged a test that is not its signature's
//
// each string preceded by its length as a uvarint. An occurrence of the
// signature's own test (the usual case) does not repeat it: a signature's
// test is set when it is created and never changes.
//
// Occurrences have no TTL: they are kept as long as their count is.
const prefixOccurrence = "o/"

// Flags of an occurrence's value.
const (
	occTest          = 1 << iota // a test's failure
	occSignatureTest             // of its signature's test, not stored again
	occSHA1Commit                // commit stored as the 20 bytes of its lowercase hex
	occSHA256Commit              // commit stored as the 32 bytes of its lowercase hex
)

// Occurrence is one counted occurrence of a signature, to store with the
// batch that counts it.
type Occurrence struct {
	Project, Signature string
	// N is the signature's count with this occurrence.
	N          int64
	Occurrence contract.Occurrence
	// SignatureTest is set when the occurrence's test is the signature's
	// own (Signature.Test): it is then not stored again.
	SignatureTest bool
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
	n := 1 + 8 + 3*binary.MaxVarintLen16 + len(oc.EventID) + len(oc.RunID) + len(oc.Commit)
	var flags byte
	switch {
	case oc.Test != nil && o.SignatureTest:
		flags |= occTest | occSignatureTest
	case oc.Test != nil:
		flags |= occTest
		n += 2*binary.MaxVarintLen16 + len(oc.Test.Suite) + len(oc.Test.Name)
	}
	if isHexCommit(oc.Commit) {
		flags |= occSHA1Commit
		if len(oc.Commit) == 64 {
			flags ^= occSHA1Commit | occSHA256Commit
		}
	}
	v := make([]byte, 9, n)
	v[0] = flags
	binary.BigEndian.PutUint64(v[1:], uint64(oc.Time.UnixNano()))
	v = appendString(v, oc.EventID)
	v = appendString(v, oc.RunID)
	if flags&(occSHA1Commit|occSHA256Commit) != 0 {
		v, _ = hex.AppendDecode(v, []byte(oc.Commit)) // checked by isHexCommit
	} else {
		v = appendString(v, oc.Commit)
	}
	if flags&(occTest|occSignatureTest) == occTest {
		v = appendString(v, oc.Test.Suite)
		v = appendString(v, oc.Test.Name)
	}
	return v
}

// isHexCommit reports whether a commit is a SHA-1 or SHA-256 in lowercase
// hex, which reads back the same from its bytes.
func isHexCommit(c string) bool {
	if len(c) != 40 && len(c) != 64 {
		return false
	}
	for i := 0; i < len(c); i++ {
		if !('0' <= c[i] && c[i] <= '9' || 'a' <= c[i] && c[i] <= 'f') {
			return false
		}
	}
	return true
}

var errBadOccurrence = errors.New("malformed occurrence")

func readString(v []byte) (string, []byte, error) {
	n, used := binary.Uvarint(v)
	if used <= 0 || uint64(len(v)-used) < n {
		return "", nil, errBadOccurrence
	}
	return string(v[used : used+int(n)]), v[used+int(n):], nil
}

// decodeOccurrence reads an occurrence's value; test is its signature's
// test, for an occurrence that does not store it.
func decodeOccurrence(v []byte, test *contract.TestIdentity) (contract.Occurrence, error) {
	var o contract.Occurrence
	if len(v) < 9 {
		return o, errBadOccurrence
	}
	flags := v[0]
	o.Time = time.Unix(0, int64(binary.BigEndian.Uint64(v[1:]))).UTC()
	rest := v[9:]
	var err error
	if o.EventID, rest, err = readString(rest); err != nil {
		return o, err
	}
	if o.RunID, rest, err = readString(rest); err != nil {
		return o, err
	}
	size := 0
	switch {
	case flags&occSHA1Commit != 0:
		size = 20
	case flags&occSHA256Commit != 0:
		size = 32
	}
	switch {
	case size > len(rest):
		return o, errBadOccurrence
	case size > 0:
		o.Commit, rest = hex.EncodeToString(rest[:size]), rest[size:]
	default:
		if o.Commit, rest, err = readString(rest); err != nil {
			return o, err
		}
	}
	switch {
	case flags&occTest == 0:
	case flags&occSignatureTest != 0:
		if test == nil {
			return o, fmt.Errorf("%w: its signature names no test", errBadOccurrence)
		}
		o.Test = &contract.OccurrenceTest{Suite: test.Suite, Name: test.Name}
	default:
		o.Test = &contract.OccurrenceTest{}
		if o.Test.Suite, rest, err = readString(rest); err != nil {
			return o, err
		}
		if o.Test.Name, rest, err = readString(rest); err != nil {
			return o, err
		}
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
		test, ok, err := signatureTest(txn, project, id)
		if err != nil || !ok {
			return err
		}
		found = true
		return iterateOccurrences(txn, occurrencePrefix(project, id), func(string, string) (*contract.TestIdentity, error) { return test, nil },
			func(_, _ string, o contract.Occurrence) error { return fn(o) })
	})
	return found, err
}

// AllOccurrences calls fn with every stored occurrence, signature by
// signature, each signature's in the order they were counted.
func (s *Store) AllOccurrences(fn func(project, id string, o contract.Occurrence) error) error {
	return s.db.View(func(txn *badger.Txn) error {
		var project, id string
		var test *contract.TestIdentity
		testOf := func(p, sig string) (*contract.TestIdentity, error) {
			if p == project && sig == id {
				return test, nil
			}
			t, _, err := signatureTest(txn, p, sig)
			if err != nil {
				return nil, err
			}
			project, id, test = p, sig, t
			return test, nil
		}
		return iterateOccurrences(txn, []byte(prefixOccurrence), testOf, fn)
	})
}

// signatureTest returns the test of a stored signature (nil for a runtime
// error's); ok is false when the signature is not stored.
func signatureTest(txn *badger.Txn, project, id string) (test *contract.TestIdentity, ok bool, err error) {
	item, err := txn.Get(signatureKey(project, id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read signature %s/%s: %w", project, id, err)
	}
	var sig struct {
		Test *contract.TestIdentity `json:"test"`
	}
	if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &sig) }); err != nil {
		return nil, false, fmt.Errorf("decode signature %s/%s: %w", project, id, err)
	}
	return sig.Test, true, nil
}

func iterateOccurrences(txn *badger.Txn, prefix []byte, testOf func(project, id string) (*contract.TestIdentity, error), fn func(project, id string, o contract.Occurrence) error) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		project, id, _, ok := splitOccurrenceKey(item.Key())
		if !ok {
			return fmt.Errorf("read occurrence %q: %w", item.Key(), errBadOccurrence)
		}
		test, err := testOf(project, id)
		if err != nil {
			return err
		}
		var o contract.Occurrence
		if err := item.Value(func(v []byte) error {
			var err error
			o, err = decodeOccurrence(v, test)
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
