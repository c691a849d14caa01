// Package badgerdb opens a service's Badger database with the settings every
// Rounds service shares: synchronous writes, modest memory, slog logging.
package badgerdb

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/dgraph-io/badger/v4"
)

// Option adjusts the shared settings for one service's database, as ingest
// does for its single writer and small values.
type Option func(badger.Options) badger.Options

// Open opens (creating if needed) the Badger database in dir. Writes are
// synced before a commit returns, so an acknowledged message is never lost
// when the process dies: no Option can turn that off.
func Open(dir string, log *slog.Logger, opts ...Option) (*badger.DB, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create badger dir %q: %w", dir, err)
	}
	return open(options(dir, log), opts)
}

// OpenReadOnly opens the database in dir for reading while no process
// has it open for writing.
func OpenReadOnly(dir string, log *slog.Logger, opts ...Option) (*badger.DB, error) {
	return open(options(dir, log).WithReadOnly(true), opts)
}

func open(o badger.Options, opts []Option) (*badger.DB, error) {
	for _, opt := range opts {
		o = opt(o)
	}
	return openWith(o.WithSyncWrites(true))
}

func openWith(opts badger.Options) (*badger.DB, error) {
	db, err := badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open badger %q: %w", opts.Dir, err)
	}
	return db, nil
}

func options(dir string, log *slog.Logger) badger.Options {
	return badger.DefaultOptions(dir).
		WithSyncWrites(true).
		WithLogger(logger{log: log.With("component", "badger")}).
		// Three services may share one process; Badger's defaults
		// (64 MiB memtables x5, 256 MiB block cache) are sized for one
		// big database each. A transaction may hold 15% of a memtable.
		WithMemTableSize(32 << 20).
		WithNumMemtables(2).
		WithBlockCacheSize(32 << 20).
		WithIndexCacheSize(16 << 20).
		WithValueLogFileSize(128 << 20)
}

// logger puts Badger's chatter one level below ours.
type logger struct{ log *slog.Logger }

func (l logger) Errorf(f string, a ...any)   { l.log.Error(fmt.Sprintf(f, a...)) }
func (l logger) Warningf(f string, a ...any) { l.log.Info(fmt.Sprintf(f, a...)) }
func (l logger) Infof(f string, a ...any)    { l.log.Debug(fmt.Sprintf(f, a...)) }
func (l logger) Debugf(f string, a ...any)   {}
