package badgerdb

import (
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/rounds-dev/rounds/pkg/logging"
)

func TestOpenKeepsWritesAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("k"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(dir, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte("k"))
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		if string(v) != "v" {
			t.Errorf("value %q, want v", v)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesASecondOpenOfTheSameDir(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := Open(dir, logging.Discard()); err == nil {
		t.Fatal("second Open of a locked dir succeeded")
	}
}

func TestOpenAppliesOptionsButKeepsWritesSynced(t *testing.T) {
	var saw bool
	opt := func(o badger.Options) badger.Options {
		saw = o.SyncWrites
		return o.WithSyncWrites(false).WithDetectConflicts(false)
	}
	db, err := Open(t.TempDir(), logging.Discard(), opt)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if !saw {
		t.Error("the option was given settings without synced writes, want the shared settings")
	}
	if got := db.Opts(); !got.SyncWrites || got.DetectConflicts {
		t.Errorf("opened with SyncWrites %v, DetectConflicts %v; want synced writes whatever the option says, and its conflict detection", got.SyncWrites, got.DetectConflicts)
	}
}
