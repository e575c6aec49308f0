package core

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"luaproxy/core/config"
	"luaproxy/core/sample"
	"luaproxy/core/stktable"
)

// Stick tables in the engine (manual section 11): the "stick-table"
// proxy keyword, the per-stream tracked entries (sc0..sc2) and the
// track-sc*, sc-inc-gpc*, sc-set-gpt0 actions. Fetches and converters are
// in stick_fetch.go, the runtime API in stick_cli.go.

// stickTable is a proxy's stick table.
type stickTable struct {
	*stktable.Table
	px *Proxy
}

// engineTables holds an engine's tables by name, in declaration order.
type engineTables struct {
	mu     sync.RWMutex
	byName map[string]*stickTable
	order  []*stickTable
}

// tablesOf returns the engine's stick tables (made with the engine).
func tablesOf(e *Engine) *engineTables { return &e.tables }

// stickTable returns the table named name, or nil.
func (e *Engine) stickTable(name string) *stickTable {
	et := tablesOf(e)
	et.mu.RLock()
	defer et.mu.RUnlock()
	return et.byName[name]
}

// parseStickTable parses "stick-table type <type> size <size> ...".
func (e *Engine) parseStickTable(px *Proxy, l config.Line) error {
	if px.Kind == "defaults" {
		return l.Errorf("'stick-table' is not supported in 'defaults' section.")
	}
	cfg, err := stktable.ParseConfig(px.Name, l.Args[1:])
	if err != nil {
		return l.Errorf("stick-table: %v.", err)
	}
	et := tablesOf(e)
	et.mu.Lock()
	defer et.mu.Unlock()
	if et.byName[px.Name] != nil {
		return l.Errorf("only one stick-table per proxy is supported (proxy '%s').", px.Name)
	}
	t := &stickTable{Table: stktable.New(cfg), px: px}
	if et.byName == nil {
		et.byName = map[string]*stickTable{}
	}
	et.byName[px.Name] = t
	et.order = append(et.order, t)
	return nil
}

// keyOf converts a sample to a key of the table; false if it cannot.
func (t *stickTable) keyOf(smp sample.Sample) (string, bool) {
	switch t.Type {
	case stktable.KeyIP, stktable.KeyIPv6:
		if smp.Type != sample.TypeIPv4 && smp.Type != sample.TypeIPv6 {
			if !sample.Convert(&smp, sample.TypeIPv4) && !sample.Convert(&smp, sample.TypeIPv6) {
				return "", false
			}
		}
		return t.IPKey(smp.Addr)
	case stktable.KeyInteger:
		if !sample.Convert(&smp, sample.TypeSInt) {
			return "", false
		}
		return t.IntKey(smp.Int), true
	case stktable.KeyBinary:
		if !sample.Convert(&smp, sample.TypeBin) {
			return "", false
		}
	default:
		if !sample.Convert(&smp, sample.TypeStr) {
			return "", false
		}
	}
	return t.StringKey(smp.Str), true
}

// Contains tells whether the sample's key is in the table (in_table).
func (t *stickTable) Contains(_ *sample.Ctx, smp sample.Sample) bool {
	k, ok := t.keyOf(smp)
	return ok && t.Lookup(k) != nil
}

// stickSlot is the stream slot holding a *stickCounters.
var stickSlot = NewExtSlot()

// maxStickCounters is HAProxy's MAX_SESS_STKCTR: sc0, sc1, sc2.
const maxStickCounters = 3

// stickCounters are a stream's tracked entries.
type stickCounters struct {
	sc [maxStickCounters]trackedEntry
}

// trackedEntry is one sticky counter: the entry a stream tracks.
type trackedEntry struct {
	t *stickTable
	e *stktable.Entry
	// byHTTP: an http-request rule of transaction txSeq (HTTPTxn.seq)
	// tracked the entry: HAProxy releases those at the end of the
	// transaction, which here happens when the next transaction tracks
	// again.
	byHTTP bool
	txSeq  uint64
}

func countersOf(s *Stream, create bool) *stickCounters {
	c, _ := s.Ext[stickSlot].(*stickCounters)
	if c == nil && create {
		c = &stickCounters{}
		s.Ext[stickSlot] = c
		s.AtClose(func() {
			for i := range c.sc {
				c.release(i)
			}
		})
	}
	return c
}

// release ends the tracking of counter i: conn_cur drops.
func (c *stickCounters) release(i int) {
	te := &c.sc[i]
	if te.e == nil {
		return
	}
	te.t.Add(te.e, -1, stktable.ConnCur)
	te.t.Release(te.e)
	*te = trackedEntry{}
}

