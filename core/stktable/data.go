package stktable

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DataType is a stored data type, in HAProxy 2.6's order (STKTABLE_DT_*),
// which is the order "show table" prints them in.
type DataType uint8

// The data types.
const (
	ServerID DataType = iota
	GPT0
	GPC0
	GPC0Rate
	ConnCnt
	ConnRate
	ConnCur
	SessCnt
	SessRate
	HTTPReqCnt
	HTTPReqRate
	HTTPErrCnt
	HTTPErrRate
	BytesInCnt
	BytesInRate
	BytesOutCnt
	BytesOutRate
	GPC1
	GPC1Rate
	// ServerKey is the name of the server an entry sticks to, a string
	// kept beside the counters (see server.go); the engine stores it
	// with ServerID in the tables of "stick" rules.
	ServerKey
	// HTTPFailCnt and HTTPFailRate count the server responses that
	// failed: 5xx other than 501 and 505.
	HTTPFailCnt
	HTTPFailRate
	// GPT, GPC and GPCRate are arrays (2.5+): "store gpt(<n>)",
	// "gpc(<n>)", "gpc_rate(<n>,<period>)"; see arrays.go.
	GPT
	GPC
	GPCRate
	NumDataTypes
)

var dataTypeNames = [NumDataTypes]string{"server_id", "gpt0", "gpc0", "gpc0_rate", "conn_cnt",
	"conn_rate", "conn_cur", "sess_cnt", "sess_rate", "http_req_cnt", "http_req_rate",
	"http_err_cnt", "http_err_rate", "bytes_in_cnt", "bytes_in_rate", "bytes_out_cnt",
	"bytes_out_rate", "gpc1", "gpc1_rate", "server_key", "http_fail_cnt", "http_fail_rate", "gpt", "gpc", "gpc_rate"}

// String returns the data type's name ("gpc0_rate").
func (d DataType) String() string { return dataTypeNames[d] }

// IsRate tells whether d is a frequency counter, which takes a period.
func (d DataType) IsRate() bool { return strings.HasSuffix(dataTypeNames[d], "_rate") }

// ParseDataType returns the data type named name.
func ParseDataType(name string) (DataType, bool) {
	for i, n := range dataTypeNames {
		if n == name {
			return DataType(i), true
		}
	}
	return 0, false
}

// freqCtr is HAProxy's freq_ctr used over a period: the events of the
// current period, those of the previous one, and when the current period
// started.
type freqCtr struct {
	tick       int64 // start of the current period, ms; 0: never updated
	curr, prev int64
}

// rotate moves the counter to the period containing now.
func (f *freqCtr) rotate(now, period int64) {
	if f.tick == 0 {
		f.tick = now
		return
	}
	elapsed := now - f.tick
	if elapsed < period {
		return
	}
	if elapsed < 2*period {
		f.prev = f.curr
	} else {
		f.prev = 0
	}
	f.curr = 0
	f.tick += elapsed - elapsed%period
}

// add counts n events at now.
func (f *freqCtr) add(now, period, n int64) {
	f.rotate(now, period)
	f.curr += n
}

// read returns the events over the last period as HAProxy's
// read_freq_ctr_period: the current period's count plus the previous
// one's weighted by the share of the period still to run.
func (f *freqCtr) read(now, period int64) int64 {
	if f.tick == 0 {
		return 0
	}
	curr, past := f.curr, f.prev
	remain := f.tick + period - now
	if remain < 0 {
		if remain+period < 0 {
			return 0
		}
		past, curr = curr, 0
		remain += period
	}
	if past == 0 {
		return curr
	}
	return curr + int64((uint64(past)*uint64(remain))/uint64(period))
}

func (t *Table) period(d DataType) int64 {
	p := t.Periods[d].Milliseconds()
	if p <= 0 {
		p = 1
	}
	return p
}

// Read returns the value of data type d for e (a rate read now); false if
// the table does not store d.
func (t *Table) Read(e *Entry, d DataType) (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.readLocked(e, d, t.Now())
}

func (t *Table) readLocked(e *Entry, d DataType, now int64) (int64, bool) {
	return t.readElemLocked(e, d, 0, now)
}

func (t *Table) readElemLocked(e *Entry, d DataType, idx int, now int64) (int64, bool) {
	i, d := t.index(d, idx)
	if i < 0 {
		return 0, false
	}
	if d.IsRate() {
		return e.data[i].f.read(now, t.period(d)), true
	}
	return e.data[i].n, true
}

// Add adds n to the counters of e named in ds (counters and rates alike);
// data types the table does not store are skipped. It returns the new
// value of the first one stored.
func (t *Table) Add(e *Entry, n int64, ds ...DataType) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.addLocked(e, n, t.Now(), ds...)
}

func (t *Table) addLocked(e *Entry, n, now int64, ds ...DataType) int64 {
	r, _ := t.addElemLocked(e, n, 0, now, ds...)
	return r
}

func (t *Table) addElemLocked(e *Entry, n int64, idx int, now int64, ds ...DataType) (int64, bool) {
	var first int64
	found := false
	for _, d := range ds {
		i, d := t.index(d, idx)
		if i < 0 {
			continue
		}
		v := &e.data[i]
		var r int64
		if d.IsRate() {
			v.f.add(now, t.period(d), n)
			r = v.f.read(now, t.period(d))
		} else {
			v.n += n
			r = v.n
		}
		if !found {
			first, found = r, true
		}
	}
	return first, found
}

