package core

import (
	"fmt"
	"strconv"
	"strings"

	"luaproxy/core/stktable"
)

// The stick-table runtime API commands: "show table", "clear table",
// "set table", with HAProxy 2.6's answers.

// tableFilter is one "data.<type> <op> <value>" filter.
type tableFilter struct {
	d  stktable.DataType
	op string
	v  int64
}

func (f tableFilter) match(v int64) bool {
	switch f.op {
	case "eq":
		return v == f.v
	case "ne":
		return v != f.v
	case "le":
		return v <= f.v
	case "ge":
		return v >= f.v
	case "lt":
		return v < f.v
	}
	return v > f.v
}

// parseTableArgs parses the words after the table name: filters and/or
// "key <k>". The error is HAProxy's answer.
func parseTableArgs(t *stickTable, args []string) (filters []tableFilter, key string, hasKey bool, err error) {
	for i := 0; i < len(args); i++ {
		switch w := args[i]; {
		case w == "key":
			if i+1 >= len(args) {
				return nil, "", false, fmt.Errorf("Key value expected\n")
			}
			hasKey = true
			key, err = t.ParseKey(args[i+1])
			if err != nil && t.Type != stktable.KeyIP && t.Type != stktable.KeyIPv6 {
				return nil, "", false, fmt.Errorf("Invalid key\n")
			}
			i++
		case strings.HasPrefix(w, "data."):
			n := len(filters) + 1
			d, ok := stktable.ParseDataType(w[5:])
			if !ok {
				return nil, "", false, fmt.Errorf("Filter entry #%d: Unknown data type\n", n)
			}
			if !t.Stores(d) {
				return nil, "", false, fmt.Errorf("Filter entry #%d: Data type not stored in this table\n", n)
			}
			if i+1 >= len(args) || !strings.Contains(" eq ne le ge lt gt ", " "+args[i+1]+" ") {
				return nil, "", false, fmt.Errorf("Filter entry #%d: Require and operator among \"eq\", \"ne\", \"le\", \"ge\", \"lt\", \"gt\"\n", n)
			}
			var v int64
			if i+2 < len(args) {
				v, err = strconv.ParseInt(args[i+2], 10, 64)
			}
			if i+2 >= len(args) || err != nil {
				return nil, "", false, fmt.Errorf("Filter entry #%d: Require a valid integer value to compare against\n", n)
			}
			filters = append(filters, tableFilter{d, args[i+1], v})
			i += 2
		default:
			return nil, "", false, errBadTableArgs
		}
	}
	return filters, key, hasKey, nil
}

var errBadTableArgs = fmt.Errorf("Required arguments: <table> \"data.<store_data_type>\" <operator> <value> or <table> key <key>\n")

func (f tableFilter) accept(s stktable.Snapshot) bool { return f.match(s.Values[f.d]) }

// writeTableHeader prints "# table: fe, type: ip, size:102400, used:1".
func writeTableHeader(r *CLIRequest, t *stickTable) {
	r.Printf("# table: %s, type: %s, size:%d, used:%d\n", t.Name, t.Type, t.Size, t.Len())
}

// writeTableEntry prints one entry as HAProxy's stats_dump_entry_to_buffer.
func writeTableEntry(r *CLIRequest, t *stickTable, s stktable.Snapshot) {
	var b strings.Builder
	fmt.Fprintf(&b, "%p: key=%s use=%d exp=%d", s.Entry, t.FormatKey(s.Key), s.Use, s.Exp)
	for d := stktable.DataType(0); d < stktable.NumDataTypes; d++ {
		if !t.Declares(d) {
			continue
		}
		if d == stktable.ServerKey {
			fmt.Fprintf(&b, " %s=%s", d, s.ServerKey)
			continue
		}
		if d.IsArray() {
			// HAProxy compat: "gpc0=1 gpc1=0", "gpc0_rate(10000)=1"
			name, suffix, _ := strings.Cut(d.String(), "_")
			for i, v := range s.Elems[d] {
				if d.IsRate() {
					fmt.Fprintf(&b, " %s%d_%s(%d)=%d", name, i, suffix, t.Periods[d].Milliseconds(), v)
				} else {
					fmt.Fprintf(&b, " %s%d=%d", name, i, v)
				}
			}
			continue
		}
		if d.IsRate() {
			fmt.Fprintf(&b, " %s(%d)=%d", d, t.Periods[d].Milliseconds(), s.Values[d])
		} else {
			fmt.Fprintf(&b, " %s=%d", d, s.Values[d])
		}
	}
	b.WriteByte('\n')
	r.Print(b.String())
}

