//go:build lua53

package luabind

import (
	"time"

	"luaproxy/luabind/vm"
)

// The HTTP date parsers of core.http_date and friends follow HAProxy's
// (src/http.c, after RFC 7231 section 7.1.1.1) byte for byte:
//   - names and "GMT" are case-sensitive, fields are fixed-width, and
//     anything after the last field is ignored ("... GMT x" parses);
//   - the day name is not checked against the date, and values out of range
//     carry over as timegm does (31 Feb is 3 Mar, 24:00:00 the next day);
//   - a 2-digit rfc850 year <= 60 is 20xx, otherwise 19xx.
//
// Departure: HAProxy pushes the epoch through a C int, so dates after
// 2038-01-19 come back wrapped (negative); here they are returned whole, as
// the reference's "integer containing epoch date" says.

// dateParser consumes an HTTP date and returns its broken-down time.
type dateParser struct {
	s   []byte
	bad bool
}

func (p *dateParser) char(c byte) {
	if p.bad || len(p.s) < 1 || p.s[0] != c {
		p.bad = true
		return
	}
	p.s = p.s[1:]
}

// tryChar consumes c if it is next, without failing.
func (p *dateParser) tryChar(c byte) bool {
	if !p.bad && len(p.s) > 0 && p.s[0] == c {
		p.s = p.s[1:]
		return true
	}
	return false
}

func (p *dateParser) digits(n int) int {
	if p.bad || len(p.s) < n {
		p.bad = true
		return 0
	}
	v := 0
	for _, c := range p.s[:n] {
		if c < '0' || c > '9' {
			p.bad = true
			return 0
		}
		v = v*10 + int(c-'0')
	}
	p.s = p.s[n:]
	return v
}

func (p *dateParser) word(w string) {
	if p.bad || len(p.s) < len(w) || string(p.s[:len(w)]) != w {
		p.bad = true
		return
	}
	p.s = p.s[len(w):]
}

var (
	dayNames   = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
	longDays   = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
	monthNames = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
)

// oneOf consumes one of names (3-letter prefixes are distinct, as HAProxy
// switches on them) and returns its index.
func (p *dateParser) oneOf(names []string) int {
	if p.bad || len(p.s) < 3 {
		p.bad = true
		return 0
	}
	for i, n := range names {
		if string(p.s[:3]) == n[:3] {
			p.word(n)
			return i
		}
	}
	p.bad = true
	return 0
}

// clock parses hour ":" minute ":" second.
func (p *dateParser) clock() (h, m, s int) {
	h = p.digits(2)
	p.char(':')
	m = p.digits(2)
	p.char(':')
	s = p.digits(2)
	return
}

func epoch(year, month, day, h, m, s int) int64 {
	return time.Date(year, time.Month(month+1), day, h, m, s, 0, time.UTC).Unix()
}

// parseIMFDate parses "Sun, 06 Nov 1994 08:49:37 GMT".
func parseIMFDate(b []byte) (int64, bool) {
	p := dateParser{s: b}
	p.oneOf(dayNames)
	p.char(',')
	p.char(' ')
	day := p.digits(2)
	p.char(' ')
	mon := p.oneOf(monthNames)
	p.char(' ')
	year := p.digits(4)
	p.char(' ')
	h, m, s := p.clock()
	p.char(' ')
	p.word("GMT")
	return epoch(year, mon, day, h, m, s), !p.bad
}

// parseRFC850Date parses "Sunday, 06-Nov-94 08:49:37 GMT" (a 4-digit year
// is accepted too).
func parseRFC850Date(b []byte) (int64, bool) {
	p := dateParser{s: b}
	p.oneOf(longDays)
	p.char(',')
	p.char(' ')
	day := p.digits(2)
	p.char('-')
	mon := p.oneOf(monthNames)
	p.char('-')
	year := p.digits(2)
	if p.bad {
		return 0, false
	}
	if !p.tryChar(' ') {
		year = year*100 + p.digits(2)
		p.char(' ')
	} else if year <= 60 {
		year += 2000
	} else {
		year += 1900
	}
	h, m, s := p.clock()
	p.char(' ')
	p.word("GMT")
	return epoch(year, mon, day, h, m, s), !p.bad
}

// parseASCTimeDate parses "Sun Nov  6 08:49:37 1994".
func parseASCTimeDate(b []byte) (int64, bool) {
	p := dateParser{s: b}
	p.oneOf(dayNames)
	p.char(' ')
	mon := p.oneOf(monthNames)
	p.char(' ')
	var day int
	if p.tryChar(' ') {
		day = p.digits(1)
	} else {
		day = p.digits(2)
	}
	p.char(' ')
	h, m, s := p.clock()
	p.char(' ')
	year := p.digits(4)
	return epoch(year, mon, day, h, m, s), !p.bad
}

// parseHTTPDate tries the three formats of an HTTP-date in turn.
func parseHTTPDate(b []byte) (int64, bool) {
	for _, f := range []func([]byte) (int64, bool){parseIMFDate, parseRFC850Date, parseASCTimeDate} {
		if t, ok := f(b); ok {
			return t, true
		}
	}
	return 0, false
}

// coreDate implements core.http_date, imf_date, rfc850_date and
// asctime_date(date): the epoch of date, or nil when it does not parse.
// They never yield.
func coreDate(parse func([]byte) (int64, bool)) vm.Func {
	return func(c *vm.Call) (int, error) {
		s, err := c.Bytes(1)
		if err != nil {
			return 0, err
		}
		if t, ok := parse(s); ok {
			c.PushInteger(t)
		} else {
			c.PushNil()
		}
		return 1, nil
	}
}
