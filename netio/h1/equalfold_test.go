package h1

import (
	"strings"
	"testing"
)

func TestEqualFold(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"Content-Length", "content-length", true},
		{"CONNECTION", "connection", true},
		{"connection", "connectio", false},
		{"x-a", "x-b", false},
		{"@", "`", false}, // equal once 0x20 is set, not letters
		{"[", "{", false},
		{"", "", true},
		{"K", "\u212a", false}, // Kelvin sign: Unicode folding, not HAProxy's
	} {
		if got := EqualFold(c.a, c.b); got != c.want {
			t.Errorf("EqualFold(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
	// agrees with strings.EqualFold on every pair of ASCII bytes
	for x := 0; x < 128; x++ {
		for y := 0; y < 128; y++ {
			a, b := string(rune(x)), string(rune(y))
			if EqualFold(a, b) != strings.EqualFold(a, b) {
				t.Errorf("EqualFold(%q, %q) disagrees with strings.EqualFold", a, b)
			}
		}
	}
}
