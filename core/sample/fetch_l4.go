package sample

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// Layer 4 fetches from the connection addresses in Ctx (manual 7.3.3).

func init() {
	addr := func(name string, use Use, get func(*Ctx) netip.AddrPort) *Fetch {
		return &Fetch{Name: name, Out: TypeIPv4, Use: use, Fn: func(ctx *Ctx, _ []Arg) (Sample, bool) {
			ap := get(ctx)
			if !ap.IsValid() {
				return Sample{}, false
			}
			return Addr(ap.Addr().Unmap()), true
		}}
	}
	port := func(name string, use Use, get func(*Ctx) netip.AddrPort) *Fetch {
		return &Fetch{Name: name, Out: TypeSInt, Use: use, Fn: func(ctx *Ctx, _ []Arg) (Sample, bool) {
			ap := get(ctx)
			if !ap.IsValid() {
				return Sample{}, false
			}
			return Int(int64(ap.Port())), true
		}}
	}
	local := func(name string, use Use, get func(*Ctx) netip.AddrPort) *Fetch {
		return &Fetch{Name: name, Out: TypeBool, Use: use, Fn: func(ctx *Ctx, _ []Arg) (Sample, bool) {
			ap := get(ctx)
			if !ap.IsValid() {
				return Sample{}, false
			}
			return Bool(isLocalAddr(ap.Addr().Unmap())), true
		}}
	}
	src := func(c *Ctx) netip.AddrPort { return c.Src }
	dst := func(c *Ctx) netip.AddrPort { return c.Dst }
	bsrc := func(c *Ctx) netip.AddrPort { return c.BackSrc }
	bdst := func(c *Ctx) netip.AddrPort { return c.BackDst }
	registerFetches(
		addr("src", UseL4Cli, src), port("src_port", UseL4Cli, src), local("src_is_local", UseL4Cli, src),
		addr("dst", UseL4Cli, dst), port("dst_port", UseL4Cli, dst), local("dst_is_local", UseL4Cli, dst),
		addr("fc_src", UseL4Cli, src), port("fc_src_port", UseL4Cli, src), local("fc_src_is_local", UseL4Cli, src),
		addr("fc_dst", UseL4Cli, dst), port("fc_dst_port", UseL4Cli, dst), local("fc_dst_is_local", UseL4Cli, dst),
		addr("bc_src", UseL4Srv, bsrc), port("bc_src_port", UseL4Srv, bsrc),
		addr("bc_dst", UseL4Srv, bdst), port("bc_dst_port", UseL4Srv, bdst),
	)
}

// localAddrs caches the host's interface addresses for a few seconds.
var localAddrs struct {
	sync.Mutex
	at  time.Time
	set map[netip.Addr]bool
}

// isLocalAddr tells whether a belongs to this host (HAProxy's
// addr_is_local binds a socket to it; the interface list gives the same
// answer without side effects).
func isLocalAddr(a netip.Addr) bool {
	if a.IsLoopback() {
		return true
	}
	localAddrs.Lock()
	defer localAddrs.Unlock()
	if localAddrs.set == nil || time.Since(localAddrs.at) > 5*time.Second {
		localAddrs.set = map[netip.Addr]bool{}
		localAddrs.at = time.Now()
		if list, err := net.InterfaceAddrs(); err == nil {
			for _, ia := range list {
				if ipn, ok := ia.(*net.IPNet); ok {
					if x, ok := netip.AddrFromSlice(ipn.IP); ok {
						localAddrs.set[x.Unmap()] = true
					}
				}
			}
		}
	}
	return localAddrs.set[a]
}
