package core

import (
	"fmt"
	"strings"
	"time"

	"luaproxy/core/sample"
)

// More fetches reading the engine's state (manual 7.3.2 and 7.3.3):
// transaction ids, rates, weights, timeouts, byte counts, dates and
// timers, and the converters naming proxies and servers (7.3.1).

// beOrFe is the stream's backend, else its frontend (HAProxy's s->be
// starts as the frontend).
func beOrFe(s *Stream) *Proxy {
	if s.Backend != nil {
		return s.Backend
	}
	return s.Frontend
}

// srvByName resolves "[backend/]server" at run time (converters).
func srvByName(s *Stream, name string) *Server {
	bname, sname, ok := strings.Cut(name, "/")
	var px *Proxy
	if ok {
		for _, p := range s.Engine.Proxies {
			if p.Name == bname && p.Cap&CapBE != 0 {
				px = p
				break
			}
		}
	} else {
		sname = bname
		px = beOrFe(s)
	}
	if px == nil {
		return nil
	}
	for _, srv := range px.servers() {
		if srv.Name == sname {
			return srv
		}
	}
	return nil
}

// srvConnFree is srv_conn_free: free connection slots, -1 if unlimited.
func srvConnFree(srv *Server) int64 {
	if srv.MaxConn == 0 {
		return -1
	}
	return max(int64(srv.MaxConn)-srv.Conns.Load(), 0)
}

// checkTimeUnit accepts the unit argument of the date and rtt fetches.
func checkTimeUnit(units ...string) func(args []sample.Arg, _ *sample.Scope) error {
	return func(args []sample.Arg, _ *sample.Scope) error {
		if len(args) == 0 || args[0].Str == "" {
			return nil
		}
		for _, u := range units {
			if args[0].Str == u {
				return nil
			}
		}
		return fmt.Errorf("unexpected unit '%s', expected %s", args[0].Str, strings.Join(units, ", "))
	}
}

func unitArg(args []sample.Arg) string {
	if len(args) > 0 {
		return args[0].Str
	}
	return ""
}

// dateIn returns t in the unit of a date fetch: "s" (default), "ms", "us".
func dateIn(t time.Time, unit string) int64 {
	switch unit {
	case "ms":
		return t.UnixMilli()
	case "us":
		return t.UnixMicro()
	}
	return t.Unix()
}

