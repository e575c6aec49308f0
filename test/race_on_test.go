//go:build lua53 && race

package test

// raceEnabled: the race detector's goroutine stacks and frames are larger.
const raceEnabled = true
