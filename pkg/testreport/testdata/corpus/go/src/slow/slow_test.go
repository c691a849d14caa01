package slow

import (
	"os"
	"testing"
	"time"
)

func TestSettle(t *testing.T) {
	t.Run("batch", func(t *testing.T) {
		if os.Getenv("CORPUS_TIMEOUT") == "1" {
			time.Sleep(30 * time.Second)
		}
	})
}

func TestQuick(t *testing.T) {}