func init() {
	none := sample.ArgSpec{}
	fetch := func(name string, args sample.ArgSpec, out sample.Type, use sample.Use, fn func(s *Stream, a []sample.Arg) (sample.Sample, bool)) {
		sample.RegisterFetch(&sample.Fetch{Name: name, Args: args, Out: out, Use: use,
			Fn: func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
				s := streamOf(ctx)
				if s == nil {
					return sample.Sample{}, false
				}
				return fn(s, a)
			}})
	}
	num := func(v int64) (sample.Sample, bool) { return sample.Int(v), true }
	fail := func() (sample.Sample, bool) { return sample.Sample{}, false }
	ms := func(d time.Duration) (sample.Sample, bool) { return num(d.Milliseconds()) }

	// Identifiers.
	fetch("txn.id32", none, sample.TypeSInt, sample.UseIntrn, func(s *Stream, _ []sample.Arg) (sample.Sample, bool) {
		return num(int64(uint32(s.fx.txnID)))
	})
	fetch("unique-id", none, sample.TypeStr, sample.UseIntrn, func(s *Stream, _ []sample.Arg) (sample.Sample, bool) {
		id, ok := s.uniqueID()
		if !ok {
			return fail()
		}
		return sample.Str(id), true
	})

	// Rates and connection counts.
	rate := func(name string, argt sample.ArgType, fe bool, req bool, use sample.Use) {
		fetch(name, sample.Args(0, argt), sample.TypeSInt, use, func(s *Stream, a []sample.Arg) (sample.Sample, bool) {
			px := pxArg(s.SampleCtx(), a, fe)
			if px == nil && !fe {
				px = s.Frontend
			}
			if px == nil {
				return fail()
			}
			r := (&px.rates)
			if req {
				return num(r.req.read())
			}
			return num(r.sess.read())
		})
	}
	rate("fe_sess_rate", sample.ArgFrontend, true, false, sample.UseIntrn)
	rate("fe_req_rate", sample.ArgFrontend, true, true, sample.UseIntrn)
	rate("be_sess_rate", sample.ArgBackend, false, false, sample.UseIntrn)
	srvFetch := func(name string, fn func(srv *Server) int64) {
		fetch(name, sample.Args(1, sample.ArgServer), sample.TypeSInt, sample.UseIntrn, func(s *Stream, a []sample.Arg) (sample.Sample, bool) {
			if srv := srvArg(a); srv != nil {
				return num(fn(srv))
			}
			return fail()
		})
	}
	srvFetch("srv_sess_rate", func(srv *Server) int64 { return (&srv.rates).sess.read() })
	srvFetch("srv_queue", func(srv *Server) int64 { return int64(srv.srvQueueLen()) })
	srvFetch("srv_iweight", func(srv *Server) int64 { return int64(srv.InitialWeight()) })
	srvFetch("srv_uweight", func(srv *Server) int64 { return int64(srv.Weight()) })
	srvFetch("srv_weight", func(srv *Server) int64 { return int64(srv.Weight()) })
	srvFetch("srv_conn_free", srvConnFree)
	fetch("be_conn_free", sample.Args(0, sample.ArgBackend), sample.TypeSInt, sample.UseIntrn, func(s *Stream, a []sample.Arg) (sample.Sample, bool) {
		px := pxArg(s.SampleCtx(), a, false)
		if px == nil {
			px = s.Frontend
		}
		var n int64
		for _, srv := range px.servers() {
			if srv.State() == StateStopped {
				continue
			}
			if srv.MaxConn == 0 {
				return num(-1)
			}
			n += srvConnFree(srv)
		}
		return num(n)
	})
	fetch("act_conn", none, sample.TypeSInt, sample.UseIntrn, func(s *Stream, _ []sample.Arg) (sample.Sample, bool) {
		var n int64
		for _, px := range s.Engine.Proxies {
			if px.Cap&CapFE != 0 {
				n += px.Conns.Load()
			}
		}
		return num(n)
	})
	fetch("fe_defbe", none, sample.TypeStr, sample.UseFtend, func(s *Stream, _ []sample.Arg) (sample.Sample, bool) {
		if be := s.Frontend.defaultBE; be != nil {
			return sample.Str(be.Name), true
		}
		return fail()
	})
	fetch("dst_conn", none, sample.TypeSInt, sample.UseFtend, func(s *Stream, _ []sample.Arg) (sample.Sample, bool) {
		if s.fx.bind == nil {
			return fail()
		}
		return num((&s.fx.bind.conns).Load())
	})
	fetch("so_name", none, sample.TypeStr, sample.UseListn, func(s *Stream, _ []sample.Arg) (sample.Sample, bool) {
		if s.fx.bind == nil {
			return fail()
		}
		if n := bindOption(s.fx.bind, "name"); n != "" {
			return sample.Str(n), true
		}
		return fail()
	})

	// Retries and connection reuse.
	fetch("txn.conn_retries", none, sample.TypeSInt, sample.UseL4Srv, func(s *Stream, _ []sample.Arg) (sample.Sample, bool) {
		return num(int64(s.fx.connRetries))
	})
	fetch("txn.redispatched", none, sample.TypeBool, sample.UseL4Srv, func(s *Stream, _ []sample.Arg) (sample.Sample, bool) {
		return sample.Bool(s.fx.redispatched), true
	})
	fetch("bc_reused", none, sample.TypeBool, sample.UseL4Srv, func(s *Stream, _ []sample.Arg) (sample.Sample, bool) {
		if s.Server == nil {
			return fail()
		}
		return sample.Bool(s.fx.reused), true
	})
	fetch("fc_http_major", none, sample.TypeSInt, sample.UseL4Cli, func(s *Stream, _ []sample.Arg) (sample.Sample, bool) {
		return num(1) // HTTP/1 only; HAProxy says 1 for any non-H2 connection
	})
	fetch("bc_http_major", none, sample.TypeSInt, sample.UseL4Srv, func(s *Stream, _ []sample.Arg) (sample.Sample, bool) {
		if s.ServerConn == nil && s.Server == nil {
			return fail()
		}
		return num(1)
	})
	fetch("prio_class", none, sample.TypeSInt, sample.UseIntrn, func(*Stream, []sample.Arg) (sample.Sample, bool) { return num(0) })
	fetch("prio_offset", none, sample.TypeSInt, sample.UseIntrn, func(*Stream, []sample.Arg) (sample.Sample, bool) { return num(0) })

	// Timeouts, in milliseconds.
	be := func(name string, fn func(px *Proxy) time.Duration) {
		fetch(name, none, sample.TypeSInt, sample.UseBkend, func(s *Stream, _ []sample.Arg) (sample.Sample, bool) {
			return ms(fn(beOrFe(s)))
		})
	}
	connectT := func(px *Proxy) time.Duration { return px.Timeouts.Connect }
	queueT := func(px *Proxy) time.Duration {
		if px.Timeouts.Queue == 0 { // HAProxy: timeout queue defaults to timeout connect
			return px.Timeouts.Connect
		}
		return px.Timeouts.Queue
	}
	tarpitT := connectT // no "timeout tarpit" yet: HAProxy then uses timeout connect
	be("be_server_timeout", func(px *Proxy) time.Duration { return px.Timeouts.Server })
	be("be_tunnel_timeout", func(px *Proxy) time.Duration { return px.Timeouts.Tunnel })
	be("be_connect_timeout", connectT)
	be("be_queue_timeout", queueT)
	be("be_tarpit_timeout", tarpitT)
	be("cur_connect_timeout", connectT)
	be("cur_queue_timeout", queueT)
	be("cur_tarpit_timeout", tarpitT)
	fetch("be_max_retries", none, sample.TypeSInt, sample.UseBkend, func(s *Stream, _ []sample.Arg) (sample.Sample, bool) {
		return num(int64(beOrFe(s).Retries))
	})
	fetch("cur_max_retries", none, sample.TypeSInt, sample.UseBkend, func(s *Stream, _ []sample.Arg) (sample.Sample, bool) {
		return num(int64(beOrFe(s).Retries))
	})
	// cur_server_timeout is the timeout applied to the server side: none
	// (0) until a server connection exists, as in HAProxy 2.6.
	fetch("cur_server_timeout", none, sample.TypeSInt, sample.UseBkend, func(s *Stream, _ []sample.Arg) (sample.Sample, bool) {
		if s.Server == nil && s.ServerConn == nil {
			return num(0)
		}
		return ms(beOrFe(s).Timeouts.Server)
	})
	// cur_tunnel_timeout is the one set by "set-timeout tunnel" (not
	// supported): 0.
	fetch("cur_tunnel_timeout", none, sample.TypeSInt, sample.UseBkend, func(*Stream, []sample.Arg) (sample.Sample, bool) {
		return num(0)
	})
	fe := func(name string, fn func(px *Proxy) time.Duration) {
		fetch(name, none, sample.TypeSInt, sample.UseFtend, func(s *Stream, _ []sample.Arg) (sample.Sample, bool) {
			return ms(fn(s.Frontend))
		})
	}
	fe("fe_client_timeout", func(px *Proxy) time.Duration { return px.Timeouts.Client })
	fe("cur_client_timeout", func(px *Proxy) time.Duration { return px.Timeouts.Client })
	fe("fe_tarpit_timeout", tarpitT)

	// Bytes.
	bytes := func(name string, use sample.Use, fn func(s *Stream) int64) {
		fetch(name, none, sample.TypeSInt, use, func(s *Stream, _ []sample.Arg) (sample.Sample, bool) { return num(fn(s)) })
	}
	reqIn := func(s *Stream) int64 { return s.fx.in + bytesIn(s) }
	resOut := func(s *Stream) int64 { return s.fx.out + bytesOut(s) }
	toServer := func(s *Stream) int64 {
		if s.HTTP == nil {
			return extOf(s).fwd.ToServer
		}
		if s.HTTP.srvTime == 0 {
			return 0
		}
		return msgBytes(&s.HTTP.Req)
	}
	fromServer := func(s *Stream) int64 {
		if s.HTTP == nil {
			return extOf(s).fwd.ToClient
		}
		if s.HTTP.srvTime == 0 {
			return 0
		}
		return msgBytes(&s.HTTP.Res)
	}
	bytes("bytes_in", sample.UseL4Cli, reqIn)
	bytes("bytes_out", sample.UseL4Cli, resOut)
	bytes("req.bytes_in", sample.UseL4Cli, reqIn)
	bytes("req.bytes_out", sample.UseL4Srv, toServer)
	bytes("res.bytes_in", sample.UseL4Srv, fromServer)
	bytes("res.bytes_out", sample.UseL4Cli, resOut)

	// Dates.
	unit := sample.Args(0, sample.ArgStr)
	dates := []string{"s", "ms", "us"}
	sample.RegisterFetch(&sample.Fetch{Name: "accept_date", Args: unit, Check: checkTimeUnit(dates...), Out: sample.TypeSInt, Use: sample.UseL4Cli,
		Fn: func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
			if s := streamOf(ctx); s != nil {
				return num(dateIn(s.Start, unitArg(a)))
			}
			return fail()
		}})
	sample.RegisterFetch(&sample.Fetch{Name: "request_date", Args: unit, Check: checkTimeUnit(dates...), Out: sample.TypeSInt, Use: sample.UseHRQHP,
		Fn: func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
			s := streamOf(ctx)
			if s == nil {
				return fail()
			}
			t := s.Start
			if s.HTTP != nil && !s.HTTP.start.IsZero() {
				t = s.HTTP.start
			}
			return num(dateIn(t, unitArg(a)))
		}})

	// Timers, as the log-format's %T* (milliseconds, -1 for a step never
	// reached).
	for _, t := range []struct {
		name, lf string
		use      sample.Use
	}{
		{"fc.timer.handshake", "Th", sample.UseL4Cli},
		{"fc.timer.total", "Tt", sample.UseSSFin},
		{"req.timer.idle", "Ti", sample.UseHRQHP},
		{"req.timer.hdr", "TR", sample.UseHRQHP},
		{"req.timer.tq", "Tq", sample.UseHRQHP},
		{"req.timer.queue", "Tw", sample.UseL4Srv},
		{"bc.timer.connect", "Tc", sample.UseL4Srv},
		{"res.timer.hdr", "Tr", sample.UseHRSHP},
		{"res.timer.data", "Td", sample.UseRSFin},
		{"txn.timer.total", "Ta", sample.UseTXFin},
		{"txn.timer.user", "Tu", sample.UseTXFin},
	} {
		t := t
		fetch(t.name, none, sample.TypeSInt, t.use, func(s *Stream, _ []sample.Arg) (sample.Sample, bool) {
			ls := extOf(s).log
			if ls == nil {
				ls = &logState{now: time.Now()}
			}
			return num(timer(s, ls, t.lf))
		})
	}

	// Converters naming configuration objects at run time.
	conv := func(name string, out sample.Type, fn func(s *Stream, in string) (sample.Sample, bool)) {
		sample.RegisterConverter(&sample.Converter{Name: name, In: sample.TypeStr, Out: out,
			Fn: func(ctx *sample.Ctx, _ []sample.Arg, in sample.Sample) (sample.Sample, bool) {
				s := streamOf(ctx)
				if s == nil {
					return fail()
				}
				return fn(s, in.String())
			}})
	}
	conv("fe_exists", sample.TypeBool, func(s *Stream, name string) (sample.Sample, bool) {
		for _, px := range s.Engine.Proxies {
			if px.Name == name && px.Cap&CapFE != 0 {
				return sample.Bool(true), true
			}
		}
		return sample.Bool(false), true
	})
	// nbsrv as a converter takes the backend's name from its input.
	conv("nbsrv", sample.TypeSInt, func(s *Stream, name string) (sample.Sample, bool) {
		for _, px := range s.Engine.Proxies {
			if px.Name == name && px.Cap&CapBE != 0 {
				return num(usableServers(px))
			}
		}
		return fail()
	})
	conv("srv_is_up", sample.TypeBool, func(s *Stream, name string) (sample.Sample, bool) {
		if srv := srvByName(s, name); srv != nil {
			return sample.Bool(srv.IsUp()), true
		}
		return fail()
	})
	conv("srv_queue", sample.TypeSInt, func(s *Stream, name string) (sample.Sample, bool) {
		if srv := srvByName(s, name); srv != nil {
			return num(int64(srv.srvQueueLen()))
		}
		return fail()
	})
}

