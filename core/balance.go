package core

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"

	"luaproxy/core/config"
	"luaproxy/core/sample"
	"luaproxy/netio/h1"
)

// Balance is a backend's "balance" setting.
type Balance struct {
	// Algo is roundrobin, static-rr, leastconn, first, source, uri,
	// url_param, hdr, random, hash or rdp-cookie.
	Algo string
	// Hdr is the header name of "hdr(<name>)".
	Hdr string
	// URLParam is the query-string parameter of "url_param <param>".
	URLParam string
	// CheckPost records "url_param <param> check_post". HAProxy 2.6
	// accepts it and ignores it: the body of every POST is searched when
	// the query string lacks the parameter (get_server_ph_post).
	CheckPost bool
	// Expr is the sample expression of "hash <expr>", hashed as binary.
	Expr *sample.Expr
	// RDPCookie is the cookie name of "rdp-cookie(<name>)" ("mstshash"
	// when omitted).
	RDPCookie string
	// Factor is "hash-balance-factor": with consistent hashing (and
	// random), a server whose load would exceed Factor% of the average
	// is skipped for the next one on the ring. 0 disables it.
	Factor int
	// URIWhole, URILen and URIDepth are the options of "uri".
	URIWhole         bool
	URILen, URIDepth int
	// Draws is the number of draws of "random(<draws>)" (default 2).
	Draws int
	// Hash is "hash-type", set apart from "balance" (either may come
	// first, and a backend inherits both from defaults).
	Hash HashType
}

// hashed reports whether the algorithm hashes a key to pick a server
// (HAProxy's BE_LB_KIND_HI).
func (b *Balance) hashed() bool {
	switch b.Algo {
	case "source", "uri", "url_param", "hdr", "hash", "rdp-cookie":
		return true
	}
	return false
}

// lbState is a server's load-balancing bookkeeping (under Proxy.lbMu).
type lbState struct {
	cw int // smooth weighted round robin current weight
	// moved orders leastconn's ties: when the server's connection count
	// last changed (HAProxy requeues a server in its tree then, after the
	// servers of equal load).
	moved atomic.Uint64
}

// lbClock orders leastconn's ties (lbState.moved).
var lbClock atomic.Uint64

// lbInput is what hash-based algorithms look at.
type lbInput struct {
	src netip.Addr
	req *h1.Message
	// strm is the stream being balanced: "balance hash" evaluates its
	// expression on it, "rdp-cookie" reads its request buffer (nil in
	// unit tests).
	strm *Stream
	// stick is the server a stick match rule designated, tried before
	// load balancing (nil: none).
	stick *Server
	// prefer is a server to use when it is usable and has a free slot
	// (the session holds a private connection to it).
	prefer *Server
	// onQueue, when set, is called when the stream enters the queue: the
	// channel it returns ends the wait with errClientAbort when closed
	// (the client left, abortonclose.go), stop is called when the wait
	// ends.
	onQueue func() (abort <-chan struct{}, stop func())
}

// Errors of server selection, answered 503 in HTTP.
var (
	errNoServer     = errors.New("no server available")
	errQueueTimeout = errors.New("queue timeout")
)

