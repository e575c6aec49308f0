package core

import (
	"sync"
	"testing"
	"time"
)

func TestFreqCtrPeriods(t *testing.T) {
	var f freqCtr
	const t0 = 1_000_000 // ms, a period's start
	for i := 0; i < 10; i++ {
		f.addAt(t0 + 100)
	}
	if got := f.readAt(t0 + 500); got != 10 {
		t.Fatalf("same period: %d, want 10", got)
	}
	f.addAt(t0 + 1200) // the next period: the 10 become the previous one's
	// read_freq_ctr: 1 + 10 * (time left in the period) / period
	if got := f.readAt(t0 + 1250); got != 1+10*750/1000 {
		t.Fatalf("next period: %d, want %d", got, 1+10*750/1000)
	}
	if got := f.readAt(t0 + 2500); got != 1*500/1000 {
		t.Fatalf("a period later, nothing counted: %d, want 0", got)
	}
	f.addAt(t0 + 5300) // periods skipped: nothing carried over
	if got := f.readAt(t0 + 5300); got != 1 {
		t.Fatalf("after idle periods: %d, want 1", got)
	}
}

// Events counted while another goroutine rotates the period land in one
// period or the other, none lost.
func TestFreqCtrConcurrentRotation(t *testing.T) {
	var f freqCtr
	const t0, per = 2_000_000, 5000
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				f.addAt(t0 + int64(i)*1500/per) // crosses t0+1000
			}
		}()
	}
	wg.Wait()
	f.mu.Lock()
	total := f.prev + f.curr.Load()
	f.mu.Unlock()
	if total != 4*per {
		t.Fatalf("counted %d events, want %d", total, 4*per)
	}
}

func TestTickFollowsWallClock(t *testing.T) {
	syncWall()
	before := time.Now()
	got := tick()
	after := time.Now()
	if got.Before(before.Add(-time.Millisecond)) || got.After(after.Add(time.Millisecond)) {
		t.Fatalf("tick %v outside [%v, %v]", got, before, after)
	}
	if c := clockNow(); c.Before(got.Truncate(time.Millisecond)) {
		t.Fatalf("clock %v behind the tick %v", c, got)
	}
}
