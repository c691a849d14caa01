package badgerdb

import (
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/rounds-dev/rounds/pkg/logging"
)

func TestGetJSON(t *testing.T) {
	type value struct{ N int }
	db, err := Open(t.TempDir(), logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(txn *badger.Txn) error {
		if err := txn.Set([]byte("good"), []byte(`{"N":7}`)); err != nil {
			return err
		}
		return txn.Set([]byte("bad"), []byte(`{"N":`))
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key     string
		want    *value
		wantErr bool
	}{
		{"good", &value{N: 7}, false},
		{"missing", nil, false}, // no key: nil, and no error
		{"bad", nil, true},      // a value that does not decode: an error
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			var got *value
			err := db.View(func(txn *badger.Txn) error {
				var err error
				got, err = GetJSON[value](txn, []byte(tt.key))
				return err
			})
			if (err != nil) != tt.wantErr {
				t.Fatalf("GetJSON(%q) error = %v, want error %v", tt.key, err, tt.wantErr)
			}
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Fatalf("GetJSON(%q) = %+v, want %+v", tt.key, got, tt.want)
			}
		})
	}
}
