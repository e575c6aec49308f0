package config

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Errors returned by ParseTime and ParseSize for values out of range.
var (
	// ErrTimeOverflow means the value does not fit in 32 bits once
	// expressed in the default unit (HAProxy's PARSE_TIME_OVER): about
	// 49.7 days for milliseconds.
	ErrTimeOverflow = errors.New("timer overflow")
	// ErrSizeOverflow means the size does not fit in 32 bits, the limit
	// of HAProxy's size parser.
	ErrSizeOverflow = errors.New("size overflow")
)

// UnitError reports a time or size that is not a number followed by a
// known unit.
type UnitError struct {
	Value  string // the text given
	Offset int    // 0-based index in Value of the first unexpected character
}

// Error describes the first unexpected character of the value.
func (e *UnitError) Error() string {
	if e.Offset >= len(e.Value) {
		return fmt.Sprintf("missing number in '%s'", e.Value)
	}
	return fmt.Sprintf("unexpected character '%c' in '%s'", e.Value[e.Offset], e.Value)
}

// timeUnits maps HAProxy's time suffixes to durations (manual 2.5).
var timeUnits = map[string]time.Duration{
	"us": time.Microsecond,
	"ms": time.Millisecond,
	"s":  time.Second,
	"m":  time.Minute,
	"h":  time.Hour,
	"d":  24 * time.Hour,
}

// ParseTime parses a time in HAProxy's format (manual 2.5): an unsigned
// decimal integer, then optionally one of the units us, ms, s, m, h or d.
// Without a unit the number counts defaultUnit, which is time.Millisecond
// for most keywords (timeouts).
//
// As in HAProxy, the value is stored in defaultUnit: the result is rounded up
// to a whole number of defaultUnit ("1500us" with milliseconds gives 2ms),
// and that number must fit in 32 bits (ErrTimeOverflow). Rounding up means
// a non-zero value never becomes zero. Syntax errors are *UnitError. Keywords that accept less (e.g. timeouts are limited to
// 2147483647 ms) check that themselves.
func ParseTime(s string, defaultUnit time.Duration) (time.Duration, error) {
	if defaultUnit <= 0 {
		return 0, fmt.Errorf("config: invalid default time unit %v", defaultUnit)
	}
	value, i := leadingDigits(s)
	if i == 0 {
		return 0, &UnitError{Value: s, Offset: 0}
	}
	unit := defaultUnit
	if suffix := s[i:]; suffix != "" {
		u, ok := timeUnits[suffix]
		if !ok {
			return 0, &UnitError{Value: s, Offset: badUnitOffset(s, i)}
		}
		unit = u
	}
	if value == math.MaxUint64 {
		return 0, ErrTimeOverflow
	}

	// result = ceil(value * unit / defaultUnit), computed without
	// overflowing: value may have many digits.
	u, d := uint64(unit), uint64(defaultUnit)
	if g := gcd(u, d); g > 1 {
		u, d = u/g, d/g
	}
	if u != 0 && value > math.MaxUint64/u {
		return 0, ErrTimeOverflow
	}
	n := value * u
	result := n / d
	if n%d != 0 {
		result++
	}
	if result >= 1<<32 || result > uint64(math.MaxInt64/defaultUnit) {
		return 0, ErrTimeOverflow
	}
	return time.Duration(result) * defaultUnit, nil
}

// badUnitOffset returns where an unknown time unit starting at s[i] goes
// wrong, as HAProxy's parse_time_err() reports it: the unit letter itself if
// it is unknown, otherwise the first character after a known unit.
func badUnitOffset(s string, i int) int {
	switch s[i] {
	case 's', 'h', 'd':
		return i + 1
	case 'm':
		if i+1 < len(s) && s[i+1] == 's' {
			return i + 2
		}
		return i + 1
	case 'u':
		if i+1 < len(s) && s[i+1] == 's' {
			return i + 2
		}
	}
	return i
}

// ParseSize parses a size in HAProxy's format (manual 2.6): an unsigned
// decimal integer, then optionally one of the case-insensitive suffixes k,
// m or g for 1024, 1024² or 1024³ bytes. Like HAProxy, the result must fit
// in 32 bits (ErrSizeOverflow). Syntax errors are *UnitError.
func ParseSize(s string) (int64, error) {
	value, i := leadingDigits(s)
	if i == 0 {
		return 0, &UnitError{Value: s, Offset: 0}
	}
	shift := 0
	if i < len(s) {
		switch s[i] {
		case 'k', 'K':
			shift = 10
		case 'm', 'M':
			shift = 20
		case 'g', 'G':
			shift = 30
		default:
			return 0, &UnitError{Value: s, Offset: i}
		}
		if i+1 < len(s) {
			return 0, &UnitError{Value: s, Offset: i + 1}
		}
	}
	if value > math.MaxUint32>>shift {
		return 0, ErrSizeOverflow
	}
	return int64(value << shift), nil
}

// leadingDigits returns the value of the decimal digits at the start of s
// (math.MaxUint64 if it overflows) and how many bytes they take.
func leadingDigits(s string) (uint64, int) {
	var v uint64
	i := 0
	for ; i < len(s) && isDigit(s[i]); i++ {
		d := uint64(s[i] - '0')
		if v > (math.MaxUint64-d)/10 {
			v = math.MaxUint64
			continue
		}
		if v != math.MaxUint64 {
			v = v*10 + d
		}
	}
	return v, i
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