func (e *Engine) parseBalance(px *Proxy, l config.Line) error {
	args := l.Args
	if len(args) < 2 {
		return l.Errorf("'balance' requires an algorithm.")
	}
	b := Balance{Algo: args[1], Draws: 2, Hash: px.Balance.Hash, Factor: px.Balance.Factor}
	switch {
	case args[1] == "roundrobin", args[1] == "static-rr", args[1] == "leastconn",
		args[1] == "first", args[1] == "source":
	case args[1] == "random" || strings.HasPrefix(args[1], "random("):
		b.Algo = "random"
		if inner, ok := parenArg(args[1]); ok {
			n, err := strconv.Atoi(inner)
			if err != nil || n < 1 {
				return l.Errorf("'balance random' : draws must be a positive integer")
			}
			b.Draws = n
		}
	case args[1] == "uri":
		for i := 2; i < len(args); i++ {
			switch args[i] {
			case "whole":
				b.URIWhole = true
			case "len", "depth":
				if i+1 >= len(args) {
					return l.Errorf("'balance uri %s' expects a positive integer", args[i])
				}
				n, err := strconv.Atoi(args[i+1])
				if err != nil || n < 0 {
					return l.Errorf("'balance uri %s' expects a positive integer", args[i])
				}
				if args[i] == "len" {
					b.URILen = n
				} else {
					b.URIDepth = n
				}
				i++
			case "path-only":
			default:
				return l.Errorf("'balance uri' only accepts parameters 'whole', 'len', 'depth' and 'path-only' (got '%s').", args[i])
			}
		}
	case args[1] == "url_param":
		if len(args) < 3 {
			return l.Errorf("balance url_param requires an URL parameter name.")
		}
		if len(args) > 3 {
			if args[3] != "check_post" {
				return l.Errorf("balance url_param only accepts 'check_post' modifier (got '%s').", args[3])
			}
			// HAProxy compat: a <max_wait> after check_post is ignored.
			b.CheckPost = true
		}
		b.URLParam = args[2]
	case strings.HasPrefix(args[1], "hdr("):
		inner, ok := parenArg(args[1])
		if !ok || inner == "" {
			return l.Errorf("header name is missing in 'balance hdr(name)'.")
		}
		b.Algo, b.Hdr = "hdr", inner
	case args[1] == "hash":
		if len(args) < 3 {
			return l.Errorf("balance hash requires a sample expression.")
		}
		if len(args) > 3 {
			return l.Errorf("balance hash takes no other argument (got '%s').", args[3])
		}
		x, err := sample.ParseExpr(args[2], e.scopeOf(px))
		if err != nil {
			// HAProxy reports it when checking the proxy, not at the line.
			return &config.Error{Msg: fmt.Sprintf("%s '%s' [%s:%d]: failed to parse 'balance hash' expression '%s' in : %v.",
				px.Kind, px.Name, px.Line.File, px.Line.Num, args[2], err)}
		}
		if err := x.Check(sample.BESetSrv); err != nil {
			return &config.Error{Msg: fmt.Sprintf("%s '%s' [%s:%d]: error detected while parsing 'balance hash' expression '%s' which requires information from %s, which is not available here.",
				px.Kind, px.Name, px.Line.File, px.Line.Num, args[2], x.Use())}
		}
		b.Expr = x
	case args[1] == "rdp-cookie" || strings.HasPrefix(args[1], "rdp-cookie("):
		b.Algo, b.RDPCookie = "rdp-cookie", "mstshash"
		if strings.HasPrefix(args[1], "rdp-cookie(") {
			// HAProxy takes the name up to the first ')', if any.
			name := args[1][len("rdp-cookie("):]
			if i := strings.IndexByte(name, ')'); i >= 0 {
				name = name[:i]
			}
			if name == "" {
				return l.Errorf("balance rdp-cookie : missing cookie name.")
			}
			b.RDPCookie = name
		}
	default:
		return l.Errorf("'balance' only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'uri', 'url_param', 'hdr(name)', 'rdp-cookie(name)', 'random' and 'first' options.")
	}
	px.Balance = b
	return nil
}

// checkBalance warns, as HAProxy's configuration check does, that a
// "balance hash" expression reading the request buffer sees nothing in
// an HTTP backend.
func (e *Engine) checkBalance(px *Proxy) {
	b := &px.Balance
	if b.Algo == "hash" && b.Expr != nil && px.Mode == "http" && b.Expr.Use()&sample.UseL6Req != 0 {
		e.warn(&config.Error{Level: config.LevelWarning, Warning: true,
			Msg: fmt.Sprintf("%s '%s' [%s:%d]: L6 sample fetch <%s> will be ignored in 'balance hash' expression in HTTP mode.",
				px.Kind, px.Name, px.Line.File, px.Line.Num, b.Expr.Text)})
	}
}

