package core

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"

	"luaproxy/core/sample"
)

// The fc_*/bc_* fetches reading the kernel's TCP_INFO of the client or
// server connection (manual 7.3.3; Linux only, as in HAProxy).

// tcpInfo returns the TCP_INFO of c, unwrapping the engine's own
// connection types; false if c is not a TCP socket.
func tcpInfo(c net.Conn) (*unix.TCPInfo, bool) {
	for {
		switch x := c.(type) {
		case *srvConn:
			c = x.Conn
			continue
		case interface{ NetConn() net.Conn }:
			c = x.NetConn()
			continue
		}
		break
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, false
	}
	var ti *unix.TCPInfo
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		ti, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || gerr != nil {
		return nil, false
	}
	return ti, true
}

func init() {
	reg := func(name string, front, timed bool, get func(ti *unix.TCPInfo) uint32) {
		f := &sample.Fetch{Name: name, Out: sample.TypeSInt, Use: sample.UseL4Cli,
			Fn: func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
				s := streamOf(ctx)
				if s == nil {
					return sample.Sample{}, false
				}
				c := s.Client
				if !front {
					c = s.ServerConn
				}
				if c == nil {
					return sample.Sample{}, false
				}
				ti, ok := tcpInfo(c)
				if !ok {
					return sample.Sample{}, false
				}
				v := int64(get(ti))
				if timed && unitArg(a) != "us" {
					v /= 1000
				}
				return sample.Int(v), true
			}}
		if timed {
			f.Args = sample.Args(0, sample.ArgStr)
			f.Check = checkTimeUnit("ms", "us")
		}
		if !front {
			f.Use = sample.UseL4Srv
		}
		sample.RegisterFetch(f)
	}
	rtt := func(ti *unix.TCPInfo) uint32 { return ti.Rtt }
	rttvar := func(ti *unix.TCPInfo) uint32 { return ti.Rttvar }
	reg("fc_rtt", true, true, rtt)
	reg("fc_rttvar", true, true, rttvar)
	reg("bc_rtt", false, true, rtt)
	reg("bc_rttvar", false, true, rttvar)
	reg("fc_unacked", true, false, func(ti *unix.TCPInfo) uint32 { return ti.Unacked })
	reg("fc_sacked", true, false, func(ti *unix.TCPInfo) uint32 { return ti.Sacked })
	reg("fc_retrans", true, false, func(ti *unix.TCPInfo) uint32 { return ti.Retrans })
	reg("fc_fackets", true, false, func(ti *unix.TCPInfo) uint32 { return ti.Fackets })
	reg("fc_lost", true, false, func(ti *unix.TCPInfo) uint32 { return ti.Lost })
	reg("fc_reordering", true, false, func(ti *unix.TCPInfo) uint32 { return ti.Reordering })
}
