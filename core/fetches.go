package core

import (
	"luaproxy/core/sample"
)

// The fetches that read the engine's own state (proxies, servers, the
// stream), registered in the sample language's registry.

func streamOf(ctx *sample.Ctx) *Stream {
	s, _ := ctx.Stream.(*Stream)
	return s
}

// pxArg returns the proxy named by an optional argument, else the
// stream's backend (or frontend when fe is set).
func pxArg(ctx *sample.Ctx, args []sample.Arg, fe bool) *Proxy {
	if len(args) > 0 {
		if px, ok := args[0].Ref.(*Proxy); ok {
			return px
		}
	}
	s := streamOf(ctx)
	if s == nil {
		return nil
	}
	if fe {
		return s.Frontend
	}
	return s.Backend
}

func srvArg(args []sample.Arg) *Server {
	if len(args) > 0 {
		if srv, ok := args[0].Ref.(*Server); ok {
			return srv
		}
	}
	return nil
}

func init() {
	str := func(v string) (sample.Sample, bool) { return sample.Str(v), true }
	num := func(v int64) (sample.Sample, bool) { return sample.Int(v), true }
	optBE := sample.Args(0, sample.ArgBackend)
	fetch := func(name string, args sample.ArgSpec, out sample.Type, use sample.Use, fn sample.FetchFunc) {
		sample.RegisterFetch(&sample.Fetch{Name: name, Args: args, Out: out, Use: use, Fn: fn})
	}
	// "stopping" (and when(stopping)) read the stream's engine: the
	// sample package's own versions read the process-wide flag, which one
	// stopped engine leaves set for every other engine of the process.
	stopping := func(ctx *sample.Ctx) bool {
		if s := streamOf(ctx); s != nil {
			return s.Engine.Stopping()
		}
		return sample.Stopping.Load()
	}
	fetch("stopping", sample.ArgSpec{}, sample.TypeBool, sample.UseIntrn, func(ctx *sample.Ctx, _ []sample.Arg) (sample.Sample, bool) {
		return sample.Bool(stopping(ctx)), true
	})
	sample.RegisterWhenCond("stopping", stopping)
	fetch("fe_name", sample.ArgSpec{}, sample.TypeStr, sample.UseFtend, func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
		if px := pxArg(ctx, nil, true); px != nil {
			return str(px.Name)
		}
		return sample.Sample{}, false
	})
	fetch("fe_id", sample.ArgSpec{}, sample.TypeSInt, sample.UseFtend, func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
		if px := pxArg(ctx, nil, true); px != nil {
			return num(int64(px.ID))
		}
		return sample.Sample{}, false
	})
	fetch("fe_conn", sample.Args(0, sample.ArgFrontend), sample.TypeSInt, sample.UseIntrn, func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
		if px := pxArg(ctx, a, true); px != nil {
			return num(px.Conns.Load())
		}
		return sample.Sample{}, false
	})
	fetch("be_name", sample.ArgSpec{}, sample.TypeStr, sample.UseBkend, func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
		if px := pxArg(ctx, nil, false); px != nil {
			return str(px.Name)
		}
		return sample.Sample{}, false
	})
	fetch("be_id", sample.ArgSpec{}, sample.TypeSInt, sample.UseBkend, func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
		if px := pxArg(ctx, nil, false); px != nil {
			return num(int64(px.ID))
		}
		return sample.Sample{}, false
	})
	fetch("be_conn", optBE, sample.TypeSInt, sample.UseIntrn, func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
		if px := pxArg(ctx, a, false); px != nil {
			return num(px.BeConns.Load())
		}
		return sample.Sample{}, false
	})
	fetch("nbsrv", optBE, sample.TypeSInt, sample.UseIntrn, func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
		px := pxArg(ctx, a, false)
		if px == nil {
			return sample.Sample{}, false
		}
		return num(usableServers(px))
	})
	fetch("connslots", optBE, sample.TypeSInt, sample.UseIntrn, func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
		px := pxArg(ctx, a, false)
		if px == nil {
			return sample.Sample{}, false
		}
		var n int64
		for _, s := range px.servers() {
			if !s.IsUp() {
				continue
			}
			if s.MaxConn == 0 {
				return num(-1)
			}
			n += int64(s.MaxConn) - s.Conns.Load()
		}
		return num(n)
	})
	fetch("queue", optBE, sample.TypeSInt, sample.UseIntrn, func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
		if px := pxArg(ctx, a, false); px != nil {
			return num(int64(px.pendingLen())) // HAProxy's totpend: the servers' queues too
		}
		return sample.Sample{}, false
	})
	fetch("avg_queue", optBE, sample.TypeSInt, sample.UseIntrn, func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
		px := pxArg(ctx, a, false)
		if px == nil {
			return sample.Sample{}, false
		}
		act, bck := px.countUp()
		n := act
		if n == 0 {
			n = bck
		}
		q := int64(px.pendingLen())
		if n == 0 {
			return num(q)
		}
		return num((q + int64(n) - 1) / int64(n))
	})
	fetch("srv_name", sample.ArgSpec{}, sample.TypeStr, sample.UseServr, func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
		if s := streamOf(ctx); s != nil && s.Server != nil {
			return str(s.Server.Name)
		}
		return sample.Sample{}, false
	})
	fetch("srv_id", sample.ArgSpec{}, sample.TypeSInt, sample.UseServr, func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
		if s := streamOf(ctx); s != nil && s.Server != nil {
			return num(int64(s.Server.ID))
		}
		return sample.Sample{}, false
	})
	fetch("srv_is_up", sample.Args(1, sample.ArgServer), sample.TypeBool, sample.UseIntrn, func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
		if srv := srvArg(a); srv != nil {
			return sample.Bool(srv.IsUp()), true
		}
		return sample.Sample{}, false
	})
	fetch("srv_conn", sample.Args(1, sample.ArgServer), sample.TypeSInt, sample.UseIntrn, func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
		if srv := srvArg(a); srv != nil {
			return num(srv.Conns.Load())
		}
		return sample.Sample{}, false
	})
	fetch("so_id", sample.ArgSpec{}, sample.TypeSInt, sample.UseListn, func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
		if s := streamOf(ctx); s != nil {
			return num(int64(s.BindID))
		}
		return sample.Sample{}, false
	})
	fetch("txn.status", sample.ArgSpec{}, sample.TypeSInt, sample.UseHRSHP, func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
		if s := streamOf(ctx); s != nil && s.HTTP != nil && s.HTTP.Status != 0 {
			return num(int64(s.HTTP.Status))
		}
		return sample.Sample{}, false
	})
	fetch("http_first_req", sample.ArgSpec{}, sample.TypeBool, sample.UseHRQHP, func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
		if s := streamOf(ctx); s != nil && s.HTTP != nil {
			return sample.Bool(s.HTTP.First), true
		}
		return sample.Sample{}, false
	})
}

// usableServers is nbsrv: the usable active servers of px, else its
// usable backup servers.
func usableServers(px *Proxy) int64 {
	act, bck := px.countUp()
	if act > 0 {
		return int64(act)
	}
	return int64(bck)
}