func parenArg(s string) (string, bool) {
	i := strings.IndexByte(s, '(')
	if i < 0 || !strings.HasSuffix(s, ")") {
		return "", false
	}
	return s[i+1 : len(s)-1], true
}

// lbRebuild recomputes the usable server lists after a state or weight
// change.
func (px *Proxy) lbRebuild() {
	var active, backup []*Server
	for _, s := range px.servers() {
		s.mu.Lock()
		ok := s.usableLocked()
		s.mu.Unlock()
		if !ok {
			continue
		}
		if s.Backup {
			backup = append(backup, s)
		} else {
			active = append(active, s)
		}
	}
	// Declaration order, not id order: HAProxy walks its server list to
	// build the hash map and to find the first backup.
	px.lbMu.Lock()
	px.lbActive, px.lbBackup = active, backup
	px.lbHashMap, px.lbRing = nil, nil
	px.lbMu.Unlock()
}

// candidates returns the servers load balancing chooses from: the active
// ones, else the first backup (every backup with "option allbackups").
// px.lbMu must be held.
func (px *Proxy) candidatesLocked() []*Server {
	if len(px.lbActive) > 0 {
		return px.lbActive
	}
	if len(px.lbBackup) == 0 || px.Options.AllBackups {
		return px.lbBackup
	}
	return px.lbBackup[:1]
}

// pickServer chooses a server that has a free slot. It returns nil and
// full=true when servers are usable but all at their maxconn (the caller
// queues), nil and false when none is usable. exclude is skipped when
// another server is usable (redispatch). A hash designates its server
// whatever its load: assigned is then true, and the server may be full
// (the stream waits in its queue).
func (px *Proxy) pickServer(in *lbInput, exclude *Server) (srv *Server, full, assigned bool) {
	b := &px.Balance
	var h uint32
	var hashOK bool
	if b.hashed() {
		// Before taking lbMu: "balance hash" may run any fetch, Lua's
		// included.
		h, hashOK = b.keyHash(in)
	}
	px.lbMu.Lock()
	defer px.lbMu.Unlock()
	cands := px.candidatesLocked()
	if len(cands) == 0 {
		return nil, false, false
	}
	if len(cands) == 1 && (b.Algo == "roundrobin" || b.Algo == "static-rr") {
		// One server: the round robin's choice, without its bookkeeping
		// (its weight moves nothing)
		if srv = cands[0]; srv.Full() {
			return nil, true, false
		}
		return srv, false, false
	}
	hmap := func() []*Server { // HAProxy's map for map-based hashing
		if px.lbHashMap == nil {
			px.lbHashMap = hashMap(cands)
		}
		return px.lbHashMap
	}
	if exclude != nil && len(cands) > 1 {
		kept := make([]*Server, 0, len(cands)-1)
		for _, s := range cands {
			if s != exclude {
				kept = append(kept, s)
			}
		}
		cands = kept
		hmap = func() []*Server { return hashMap(cands) }
	}
	ring := func() hashRing { // consistent hashing's ring (random uses it too)
		if px.lbRing == nil {
			px.lbRing = buildRing(px.candidatesLocked())
		}
		return px.lbRing
	}
	switch b.Algo {
	case "leastconn":
		srv = leastConn(cands)
	case "first":
		// The lowest id first, whatever the declaration order.
		for _, s := range cands {
			if !s.Full() && (srv == nil || s.ID < srv.ID) {
				srv = s
			}
		}
	case "source", "uri", "url_param", "hdr", "hash", "rdp-cookie":
		switch {
		case !hashOK:
		case b.Hash.Consistent:
			srv = ring().pickBounded(h, exclude, px.boundLocked())
		default:
			srv = hashPick(hmap(), h)
		}
		if srv != nil {
			return srv, false, true
		}
	case "random":
		srv = randomPick(ring(), b.Draws, exclude, px.boundLocked())
	}
	if srv == nil {
		srv = px.smoothRR(cands)
	}
	if srv == nil || srv.Full() {
		return nil, true, false
	}
	return srv, false, false
}

