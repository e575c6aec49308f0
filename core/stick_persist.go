package core

import (
	"luaproxy/core/config"
	"luaproxy/core/sample"
	"luaproxy/core/stktable"
)

// Server persistence through stick tables (manual 4.2, "stick on",
// "stick match", "stick store-request", "stick store-response"): a
// backend's match rules look the request's key up before load balancing
// and send it to the server stored there; its store rules remember the
// key with the server the request got, once that server is known (with
// the response head in HTTP, the connection in TCP), as HAProxy's
// process_sticking_rules and process_store_rules do.

// stickRule is one "stick" line of a backend.
type stickRule struct {
	condRule
	match, storeReq, storeRes bool
	expr                      *sample.Expr
	table                     *tableRef
}

// stickStore is a key waiting for its server.
type stickStore struct {
	t   *stickTable
	key string
}

// maxStickStores is HAProxy's limit of keys stored per stream (the size
// of its s->store array).
const maxStickStores = 8

// parseStick parses "stick on|match|store-request|store-response
// <pattern> [table <table>] [{if|unless} <cond>]".
func (e *Engine) parseStick(px *Proxy, l config.Line) error {
	args := l.Args
	switch {
	case px.Kind == "defaults":
		return l.Errorf("'stick' not allowed in 'defaults' section.")
	case px.Cap&CapBE == 0:
		e.warn(l.Warnf("'stick' ignored because %s has no backend capability.", px))
		return nil
	case len(args) < 3:
		return l.Errorf("'stick' expects 'on', 'match', 'store-request' or 'store-response' followed by a pattern.")
	}
	r := &stickRule{}
	switch args[1] {
	case "on":
		r.match, r.storeReq = true, true
	case "match":
		r.match = true
	case "store-request":
		r.storeReq = true
	case "store-response":
		r.storeRes = true
	default:
		return l.Errorf("'stick' expects 'on', 'match', 'store-request' or 'store-response'.")
	}
	x, err := sample.ParseExpr(args[2], e.scopeOf(px))
	if err != nil {
		return l.Errorf("'stick %s': %v", args[1], err)
	}
	r.expr = x
	n := 3
	r.table = &tableRef{e: e, name: px.Name}
	if n < len(args) && args[n] == "table" {
		if n+1 >= len(args) {
			return l.Errorf("'stick %s': missing table name after 'table'.", args[1])
		}
		r.table.name = args[n+1]
		n += 2
	}
	if r.condRule, err = e.parseCond(px, args[n:], l); err != nil {
		return err
	}
	checkTableLater(e, r.table, l, "stick", px)
	px.stick = append(px.stick, r)
	return nil
}

// stickRules runs be's match and store-request rules for the request: it
// keeps the keys to store and returns the server a match designates (nil:
// balance as usual). HAProxy compat: the first matching entry wins; a
// DOWN or disabled server is ignored unless "option persist".
func (s *Stream) stickRules(be *Proxy) *Server {
	var found *Server
	for _, r := range be.stick {
		if !(r.match || r.storeReq) || !r.ok(s) {
			continue
		}
		t := r.table.get()
		smp, ok := r.expr.Eval(s.SampleCtx())
		if t == nil || !ok {
			continue
		}
		k, ok := t.keyOf(smp)
		if !ok {
			continue
		}
		if r.match && found == nil {
			if e := t.Lookup(k); e != nil {
				if id, ok := t.Read(e, stktable.ServerID); ok {
					if srv := serverByID(be, int(id)); srv != nil && (srv.IsUp() || be.Options.Persist) {
						found = srv
					}
				}
				t.Touch(e)
			}
		}
		if r.storeReq {
			s.keepStickKey(t, k)
		}
	}
	return found
}

// keepStickKey remembers a key to store: only the first for a table, and
// at most maxStickStores.
func (s *Stream) keepStickKey(t *stickTable, k string) {
	if len(s.fx.stickStores) >= maxStickStores {
		return
	}
	for _, st := range s.fx.stickStores {
		if st.t == t {
			return
		}
	}
	s.fx.stickStores = append(s.fx.stickStores, stickStore{t, k})
}

// stickStore runs be's store-response rules and stores every kept key
// with the stream's server (none for a "non-stick" server).
func (s *Stream) stickStore(be *Proxy) {
	if len(be.stick) == 0 && len(s.fx.stickStores) == 0 {
		return // nothing to store: most backends, every request
	}
	ctx := s.SampleCtx()
	resp := ctx.Response
	ctx.Response = true
	for _, r := range be.stick {
		if !r.storeRes || !r.ok(s) {
			continue
		}
		t := r.table.get()
		smp, ok := r.expr.Eval(ctx)
		if t == nil || !ok {
			continue
		}
		if k, ok := t.keyOf(smp); ok {
			s.keepStickKey(t, k)
		}
	}
	ctx.Response = resp
	srv := s.Server
	if srv != nil && !srv.NonStick {
		for _, st := range s.fx.stickStores {
			if e, err := st.t.Get(st.key); err == nil {
				st.t.SetServer(e, int64(srv.ID), srv.Name)
			}
		}
	}
	s.fx.stickStores = s.fx.stickStores[:0]
}

// serverByID returns be's server with puid id, or nil.
func serverByID(be *Proxy, id int) *Server {
	for _, srv := range be.servers() {
		if srv.ID == id {
			return srv
		}
	}
	return nil
}

func init() {
	// The tables of stick rules store the server, whatever their "store"
	// list says (HAProxy adds server_id and server_key to them).
	OnConfigured(func(e *Engine) error {
		for _, px := range e.Proxies {
			for _, r := range px.stick {
				if t := r.table.get(); t != nil {
					t.Enable(stktable.ServerID)
					t.Enable(stktable.ServerKey)
				}
			}
		}
		return nil
	})
}