// tablesInDumpOrder returns the engine's tables as HAProxy lists them:
// the last declared first.
func tablesInDumpOrder(e *Engine) []*stickTable {
	et := tablesOf(e)
	et.mu.RLock()
	defer et.mu.RUnlock()
	out := make([]*stickTable, len(et.order))
	for i, t := range et.order {
		out[len(out)-1-i] = t
	}
	return out
}

func cliShowTable(r *CLIRequest) {
	name := r.Arg(2)
	if name == "" {
		for _, t := range tablesInDumpOrder(r.Engine) {
			writeTableHeader(r, t)
		}
		return
	}
	t := r.Engine.stickTable(name)
	if t == nil {
		r.Print("No such table\n")
		return
	}
	filters, key, hasKey, err := parseTableArgs(t, r.Args[3:])
	if err != nil {
		r.Print(err.Error())
		return
	}
	if hasKey {
		if key == "" {
			return // HAProxy answers nothing for an unparsable address
		}
		e := t.Lookup(key)
		if e == nil {
			return
		}
		writeTableHeader(r, t)
		for _, s := range t.Entries() {
			if s.Entry == e {
				writeTableEntry(r, t, s)
			}
		}
		return
	}
	writeTableHeader(r, t)
	for _, s := range t.Entries() {
		ok := true
		for _, f := range filters {
			ok = ok && f.accept(s)
		}
		if ok {
			writeTableEntry(r, t, s)
		}
	}
}

func cliClearTable(r *CLIRequest) {
	name := r.Arg(2)
	if name == "" {
		r.Print(errBadTableArgs.Error())
		return
	}
	t := r.Engine.stickTable(name)
	if t == nil {
		r.Print("No such table\n")
		return
	}
	filters, key, hasKey, err := parseTableArgs(t, r.Args[3:])
	if err != nil {
		r.Print(err.Error())
		return
	}
	if hasKey {
		if key != "" && !t.Delete(key) {
			r.Print("Entry is in use, cannot clear\n")
		}
		return
	}
	now := t.Entries()
	keep := map[*stktable.Entry]bool{}
	for _, s := range now {
		for _, f := range filters {
			if !f.accept(s) {
				keep[s.Entry] = true
			}
		}
	}
	t.Clear(func(e *stktable.Entry) bool { return !keep[e] })
}

func cliSetTable(r *CLIRequest) {
	name := r.Arg(2)
	if name == "" {
		r.Print("Required arguments: <table> key <key> [data.<store_data_type> <value>]*\n")
		return
	}
	t := r.Engine.stickTable(name)
	if t == nil {
		r.Print("No such table\n")
		return
	}
	if r.Arg(3) != "key" {
		return
	}
	if len(r.Args) < 5 {
		r.Print("Key value expected\n")
		return
	}
	if t.Type == stktable.KeyBinary {
		r.Print("Inserting keys into tables of type other than ip, ipv6, string and integer is not supported\n")
		return
	}
	key, err := t.ParseKey(r.Args[4])
	if err != nil {
		if t.Type == stktable.KeyInteger {
			r.Print("Invalid key\n")
		}
		return
	}
	e, err := t.Get(key)
	if err != nil {
		r.Print("Unable to allocate a new entry\n")
		return
	}
	args := r.Args[5:]
	for i := 0; i < len(args); i += 2 {
		d, ok := stktable.ParseDataType(strings.TrimPrefix(args[i], "data."))
		if !strings.HasPrefix(args[i], "data.") {
			r.Print("\"data.<type>\" followed by a value expected\n")
			return
		}
		if !ok {
			r.Print("Unknown data type\n")
			return
		}
		if !t.Stores(d) {
			r.Print("Data type not stored in this table\n")
			return
		}
		if i+1 >= len(args) {
			r.Print("Require a valid integer value to store\n")
			return
		}
		v, err := strconv.ParseInt(args[i+1], 10, 64)
		if err != nil {
			r.Print("Require a valid integer value to store\n")
			return
		}
		_ = t.Set(e, d, v)
	}
}

func init() {
	RegisterCLI(CLICommand{Words: []string{"show", "table"}, Level: CLIOperator, Fn: cliShowTable,
		Usage: "show table <table> [<filter>]*          : report table usage stats or dump this table's contents (filter: data/key)"})
	RegisterCLI(CLICommand{Words: []string{"clear", "table"}, Level: CLIOperator, Fn: cliClearTable,
		Usage: "clear table <table> [<filter>]*         : remove an entry from a table (filter: data/key)"})
	RegisterCLI(CLICommand{Words: []string{"set", "table"}, Level: CLIAdmin, Fn: cliSetTable,
		Usage: "set table <table> key <k> [data.* <v>]* : update or create a table entry's data"})
}