// Set stores v as the value of d for e; a rate is set as the runtime
// API's "set table" does: the current period holds v, the previous one
// nothing. It fails with ErrNotStored.
func (t *Table) Set(e *Entry, d DataType, v int64) error { return t.SetElem(e, d, 0, v) }

// SetElem is Set for element idx of an array type.
func (t *Table) SetElem(e *Entry, d DataType, idx int, v int64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, d := t.index(d, idx)
	if i < 0 {
		return ErrNotStored
	}
	if d.IsRate() {
		e.data[i].f = freqCtr{tick: t.Now(), curr: v}
	} else {
		e.data[i].n = v
	}
	return nil
}

// Clear counters for HAProxy's sc_clr_gpc0: Swap stores v and returns
// the previous value.
func (t *Table) Swap(e *Entry, d DataType, v int64) (int64, bool) { return t.SwapElem(e, d, 0, v) }

// SwapElem is Swap for element idx of an array type.
func (t *Table) SwapElem(e *Entry, d DataType, idx int, v int64) (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, _ := t.index(d, idx)
	if i < 0 {
		return 0, false
	}
	old := e.data[i].n
	e.data[i].n = v
	return old, true
}

// ParseConfig parses the words of a "stick-table" line after the keyword
// ("type ip size 100k expire 30s store gpc0,http_req_rate(10s)"), with
// HAProxy's error messages.
func ParseConfig(name string, args []string) (Config, error) {
	c := Config{Name: name, KeyLen: 32, Type: 255}
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "size":
			i++
			if i >= len(args) {
				return c, fmt.Errorf("missing size")
			}
			n, err := parseSize(args[i])
			if err != nil || n <= 0 {
				return c, fmt.Errorf("invalid size '%s'", args[i])
			}
			c.Size = n
		case "expire":
			i++
			if i >= len(args) {
				return c, fmt.Errorf("missing expire")
			}
			d, err := parseTime(args[i])
			if err != nil {
				return c, fmt.Errorf("invalid expire '%s'", args[i])
			}
			c.Expire = d
		case "nopurge":
			c.NoPurge = true
		case "peers", "srvkey", "write-to", "brates-factor":
			i++ // accepted, without effect: there are no peers
		case "recv-only":
		case "type":
			i++
			if i >= len(args) {
				return c, fmt.Errorf("failed to parse 'type' : missing type")
			}
			switch args[i] {
			case "ip", "ipv4":
				c.Type = KeyIP
			case "ipv6":
				c.Type = KeyIPv6
			case "integer":
				c.Type = KeyInteger
			case "string", "binary":
				c.Type = KeyString
				if args[i] == "binary" {
					c.Type = KeyBinary
				}
				if i+2 < len(args) && args[i+1] == "len" {
					n, err := strconv.Atoi(args[i+2])
					if err != nil || n <= 0 {
						return c, fmt.Errorf("invalid length '%s'", args[i+2])
					}
					c.KeyLen = n
					i += 2
				}
			default:
				return c, fmt.Errorf("unknown type '%s'", args[i])
			}
		case "store":
			i++
			if i >= len(args) {
				return c, fmt.Errorf("'store' expects a list of data types")
			}
			if err := c.parseStore(args[i]); err != nil {
				return c, err
			}
		default:
			return c, fmt.Errorf("unknown argument '%s'", args[i])
		}
	}
	if c.Type == 255 || c.Size == 0 {
		return c, fmt.Errorf("missing size or type")
	}
	return c, nil
}

func (c *Config) parseStore(list string) error {
	for _, w := range splitStore(list) {
		name, arg, hasArg := strings.Cut(w, "(")
		d, ok := ParseDataType(name)
		if !ok {
			return fmt.Errorf("unknown store option '%s'", name)
		}
		dup := false
		for _, s := range c.Store {
			dup = dup || s == d
		}
		if dup {
			continue // HAProxy compat: "already enabled, ignored" (a warning)
		}
		if d.IsArray() {
			if err := c.parseArray(d, name, arg, hasArg); err != nil {
				return err
			}
		} else if d.IsRate() {
			if !hasArg || !strings.HasSuffix(arg, ")") {
				return fmt.Errorf("missing argument to store option '%s'", name)
			}
			p, err := parseTime(strings.TrimSuffix(arg, ")"))
			if err != nil || p <= 0 {
				return fmt.Errorf("error when processing store option '%s'", name)
			}
			c.Periods[d] = p
		} else if hasArg {
			return fmt.Errorf("unexpected argument to store option '%s'", name)
		}
		c.Store = append(c.Store, d)
	}
	return c.checkArrays()
}

// parseSize parses a number with an optional k, m or g suffix (2^10...).
func parseSize(s string) (int, error) {
	mul := 1
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mul = 1 << 10
	case strings.HasSuffix(s, "m"), strings.HasSuffix(s, "M"):
		mul = 1 << 20
	case strings.HasSuffix(s, "g"), strings.HasSuffix(s, "G"):
		mul = 1 << 30
	}
	if mul != 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	return n * mul, err
}

// parseTime parses a delay in HAProxy's format, milliseconds by default.
func parseTime(s string) (time.Duration, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, err
	}
	unit := map[string]time.Duration{"": time.Millisecond, "us": time.Microsecond, "ms": time.Millisecond,
		"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}
	u, ok := unit[s[i:]]
	if !ok {
		return 0, fmt.Errorf("unknown unit '%s'", s[i:])
	}
	return time.Duration(n) * u, nil
}
