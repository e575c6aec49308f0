package core

import (
	"strconv"
	"sync"
	"sync/atomic"

	"luaproxy/core/config"
	"luaproxy/core/stktable"
)

// The per-stream, per-proxy and per-server state behind the fetches of
// fetches_engine.go: transaction ids, unique ids, per-second rates,
// connection retries, listener counters and byte counts. The request and
// forwarding paths reach it through a few hooks (streamStarted,
// sessionStarted, beginTxn, endTxn, countBackend, countServer).

// fetchState is the part of a Stream the fetches read (Stream.fx).
type fetchState struct {
	// txnID is txn.id32: HAProxy's uniq_id, one per stream, a new one for
	// each request after the first of a keep-alive connection.
	txnID uint64
	// uid is the unique-id of the current transaction once generated.
	uid    string
	uidSet bool
	// connRetries counts the connection attempts after the first of the
	// current transaction (txn.conn_retries); redispatched says one of
	// them went to another server.
	connRetries  int
	redispatched bool
	// reused says the server connection came from the idle pool.
	reused bool
	// bind is the listener the connection came in on (nil if unknown).
	bind *Bind
	// in and out are the bytes of the finished transactions (HTTP):
	// received from and sent to the client.
	in, out int64
	// task counts the stream's calls and their times (stream_task.go).
	task taskClock
	// lastRule is the last rule that gave a final verdict; waiting the
	// rule that was running when the stream failed (stream_task.go).
	lastRule, waiting *config.Line
	// queue counts the streams served from the backend's queue and from
	// the server's while this one waited in them (%bq, %sq).
	queue queuePos
	// stickStores are the keys "stick store-request" rules keep until a
	// server is known (stick_persist.go).
	stickStores []stickStore
}

// freqCtr is HAProxy's per-second freq_ctr: the events of the current
// second, those of the previous one, and when the current one started.
// Counting takes no lock unless the period ends (add); the rotation swaps
// the current count out, so an event counted meanwhile lands in one
// period or the other, never in neither.
type freqCtr struct {
	mu   sync.Mutex   // serializes rotations and reads
	tick atomic.Int64 // start of the current period, ms; 0: never updated
	curr atomic.Int64
	prev int64 // under mu
}

const freqPeriod = 1000 // ms

// rotateLocked moves the counter to the period containing now.
func (f *freqCtr) rotateLocked(now int64) {
	tick := f.tick.Load()
	if tick == 0 {
		f.tick.Store(now - now%freqPeriod)
		return
	}
	elapsed := now - tick
	if elapsed < freqPeriod {
		return
	}
	if n := f.curr.Swap(0); elapsed < 2*freqPeriod {
		f.prev = n
	} else {
		f.prev = 0
	}
	f.tick.Store(tick + elapsed - elapsed%freqPeriod)
}

// add counts one event now.
func (f *freqCtr) add() { f.addAt(nowMS()) }

// addAt counts one event at now (ms).
func (f *freqCtr) addAt(now int64) {
	if t := f.tick.Load(); t != 0 && now >= t && now-t < freqPeriod {
		f.curr.Add(1)
		return
	}
	f.mu.Lock()
	f.rotateLocked(now)
	f.curr.Add(1)
	f.mu.Unlock()
}

// read returns the events over the last second as read_freq_ctr: the
// current second's count plus the previous one's weighted by the share of
// the second still to run.
func (f *freqCtr) read() int64 { return f.readAt(nowMS()) }

// readAt is read at now (ms).
func (f *freqCtr) readAt(now int64) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	tick := f.tick.Load()
	if tick == 0 {
		return 0
	}
	curr, past := f.curr.Load(), f.prev
	remain := tick + freqPeriod - now
	if remain < 0 {
		if remain+freqPeriod < 0 {
			return 0
		}
		past, curr = curr, 0
		remain += freqPeriod
	}
	return curr + past*remain/freqPeriod
}

// rates are the per-second counters of a proxy or a server.
type rates struct {
	sess, req freqCtr
}

// bindID is a listener's so_id: its "id" option, else its rank in its
// frontend.
func bindID(b *Bind) int {
	if id, err := strconv.Atoi(bindOption(b, "id")); err == nil {
		return id
	}
	return b.rank
}

// streamStarted is called when a connection is accepted by listener b:
// it records it (so_id, so_name, dst_conn) and gives the stream its id.
func (s *Stream) streamStarted(b *Bind) {
	s.fx.txnID = s.ID
	if b != nil {
		s.fx.bind, s.BindID = b, bindID(b)
		n := (&b.conns)
		n.Add(1)
		s.AtClose(func() { n.Add(-1) })
	}
}

// sessionStarted is called once the connection passed the tcp-request
// connection rules: the frontend counts a session (fe_sess_rate) and so
// do the entries tracked by those rules (sess_cnt, sess_rate).
func (s *Stream) sessionStarted() {
	(&s.Frontend.rates).sess.add()
	if c := countersOf(s, false); c != nil {
		for i := range c.sc {
			if te := &c.sc[i]; te.e != nil {
				te.t.Add(te.e, 1, stktable.SessCnt, stktable.SessRate)
			}
		}
	}
}