func init() {
	// capture-req(<id>) and capture-res(<id>) store their input in a
	// capture slot of the frontend and return it unchanged.
	capConv := func(name string, res bool) {
		sample.RegisterConverter(&sample.Converter{Name: name, Args: sample.Args(1, sample.ArgSInt), In: sample.TypeStr, Out: sample.TypeStr,
			Fn: func(ctx *sample.Ctx, a []sample.Arg, in sample.Sample) (sample.Sample, bool) {
				s := streamOf(ctx)
				if s == nil {
					return sample.Sample{}, false
				}
				decls := pxExtOf(s.Frontend).reqCaps
				if res {
					decls = pxExtOf(s.Frontend).resCaps
				}
				slot := a[0].Int
				if slot < 0 || slot >= int64(len(decls)) {
					return sample.Sample{}, false
				}
				v := in.String()
				if len(v) > decls[slot].len {
					v = v[:decls[slot].len]
				}
				setCapture(extOf(s), res, int(slot), len(decls), v)
				return in, true
			}})
	}
	capConv("capture-req", false)
	capConv("capture-res", true)
}

func init() {
	fetch := func(name string, out sample.Type, use sample.Use, fn func(s *Stream) (sample.Sample, bool)) {
		sample.RegisterFetch(&sample.Fetch{Name: name, Out: out, Use: use,
			Fn: func(ctx *sample.Ctx, _ []sample.Arg) (sample.Sample, bool) {
				if s := streamOf(ctx); s != nil {
					return fn(s)
				}
				return sample.Sample{}, false
			}})
	}
	fetch("txn.sess_term_state", sample.TypeStr, sample.UseIntrn, func(s *Stream) (sample.Sample, bool) {
		t := termState(s)
		return sample.Str(string(t[:])), true
	})
}
