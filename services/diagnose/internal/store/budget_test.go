package store_test

import (
	"math"
	"sync"
	"testing"

	"github.com/rounds-dev/rounds/services/diagnose/internal/store"
)

func TestSpendingSurvivesReopening(t *testing.T) {
	dir := t.TempDir()
	db, closeDB := openDB(t, dir)
	s := store.New(db)
	for _, usd := range []float64{0.25, 0.5} {
		if err := s.Add("2026-03-01", usd); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Add("2026-03-02", 1); err != nil {
		t.Fatal(err)
	}
	closeDB()

	db, _ = openDB(t, dir)
	s = store.New(db)
	for day, want := range map[string]float64{"2026-03-01": 0.75, "2026-03-02": 1, "2026-03-03": 0} {
		got, err := s.SpentOn(day)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("SpentOn(%s) = %v after reopening, want %v", day, got, want)
		}
	}
}

func TestConcurrentAddsAllCount(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := store.New(db)
	const adders, each = 8, 25
	var wg sync.WaitGroup
	for range adders {
		wg.Go(func() {
			for range each {
				if err := s.Add("2026-03-01", 0.01); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	got, err := s.SpentOn("2026-03-01")
	if err != nil {
		t.Fatal(err)
	}
	if want := adders * each * 0.01; math.Abs(got-want) > 1e-9 {
		t.Errorf("SpentOn = %v after %d concurrent adds of $0.01, want %v", got, adders*each, want)
	}
}

func TestBudgetRefusesWhatIsNotADayOrACost(t *testing.T) {
	db, _ := openDB(t, t.TempDir())
	s := store.New(db)
	tests := []struct {
		name string
		day  string
		usd  float64
	}{
		{name: "a day with a time is refused", day: "2026-03-01T00:00:00Z", usd: 1},
		{name: "a day that is a key prefix is refused", day: "2026-03", usd: 1},
		{name: "a day that does not exist is refused", day: "2026-02-30", usd: 1},
		{name: "a negative cost is refused", day: "2026-03-01", usd: -1},
		{name: "a cost that is not a number is refused", day: "2026-03-01", usd: math.NaN()},
		{name: "an infinite cost is refused", day: "2026-03-01", usd: math.Inf(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Add(tt.day, tt.usd); err == nil {
				t.Errorf("Add(%q, %v) succeeded", tt.day, tt.usd)
			}
		})
	}
	if _, err := s.SpentOn("../handled"); err == nil {
		t.Error("SpentOn accepted a day that is not a date")
	}
}