// tracked returns the entry tracked by counter i of s, or nil.
func tracked(s *Stream, i int) *trackedEntry {
	if s == nil {
		return nil
	}
	c := countersOf(s, false)
	if c == nil || c.sc[i].e == nil {
		return nil
	}
	return &c.sc[i]
}

// track makes counter i of s track key k of t, as HAProxy's
// stream_track_stkctr: nothing if the counter already tracks an entry;
// else the entry counts a new connection (conn_cur, conn_cnt, conn_rate),
// and a new HTTP request when tracked by an HTTP rule.
func (s *Stream) track(i int, t *stickTable, k string, tx *HTTPTxn) {
	c := countersOf(s, true)
	if te := &c.sc[i]; te.e != nil {
		if tx == nil || !te.byHTTP || te.txSeq == tx.seq {
			return
		}
		c.release(i) // tracked by a previous transaction's rule
	}
	e, err := t.Track(k)
	if err != nil {
		return
	}
	t.Add(e, 1, stktable.ConnCur)
	t.Add(e, 1, stktable.ConnCnt, stktable.ConnRate)
	if tx != nil {
		t.Add(e, 1, stktable.HTTPReqCnt, stktable.HTTPReqRate)
		countStatus(t, e, tx.Status)
	}
	c.sc[i] = trackedEntry{t: t, e: e, byHTTP: tx != nil}
	if tx != nil {
		c.sc[i].txSeq = tx.seq
	}
}

// countStatus counts a response status in entry e: http_err for a 4xx,
// http_fail for a 5xx other than 501 and 505 (which clients cause).
func countStatus(t *stickTable, e *stktable.Entry, status int) {
	switch {
	case status >= 400 && status < 500:
		t.Add(e, 1, stktable.HTTPErrCnt, stktable.HTTPErrRate)
	case status >= 500 && status != 501 && status != 505:
		t.Add(e, 1, stktable.HTTPFailCnt, stktable.HTTPFailRate)
	}
}

// countResponse counts a server's response status in every entry the
// stream tracks, as HAProxy does when the response head arrives (before
// the http-response rules, which see the counts).
func (s *Stream) countResponse(status int) {
	c := countersOf(s, false)
	if c == nil {
		return
	}
	for i := range c.sc {
		if te := &c.sc[i]; te.e != nil {
			countStatus(te.t, te.e, status)
		}
	}
}

// ruleWords returns the words of an action, up to its condition.
func ruleWords(words []string) []string {
	for i, w := range words {
		if w == "if" || w == "unless" {
			return words[:i]
		}
	}
	return words
}

// tableRef is a table named in a rule, resolved on first use (tables may
// be declared after the rule).
type tableRef struct {
	e    *Engine
	name string
	once sync.Once
	t    *stickTable
}

func (r *tableRef) get() *stickTable {
	r.once.Do(func() { r.t = r.e.stickTable(r.name) })
	return r.t
}

// parseTrackSC parses "track-sc<N> <key> [table <table>]".
func parseTrackSC(e *Engine, px *Proxy, rs RuleSet, args []string, l config.Line) (Action, int, error) {
	kw := args[0]
	idx := int(kw[len(kw)-1] - '0')
	words := ruleWords(args)
	x, err := e.parseRuleExpr(px, rs, kw, words, 1, l)
	if err != nil {
		return nil, 0, err
	}
	n := 2
	ref := &tableRef{e: e, name: px.Name}
	if len(words) > 2 && words[2] == "table" {
		n = 4
		switch {
		case len(words) >= 4:
			ref.name = words[3]
		case rs.isTCP():
			// HAProxy compat: tcp rules take the missing name as ""
			// and report the table as not found
			ref.name, n = "", 3
		default:
			return nil, 0, ruleErrorf(px, rs, kw, l, "missing table name")
		}
	}
	checkTableLater(e, ref, l, kw, px)
	httpRule := rs == HTTPRequest || rs == HTTPResponse
	return ActionFunc(func(s *Stream) Verdict {
		t := ref.get()
		if t == nil {
			return Continue
		}
		smp, ok := x.Eval(s.SampleCtx())
		if !ok {
			return Continue
		}
		k, ok := t.keyOf(smp)
		if !ok {
			return Continue
		}
		tx := s.HTTP
		if !httpRule {
			tx = nil
		}
		s.track(idx, t, k, tx)
		return Continue
	}), n, nil
}