// beginTxn is called when a request was received, before its rules: the
// transaction gets its id (the stream's own for the first request) and
// the frontend counts a request (fe_req_rate).
func (s *Stream) beginTxn(tx *HTTPTxn) {
	if !tx.First {
		// HAProxy makes a new stream for each request after the first:
		// what it counts per stream starts again.
		s.fx.txnID = streamIDs.Add(1) - 1
		s.fx.lastRule, s.fx.waiting = nil, nil
	}
	// HAProxy's HTTP/1 stream starts with the request: its first call
	// processes it, whatever ran on the connection before.
	s.fx.task.restart()
	s.fx.queue = queuePos{}
	s.fx.stickStores = s.fx.stickStores[:0]
	s.fx.uid, s.fx.uidSet = "", false
	s.fx.connRetries, s.fx.redispatched, s.fx.reused = 0, false, false
	(&s.Frontend.rates).req.add()
	// Entries tracked by tcp-request rules count the request now; those
	// an http-request rule tracks count it when tracked (Stream.track).
	if c := countersOf(s, false); c != nil {
		for i := range c.sc {
			if te := &c.sc[i]; te.e != nil && !te.byHTTP {
				te.t.Add(te.e, 1, stktable.HTTPReqCnt, stktable.HTTPReqRate)
			}
		}
	}
}

// endTxn is called when a request was answered: its bytes are added to
// the stream's totals and to the tracked stick-table entries.
func (s *Stream) endTxn(tx *HTTPTxn) {
	in, out := inBytes(&tx.Req, tx.reqHeadIn), inBytes(&tx.Res, tx.resHeadIn)
	s.fx.in += in
	s.fx.out += out
	s.countBytes(in, out)
}

// countBackend counts a stream assigned to backend be (be_sess_rate).
func countBackend(be *Proxy) { (&be.rates).sess.add() }

// countServer counts a stream given a connection to srv (srv_sess_rate).
func countServer(srv *Server) { (&srv.rates).sess.add() }

// countBytes adds bytes received from (in) and sent to (out) the client
// to the entries the stream tracks.
func (s *Stream) countBytes(in, out int64) {
	c := countersOf(s, false)
	if c == nil {
		return
	}
	for i := range c.sc {
		te := &c.sc[i]
		if te.e == nil {
			continue
		}
		if in > 0 {
			te.t.Add(te.e, in, stktable.BytesInCnt, stktable.BytesInRate)
		}
		if out > 0 {
			te.t.Add(te.e, out, stktable.BytesOutCnt, stktable.BytesOutRate)
		}
	}
}

// uidConf is a proxy's "unique-id-format" and "unique-id-header".
type uidConf struct {
	format string
	line   config.Line
	lf     *logFormat
	header string
}

// uidConfOf returns the proxy's unique-id settings (nil before its first
// line was parsed).
func uidConfOf(px *Proxy) *uidConf {
	if px == nil {
		return nil
	}
	return px.uid
}

// parseFetchKeyword parses the proxy keywords of the fetches
// ("unique-id-format", "unique-id-header"); ok=false for other keywords.
// Called for every proxy line, it also gives a new proxy the settings of
// the last defaults section.
func (e *Engine) parseFetchKeyword(px *Proxy, l config.Line) (bool, error) {
	if px.uid == nil {
		c := &uidConf{}
		if px.Kind != "defaults" {
			if d := e.lastDefaults; d != nil {
				if dc := uidConfOf(d); dc != nil {
					*c = *dc
					if c.format != "" {
						c.lf, _ = compileLogFormat(c.format, e.scopeOf(px)) // checked in defaults
					}
				}
			}
		}
		px.uid = c
	}
	c := uidConfOf(px)
	switch l.Args[0] {
	case "unique-id-format":
		if len(l.Args) != 2 {
			return true, l.Errorf("'unique-id-format' expects one argument (the format string); use quotes to write spaces")
		}
		if l.Args[1] == "" {
			c.format, c.lf = "", nil
			return true, nil
		}
		if px.Kind == "defaults" {
			if _, err := compileLogFormat(l.Args[1], nil); err != nil {
				return true, l.Errorf("failed to parse unique-id-format : %v.", err)
			}
			c.format, c.line = l.Args[1], l
			return true, nil
		}
		lf, err := compileLogFormat(l.Args[1], e.scopeOf(px))
		if err != nil {
			return true, l.Errorf("failed to parse unique-id-format : %v.", err)
		}
		c.format, c.line, c.lf = l.Args[1], l, lf
		return true, nil
	case "unique-id-header":
		if len(l.Args) != 2 {
			return true, l.Errorf("'unique-id-header' expects 1 argument.")
		}
		if px.Cap&CapFE == 0 && px.Kind != "defaults" {
			return true, l.Errorf("'unique-id-header' not allowed in '%s' section", px.Kind)
		}
		c.header = l.Args[1]
		return true, nil
	}
	return false, nil
}

// uniqueID returns the transaction's unique id, generating it from the
// frontend's unique-id-format the first time; false without a format.
func (s *Stream) uniqueID() (string, bool) {
	if s.fx.uidSet {
		return s.fx.uid, true
	}
	c := uidConfOf(s.Frontend)
	if c == nil || c.lf == nil {
		return "", false
	}
	s.fx.uid = string(c.lf.render(s.SampleCtx(), nil))
	s.fx.uidSet = true
	return s.fx.uid, true
}

// addUniqueIDHeader adds the unique-id-header to the request sent to the
// server.
func (s *Stream) addUniqueIDHeader(tx *HTTPTxn) {
	c := uidConfOf(s.Frontend)
	if c == nil || c.header == "" {
		return
	}
	if id, ok := s.uniqueID(); ok {
		tx.Req.Add(c.header, id)
	}
}

// bindOption returns the value of option opt of a bind line ("" if none).
func bindOption(b *Bind, opt string) string { return b.opts[opt] }
