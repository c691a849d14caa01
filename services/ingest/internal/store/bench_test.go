package store_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rounds-dev/rounds/pkg/badgerdb"
	"github.com/rounds-dev/rounds/pkg/contract"
	"github.com/rounds-dev/rounds/pkg/logging"
	"github.com/rounds-dev/rounds/services/ingest/internal/signatures"
	"github.com/rounds-dev/rounds/services/ingest/internal/store"
)

// BenchmarkCommit commits batches shaped like the bench's: n failures of
// 200 signatures, with their event ids, occurrences and signatures. Besides
// wall time, which the fsync of every commit dominates, it reports the
// process's CPU time per failure (Badger's goroutines included), which is
// what a busy machine's noise hides least.
func BenchmarkCommit(b *testing.B) {
	for _, n := range []int{500, 2000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			db, err := badgerdb.Open(b.TempDir(), logging.Discard(), store.BadgerOptions)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
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
			cpu0 := cpuTime(b)
			for range b.N {
				batch := &store.Batch{Records: recs}
				for range n {
					seq++
					id := fmt.Sprintf("bench-%d-0123abcd", seq)
					batch.Events = append(batch.Events, store.EventKey{Project: "bench", ID: id})
					rec := recs[seq%200]
					rec.Occurrences++
					rec.LastSeen, rec.LastCounted = time.Now(), time.Now()
					batch.Occurrences = append(batch.Occurrences, store.Occurrence{Project: "bench", Signature: rec.ID, N: rec.Occurrences, Occurrence: contract.Occurrence{EventID: id, RunID: "run-12", Commit: strings.Repeat("0", 40), Time: time.Now(), Test: &contract.OccurrenceTest{Suite: "pkg1/module2", Name: "TestCase12"}}, SignatureTest: true})
				}
				if err := s.Commit(batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/failure")
			b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(b.N*n), "cpu-ns/failure")
		})
	}
}

// cpuTime is the user and system CPU time the process used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
