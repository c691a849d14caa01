package uses

import (
	"testing"

	"example.com/corpus/lib"
)

func TestDouble(t *testing.T) {
	if lib.Double(2) != 4 {
		t.Fatal("2*2 != 4")
	}
}
