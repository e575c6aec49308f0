//go:build lua53 && !race

package test

const raceEnabled = false
