package stktable

import (
	"fmt"
	"strconv"
	"strings"
)

// The general purpose arrays of HAProxy 2.5+: "store gpt(<n>)",
// "gpc(<n>)" and "gpc_rate(<n>,<period>)" keep n tags, counters or rates
// per entry, read and written by index (sc_get_gpc(<idx>,<sc>), ...).
// They replace the legacy gpt0, gpc0/gpc1 and gpc0_rate/gpc1_rate: a
// table cannot declare both, and the legacy keywords then work on the
// array's elements 0 and 1, as in HAProxy.

// maxArrayElems is the most elements an array may have (HAProxy's
// limit for the "gpc", "gpt" and "gpc_rate" data types).
const maxArrayElems = 100

// IsArray tells whether d is an array type.
func (d DataType) IsArray() bool { return d == GPT || d == GPC || d == GPCRate }

// legacyElem maps the legacy types to their element of an array.
var legacyElem = map[DataType]struct {
	array DataType
	idx   int
}{
	GPT0: {GPT, 0}, GPC0: {GPC, 0}, GPC1: {GPC, 1}, GPC0Rate: {GPCRate, 0}, GPC1Rate: {GPCRate, 1},
}

// elems is the number of values d takes in an entry.
func (t *Table) elems(d DataType) int {
	if d.IsArray() {
		return t.Elems[d]
	}
	return 1
}

// index returns where element idx of d is in Entry.data, with the type
// actually stored there (an array's, for a legacy type stored through
// it); -1 if the table stores neither or idx is out of range.
func (t *Table) index(d DataType, idx int) (int, DataType) {
	if t.slot[d] < 0 {
		l, ok := legacyElem[d]
		if !ok || idx != 0 || t.slot[l.array] < 0 {
			return -1, d
		}
		d, idx = l.array, l.idx
	}
	if idx < 0 || idx >= t.elems(d) {
		return -1, d
	}
	return int(t.slot[d]) + idx, d
}

// ReadElem returns element idx of array type d for e; false if the
// table does not store it.
func (t *Table) ReadElem(e *Entry, d DataType, idx int) (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.readElemLocked(e, d, idx, t.Now())
}

// AddElem adds n to element idx of the types ds (a counter and its rate)
// and returns the first one's new value; false if none is stored.
func (t *Table) AddElem(e *Entry, n int64, idx int, ds ...DataType) (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.addElemLocked(e, n, idx, t.Now(), ds...)
}

// splitStore splits a "store" list on the commas outside parentheses
// ("gpc_rate(2,10s),gpc0" has two items).
func splitStore(list string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(list); i++ {
		switch list[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, list[start:i])
				start = i + 1
			}
		}
	}
	return append(out, list[start:])
}

// parseArray parses the argument of an array type: "(<n>)", or
// "(<n>,<period>)" for gpc_rate.
func (c *Config) parseArray(d DataType, name, arg string, hasArg bool) error {
	if !hasArg || !strings.HasSuffix(arg, ")") {
		return fmt.Errorf("missing argument to store option '%s'", name)
	}
	arg = strings.TrimSuffix(arg, ")")
	nb, period, hasPeriod := strings.Cut(arg, ",")
	if hasPeriod && !d.IsRate() {
		return fmt.Errorf("unexpected argument to store option '%s'", name)
	}
	if !hasPeriod && d.IsRate() {
		return fmt.Errorf("missing argument to store option '%s'", name)
	}
	n, err := strconv.Atoi(nb)
	if err != nil || n <= 0 || n > maxArrayElems {
		return fmt.Errorf("array size is out of allowed range (1-%d) for store option '%s'", maxArrayElems, name)
	}
	if hasPeriod {
		p, err := parseTime(period)
		if err != nil {
			return fmt.Errorf("error when processing store option '%s'", name)
		}
		c.Periods[d] = p
	}
	c.Elems[d] = n
	return nil
}

// checkArrays refuses an array next to the legacy types it replaces.
func (c *Config) checkArrays() error {
	has := map[DataType]bool{}
	for _, d := range c.Store {
		has[d] = true
	}
	for _, x := range []struct {
		array  DataType
		legacy []DataType
		names  string
	}{
		{GPC, []DataType{GPC0, GPC1}, "gpc[0/1]"},
		{GPCRate, []DataType{GPC0Rate, GPC1Rate}, "gpc[0/1]_rate"},
		{GPT, []DataType{GPT0}, "gpt0"},
	} {
		for _, l := range x.legacy {
			if has[x.array] && has[l] {
				return fmt.Errorf("simultaneous usage of '%s' and '%s' in a same table is not permitted as '%s' overrides '%s'",
					x.array, x.names, x.array, x.names)
			}
		}
	}
	return nil
}

// Remaining returns the time left before e expires, in ms; 0 if it never
// does.
func (t *Table) Remaining(e *Entry) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e.expire == 0 {
		return 0
	}
	return max(e.expire-t.Now(), 0)
}
