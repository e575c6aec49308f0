package config_test

import (
	"errors"
	"testing"
	"time"

	"luaproxy/core/config"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		unit time.Duration
		want time.Duration
	}{
		{"0", time.Millisecond, 0},
		{"100", time.Millisecond, 100 * time.Millisecond},
		{"100", time.Second, 100 * time.Second},
		{"100us", time.Millisecond, time.Millisecond}, // rounded up to the unit
		{"1500us", time.Millisecond, 2 * time.Millisecond},
		{"1500us", time.Microsecond, 1500 * time.Microsecond},
		{"250ms", time.Millisecond, 250 * time.Millisecond},
		{"5s", time.Millisecond, 5 * time.Second},
		{"2m", time.Millisecond, 2 * time.Minute},
		{"3h", time.Millisecond, 3 * time.Hour},
		{"1d", time.Millisecond, 24 * time.Hour},
		{"49d", time.Millisecond, 49 * 24 * time.Hour},
		{"1500ms", time.Second, 2 * time.Second},
		{"1us", time.Second, time.Second},
		{"0s", time.Millisecond, 0},
		{"007s", time.Millisecond, 7 * time.Second},
		{"4294967295", time.Millisecond, 4294967295 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.in+"/"+tt.unit.String(), func(t *testing.T) {
			got, err := config.ParseTime(tt.in, tt.unit)
			if err != nil || got != tt.want {
				t.Errorf("ParseTime(%q, %v) = %v, %v; want %v", tt.in, tt.unit, got, err, tt.want)
			}
		})
	}
}

func TestParseTimeErrors(t *testing.T) {
	tests := []struct {
		in     string
		want   error  // sentinel, or nil for a *UnitError
		msg    string // for a *UnitError
		offset int
	}{
		{"", nil, "missing number in ''", 0},
		{"s", nil, "unexpected character 's' in 's'", 0},
		{"-1", nil, "unexpected character '-' in '-1'", 0},
		{"1.5s", nil, "unexpected character '.' in '1.5s'", 1},
		{"10x", nil, "unexpected character 'x' in '10x'", 2},
		{"10S", nil, "unexpected character 'S' in '10S'", 2},
		{"10u", nil, "unexpected character 'u' in '10u'", 2},
		{"10mx", nil, "unexpected character 'x' in '10mx'", 3},
		{"10msx", nil, "unexpected character 'x' in '10msx'", 4},
		{"10 s", nil, "unexpected character ' ' in '10 s'", 2},
		{"50d", config.ErrTimeOverflow, "", 0},
		{"4294967296", config.ErrTimeOverflow, "", 0},
		{"99999999999999999999999d", config.ErrTimeOverflow, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := config.ParseTime(tt.in, time.Millisecond)
			if err == nil {
				t.Fatalf("ParseTime(%q) = %v, want an error", tt.in, got)
			}
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Errorf("ParseTime(%q) error = %v, want %v", tt.in, err, tt.want)
				}
				return
			}
			var ue *config.UnitError
			if !errors.As(err, &ue) || ue.Error() != tt.msg || ue.Offset != tt.offset {
				t.Errorf("ParseTime(%q) error = %#v (%v), want %q at %d", tt.in, err, err, tt.msg, tt.offset)
			}
		})
	}
	if _, err := config.ParseTime("1", 0); err == nil {
		t.Error("zero default unit: want an error")
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"0", 0},
		{"512", 512},
		{"16k", 16 << 10},
		{"16K", 16 << 10},
		{"10m", 10 << 20},
		{"10M", 10 << 20},
		{"3g", 3 << 30},
		{"3G", 3 << 30},
		{"4294967295", 1<<32 - 1},
		{"4194303k", 4194303 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := config.ParseSize(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("ParseSize(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseSizeErrors(t *testing.T) {
	tests := []struct {
		in     string
		over   bool
		offset int
	}{
		{"", false, 0},
		{"k", false, 0},
		{"1.5k", false, 1},
		{"10kb", false, 3},
		{"10t", false, 2},
		{"-1", false, 0},
		{"4294967296", true, 0},
		{"4g", true, 0},
		{"4194304k", true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := config.ParseSize(tt.in)
			if err == nil {
				t.Fatalf("ParseSize(%q) = %v, want an error", tt.in, got)
			}
			if tt.over {
				if !errors.Is(err, config.ErrSizeOverflow) {
					t.Errorf("ParseSize(%q) error = %v, want overflow", tt.in, err)
				}
				return
			}
			var ue *config.UnitError
			if !errors.As(err, &ue) || ue.Offset != tt.offset {
				t.Errorf("ParseSize(%q) error = %#v, want offset %d", tt.in, err, tt.offset)
			}
		})
	}
}
