package core

import (
	"fmt"
	"strings"

	"luaproxy/core/config"
	"luaproxy/core/sample"
)

// The glue between the engine and the sample language: formats and
// conditions in rules, and the per-stream evaluation context.

// smpFormat is a log-format string of the sample language.
type smpFormat struct{ f *sample.Format }

func (f smpFormat) Render(s *Stream) string {
	if s == nil {
		return f.f.RenderString(nil)
	}
	// The stream's scratch buffer is taken for the time of the render: a
	// Lua fetch in the format may render another one.
	buf := s.fmtBuf
	s.fmtBuf = nil
	buf = f.f.Render(s.SampleCtx(), buf[:0])
	out := string(buf)
	if cap(buf) <= maxFmtBuf {
		s.fmtBuf = buf
	}
	return out
}

// maxFmtBuf bounds the scratch buffer a stream keeps between renders.
const maxFmtBuf = 4096

// renderIn renders f in ctx, a context without a stream (a health
// check's); formats without sample expressions render as themselves.
func renderIn(f Format, ctx *sample.Ctx) string {
	if sf, ok := f.(smpFormat); ok {
		return sf.f.RenderString(ctx)
	}
	return f.Render(nil)
}

// scopeOf returns the proxy's sample parsing scope (its pending object
// references are resolved after the whole configuration is read).
func (e *Engine) scopeOf(px *Proxy) *sample.Scope {
	if px.scope == nil {
		px.scope = &sample.Scope{Proxy: px.Name}
	}
	return px.scope
}

func init() {
	ParseCondition = func(e *Engine, px *Proxy, words []string, l config.Line) (Condition, int, error) {
		c, n, err := sample.ParseCond(words, e.aclsOf(px), l)
		if err != nil {
			return nil, 0, err // framed by the caller, as the rule's kind asks
		}
		return smpCond{c}, n, nil
	}
	ParseFormat = func(e *Engine, px *Proxy, s string, l config.Line) (Format, error) {
		if !strings.Contains(s, "%") {
			return literal(s), nil
		}
		f, err := sample.ParseFormatIn(s, e.scopeOf(px))
		if err != nil {
			return nil, l.Errorf("failed to parse log-format '%s' : %v", s, err)
		}
		return smpFormat{f}, nil
	}
}

// resolveSampleRefs binds the backend/frontend/server names used as
// sample arguments, once every proxy is known.
func (e *Engine) resolveSampleRefs(px *Proxy) error {
	return px.scope.Resolve(func(a *sample.Arg) error {
		switch a.Type {
		case sample.ArgBackend:
			if be := e.backends[a.Str]; be != nil {
				a.Ref = be
				return nil
			}
		case sample.ArgFrontend:
			if fe := e.frontends[a.Str]; fe != nil {
				a.Ref = fe
				return nil
			}
		case sample.ArgTable:
			if t := e.stickTable(a.Str); t != nil {
				a.Ref = t
				return nil
			}
		case sample.ArgServer:
			bname, sname, ok := strings.Cut(a.Str, "/")
			if !ok {
				bname, sname = px.Name, a.Str
			}
			if be := e.backends[bname]; be != nil {
				if srv := be.FindServer(sname); srv != nil {
					a.Ref = srv
					return nil
				}
			}
		default:
			return nil
		}
		return fmt.Errorf("parsing [%s:%d] : %v", px.Line.File, px.Line.Num, sample.ResolveError(a))
	})
}

// SampleCtx returns the stream's sample evaluation context, up to date
// with its HTTP transaction.
func (s *Stream) SampleCtx() *sample.Ctx {
	c := &s.smp
	if c.Stream == nil {
		c.Stream = s
		c.Src = addrPortOf(s.Client.RemoteAddr())
		c.Dst = addrPortOf(s.Client.LocalAddr())
		c.Thread = s.Thread
		c.Sess = &sample.Vars{}
	}
	if tx := s.HTTP; tx != nil {
		c.Req = &tx.Req
		if tx.Res.Status != 0 {
			c.Res = &tx.Res
		} else {
			c.Res = nil
		}
		if tx.vars == nil {
			tx.vars = &tx.varStore
		}
		c.Txn = tx.vars
	} else if c.Txn == nil {
		c.Txn = &sample.Vars{}
	}
	x := extOf(s)
	c.ReqRes, c.ReqResScope = &x.reqres, x.reqresScope
	c.ReqPayload = s.Req.Input()
	c.ResPayload = s.Res.Input()
	return c
}

// smpCond is an if/unless condition of the sample language.
type smpCond struct{ c *sample.Cond }

func (c smpCond) Eval(s *Stream) (bool, bool) { return c.c.Eval(s.SampleCtx()) }

// aclsOf returns the proxy's named ACLs.
func (e *Engine) aclsOf(px *Proxy) *sample.ACLSet {
	if px.acls == nil {
		px.acls = sample.NewACLSet(e.scopeOf(px))
	}
	return px.acls
}

// parseACL parses an "acl" line of a proxy.
func (e *Engine) parseACL(px *Proxy, l config.Line) error {
	if err := e.aclsOf(px).Add(l); err != nil {
		return l.Errorf("%v", err)
	}
	return nil
}