// parseSCGPC parses "sc-inc-gpc0(<sc-id>)", "sc-inc-gpc1(<sc-id>)" and
// "sc-set-gpt0(<sc-id>) { <int> | <expr> }".
func parseSCGPC(e *Engine, px *Proxy, rs RuleSet, args []string, l config.Line) (Action, int, error) {
	kw := args[0]
	idx := 0
	if strings.HasSuffix(kw, ")") {
		idx = int(kw[len(kw)-2] - '0')
	}
	switch {
	case strings.HasPrefix(kw, "sc-inc-gpc0"), strings.HasPrefix(kw, "sc-inc-gpc1"):
		cnt, rate := stktable.GPC0, stktable.GPC0Rate
		if strings.HasPrefix(kw, "sc-inc-gpc1") {
			cnt, rate = stktable.GPC1, stktable.GPC1Rate
		}
		return ActionFunc(func(s *Stream) Verdict {
			if te := tracked(s, idx); te != nil {
				te.t.Add(te.e, 1, cnt, rate)
			}
			return Continue
		}), 1, nil
	}
	return e.parseSetGPT(px, rs, args, l, idx, func(te *trackedEntry, v int64) {
		_ = te.t.Set(te.e, stktable.GPT0, v)
	})
}

// parseSetGPT parses the value of sc-set-gpt0 and sc-set-gpt, an integer
// or a sample expression, into the action that hands it to set with the
// entry tracked by counter sc.
func (e *Engine) parseSetGPT(px *Proxy, rs RuleSet, args []string, l config.Line, sc int, set func(*trackedEntry, int64)) (Action, int, error) {
	kw := args[0]
	words := ruleWords(args)
	n := 2
	if len(words) < 2 || words[1] == "" {
		// HAProxy compat: no value reads as the integer 0 (strtol(""))
		words, n = []string{kw, "0"}, 1
	}
	var x *sample.Expr
	v, err := strconv.ParseInt(words[1], 10, 64)
	if err != nil {
		if x, err = e.parseRuleExpr(px, rs, kw, words, 1, l); err != nil {
			return nil, 0, err
		}
	}
	return ActionFunc(func(s *Stream) Verdict {
		te := tracked(s, sc)
		if te == nil {
			return Continue
		}
		val := v
		if x != nil {
			smp, ok := x.EvalAs(s.SampleCtx(), sample.TypeSInt)
			if !ok {
				return Continue
			}
			val = smp.Int
		}
		set(te, val)
		return Continue
	}), n, nil
}

// pendingTableChecks are the table names used by rules, checked once
// the configuration is read.
var pendingTableChecks sync.Map // *Engine -> *[]tableCheck

type tableCheck struct {
	ref *tableRef
	l   config.Line
	kw  string
	px  *Proxy
}

func checkTableLater(e *Engine, ref *tableRef, l config.Line, kw string, px *Proxy) {
	v, _ := pendingTableChecks.LoadOrStore(e, &[]tableCheck{})
	list := v.(*[]tableCheck)
	*list = append(*list, tableCheck{ref, l, kw, px})
}

// checkTables reports the first table named by a rule that does not
// exist, once the whole configuration is read (also by -c).
func (e *Engine) checkTables() error {
	v, ok := pendingTableChecks.LoadAndDelete(e)
	if !ok {
		return nil
	}
	for _, c := range *v.(*[]tableCheck) {
		if c.ref.get() != nil {
			continue
		}
		if strings.HasPrefix(c.kw, "track-sc") {
			// HAProxy compat: reported by the proxy's final checks
			return fmt.Errorf("Proxy '%s': unable to find table '%s' referenced by %s.", c.px.Name, c.ref.name, c.kw)
		}
		return c.l.Errorf("'%s' : unable to find table '%s'.", c.kw, c.ref.name)
	}
	return nil
}

func init() {
	for i := 0; i < maxStickCounters; i++ {
		RegisterAction(fmt.Sprintf("track-sc%d", i), parseTrackSC)
		if i == 0 {
			// HAProxy compat: without "(<sc-id>)" they use counter 0
			for _, a := range []string{"sc-inc-gpc0", "sc-inc-gpc1", "sc-set-gpt0"} {
				RegisterAction(a, parseSCGPC)
			}
		}
		for _, a := range []string{"sc-inc-gpc0", "sc-inc-gpc1", "sc-set-gpt0"} {
			RegisterAction(fmt.Sprintf("%s(%d)", a, i), parseSCGPC)
		}
	}
}
