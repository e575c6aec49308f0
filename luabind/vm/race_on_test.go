//go:build lua53 && race

package vm

// raceEnabled shortens the goroutine hand-over test under -race, where every
// cgo call and channel operation costs several times more.
const raceEnabled = true
