package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/services/ingest/internal/signatures"
	"github.com/rounds-dev/rounds/services/ingest/internal/store"
)

// BenchmarkCommit commits batches shaped like the bench's: n failures of
// 200 signatures, with their event ids, occurrences and signatures.
func BenchmarkCommit(b *testing.B) {
	for _, n := range []int{500, 2000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			db, _ := openDB(&testing.T{}, b.TempDir())
			s, err := store.New(db, store.Options{EventTTL: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			recs := make([]*signatures.Record, 200)
			for i := range recs {
				recs[i] = signature("bench", fmt.Sprintf("%016x", i), 1)
				recs[i].MessageTemplate = strings.Repeat("expected <*> got <*> ", 20)
			}
			seq := 0
			b.ResetTimer()
			for range b.N {
				batch := &store.Batch{Records: recs}
				for range n {
					seq++
					id := fmt.Sprintf("bench-%d-0123abcd", seq)
					batch.Events = append(batch.Events, store.EventKey{Project: "bench", ID: id})
					batch.Occurrences = append(batch.Occurrences, store.Occurrence{Project: "bench", Signature: recs[seq%200].ID, N: int64(seq), Occurrence: contract.Occurrence{EventID: id, RunID: "run-12", Commit: strings.Repeat("0", 40), Time: time.Now(), Test: &contract.OccurrenceTest{Suite: "pkg1/module2", Name: "TestCase12"}}, SignatureTest: true})
				}
				if err := s.Commit(batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/failure")
		})
	}
}
