package main

import (
	"runtime"
	"testing"
)

// TestGCHeadroom: the ballast is reserved unless GOGC or GOMEMLIMIT is
// set, and raises the collector's heap goal above its size.
func TestGCHeadroom(t *testing.T) {
	defer func() { gcBallast = nil }()
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "100")
			gcBallast = nil
			reserveGCHeadroom()
			if gcBallast != nil {
				t.Fatalf("ballast reserved with %s set", env)
			}
		})
	}
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	reserveGCHeadroom()
	if len(gcBallast) != gcBallastSize {
		t.Fatalf("ballast of %d bytes", len(gcBallast))
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.NextGC < 2*gcBallastSize {
		t.Fatalf("heap goal %d, want at least %d", ms.NextGC, 2*gcBallastSize)
	}
}