// smoothRR is nginx's smooth weighted round robin over servers with a free
// slot. px.lbMu must be held.
func (px *Proxy) smoothRR(cands []*Server) *Server {
	total := 0
	var best *Server
	for _, s := range cands {
		if s.Full() {
			continue
		}
		w := s.weightForLB()
		s.lb.cw += w
		total += w
		if best == nil || s.lb.cw > best.lb.cw {
			best = s
		}
	}
	if best != nil {
		best.lb.cw -= total
	}
	return best
}

func (s *Server) weightForLB() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.weight
}

func leastConn(cands []*Server) *Server {
	var best *Server
	var bc, bw int64
	for _, s := range cands {
		if s.Full() {
			continue
		}
		c, w := s.Conns.Load(), int64(s.weightForLB())
		if best == nil || c*bw < bc*w || c*bw == bc*w && s.lb.moved.Load() < best.lb.moved.Load() {
			best, bc, bw = s, c, w
		}
	}
	return best
}

// hashMap is HAProxy's server map for map-based hashing
// (recalc_server_map): one slot per unit of effective weight (16 per unit
// of weight), servers spread over it in proportion to their weights, the
// first declared first among equals.
func hashMap(cands []*Server) []*Server {
	ws := make([]int, len(cands))
	tot := 0
	for i, s := range cands {
		ws[i] = s.weightForLB() * 16
		tot += ws[i]
	}
	if tot == 0 {
		return nil
	}
	m := make([]*Server, tot)
	score := make([]int, len(cands))
	for o := range m {
		best, top := -1, 0
		for i := range cands {
			if ws[i] == 0 {
				continue
			}
			score[i] += ws[i]
			if v := (score[i] + tot) / tot; best < 0 || v > top {
				best, top = i, v
			}
		}
		m[o] = cands[best]
		score[best] -= tot
	}
	return m
}

// hashPick returns the server of hash h in map m.
func hashPick(m []*Server, h uint32) *Server {
	if len(m) == 0 {
		return nil
	}
	return m[h%uint32(len(m))]
}

// sourceHash is "balance source"'s hash: the address's 32-bit words,
// XORed (get_server_sh).
func sourceHash(a netip.Addr) uint32 {
	b := a.Unmap().AsSlice()
	var h uint32
	for i := 0; i+4 <= len(b); i += 4 {
		h ^= uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])
	}
	return h
}

// randomPick draws random points on the ring and keeps, among the
// servers drawn, the least loaded for its weight (get_server_rnd).
func randomPick(r hashRing, draws int, avoid *Server, ok func(*Server) bool) *Server {
	var best *Server
	for range draws {
		s := r.pickBounded(rand.Uint32(), avoid, ok)
		if s == nil {
			return nil
		}
		if best == nil || best.Full() ||
			!s.Full() && s.Conns.Load()*int64(best.weightForLB()) < best.Conns.Load()*int64(s.weightForLB()) {
			best = s
		}
	}
	return best
}

// keyHash returns the hash of the request's key for the hash-based
// algorithms, false when the request has none (the caller falls back to
// round robin, as HAProxy does).
func (b *Balance) keyHash(in *lbInput) (uint32, bool) {
	if in == nil {
		return 0, false
	}
	switch b.Algo {
	case "source":
		if in.src.IsValid() {
			return b.Hash.modify(sourceHash(in.src)), true
		}
	case "uri":
		if in.req != nil {
			return b.Hash.hashKey(b.uriKey(in.req)), true
		}
	case "url_param":
		if in.req == nil {
			break
		}
		if v, ok := urlParam(in.req.URI, b.URLParam); ok {
			return b.Hash.hashKey(v), true
		}
		if in.req.Method == "POST" {
			if v, ok := postParam(in.req.Body, b.URLParam); ok {
				return b.Hash.hashKey(v), true
			}
		}
	case "hdr":
		if in.req != nil {
			if v, ok := in.req.Get(b.Hdr); ok {
				return b.Hash.hashKey(v), true
			}
		}
	case "hash":
		if in.strm != nil && b.Expr != nil {
			// HAProxy compat: the sample is hashed as binary (an
			// integer as its 8 big-endian bytes, an address as its
			// 4 or 16 bytes).
			if smp, ok := b.Expr.EvalAs(in.strm.SampleCtx(), sample.TypeBin); ok {
				return b.Hash.hashKey(smp.Str), true
			}
		}
	case "rdp-cookie":
		if in.strm != nil {
			if v, ok, _ := sample.RDPCookie(in.strm.Req.Input(), b.RDPCookie); ok && v != "" {
				return b.Hash.hashKey(v), true
			}
		}
	}
	return 0, false
}

