package race

import (
	"os"
	"sync"
	"testing"
)

func TestCounter(t *testing.T) {
	n := 0
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if os.Getenv("CORPUS_RACE") == "1" {
				n++ // unsynchronised on purpose
			}
		}()
	}
	wg.Wait()
}
