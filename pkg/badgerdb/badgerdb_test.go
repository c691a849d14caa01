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