// needsPostBody reports whether load balancing looks for the url_param
// parameter in the body of req: a POST whose query string lacks it.
func (b *Balance) needsPostBody(req *h1.Message) bool {
	if b.Algo != "url_param" || req.Method != "POST" {
		return false
	}
	_, ok := urlParam(req.URI, b.URLParam)
	return !ok
}

// postParam returns the value of parameter name in a POST body, as
// HAProxy's get_server_ph_post reads it: the parameters are "&"-separated
// "name=value" pairs; the value runs to the next '&' or the end of the
// body, or stops empty when it starts with white space. A value starting
// with any other byte that is not an HTTP token character means the body
// is no URL-encoded form: no parameter at all. HAProxy compat: only that
// first byte is tested (the loop looks at the start, not the cursor).
// HAProxy scans the first HTX data block; this scans the body buffered
// before load balancing, the same bytes when the body came in one piece.
func postParam(body []byte, name string) (string, bool) {
	params := body
	for len(params) > len(name) {
		if params[len(name)] == '=' && string(params[:len(name)]) == name {
			v := params[len(name)+1:]
			end := bytes.IndexByte(v, '&')
			if end < 0 {
				end = len(v)
			}
			if end > 0 && !isTokenChar(v[0]) {
				if isLWS(v[0]) {
					return "", true
				}
				return "", false
			}
			return string(v[:end]), true
		}
		i := bytes.IndexByte(params, '&')
		if i < 0 {
			return "", false
		}
		params = params[i+1:]
	}
	return "", false
}

// isTokenChar reports whether c is an HTTP token character (tchar).
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isLWS reports whether c is linear white space (HTTP_IS_LWS).
func isLWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// urlParam returns the value of the first "name=value" parameter of the
// URI's query string (get_server_ph).
func urlParam(uri, name string) (string, bool) {
	_, q, ok := strings.Cut(uri, "?")
	if !ok {
		return "", false
	}
	for q != "" {
		var p string
		p, q, _ = strings.Cut(q, "&")
		if v, ok := strings.CutPrefix(p, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// uriKey returns the part of the URI "balance uri" hashes.
func (b *Balance) uriKey(req *h1.Message) string {
	u := req.URI
	if !b.URIWhole {
		if i := strings.IndexByte(u, '?'); i >= 0 {
			u = u[:i]
		}
	}
	if b.URIDepth > 0 {
		n := 0
		for i := 0; i < len(u); i++ {
			if u[i] == '/' {
				n++
				if n > b.URIDepth {
					u = u[:i]
					break
				}
			}
		}
	}
	if b.URILen > 0 && len(u) > b.URILen {
		u = u[:b.URILen]
	}
	return u
}

// preferred returns the input's preferred server when it belongs to px
// and load balancing may pick it.
func (in *lbInput) preferred(px *Proxy) *Server {
	if in == nil || in.prefer == nil || in.prefer.Proxy != px {
		return nil
	}
	p := in.prefer
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.deleted || !p.usableLocked() {
		return nil
	}
	return p
}

// tryTake takes a connection slot if the server has one.
func (s *Server) tryTake() bool {
	for {
		n := s.Conns.Load()
		if s.MaxConn > 0 && n >= int64(s.MaxConn) {
			return false
		}
		if s.Conns.CompareAndSwap(n, n+1) {
			s.Total.Add(1)
			s.lb.moved.Store(lbClock.Add(1))
			return true
		}
	}
}
