package store

import (
	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// BadgerOptions adjusts the settings every service shares (see
// pkg/badgerdb) for ingest's database; pass it to badgerdb.Open. Writes
// stay synced: these cut CPU, not durability.
//
//   - No conflict detection: ingest's write transactions (Commit) only
//     write, never read, so Badger could never report a conflict; tracking
//     the keys each one writes is work for nothing.
//   - No block compression: ingest's values are small and mostly distinct
//     (event ids, occurrences), Snappy gained little on them and cost a few
//     percent of ingest's CPU at every memtable flush and compaction.
func BadgerOptions(o badger.Options) badger.Options {
	return o.WithDetectConflicts(false).WithCompression(options.None)
}
