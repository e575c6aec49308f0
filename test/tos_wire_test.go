package test

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"luaproxy/core"
	"luaproxy/core/config"
	"luaproxy/netio"
)

// txn:set_tos() is seen on the wire: the proxy's answer packets, captured
// on the loopback interface, carry the TOS byte the script set.
func TestSetTOSOnTheWire(t *testing.T) {
	h, err := pcapgo.NewEthernetHandle("lo")
	if err != nil {
		t.Skipf("cannot capture on lo (needs CAP_NET_RAW): %v", err)
	}
	defer h.Close()
	p := startProxy(t, `
global
    lua-load {dir}/tos.lua
defaults
    timeout client 10s
frontend fe
    bind 127.0.0.1:0
    tcp-request content lua.tos
    tcp-request content use-service lua.hi
`, map[string]string{"tos.lua": `
core.register_action("tos", { "tcp-req" }, function(txn) txn:set_tos(0x48) end)
core.register_service("hi", "tcp", function(applet) applet:send("tos-marked-answer") end)
`})
	_, portStr, _ := net.SplitHostPort(p.addr(0))
	port, _ := strconv.Atoi(portStr)

	found := make(chan uint8, 1)
	go func() {
		src := gopacket.NewPacketSource(h, layers.LinkTypeEthernet)
		for pkt := range src.Packets() {
			ip, _ := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			tcp, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
			if ip == nil || tcp == nil || int(tcp.SrcPort) != port || len(tcp.Payload) == 0 {
				continue
			}
			found <- ip.TOS
			return
		}
	}()
	if got := exchange(t, p.addr(0), "", true, 10*time.Second); got != "tos-marked-answer" {
		t.Fatalf("answer %q", got)
	}
	select {
	case tos := <-found:
		if tos != 0x48 {
			t.Fatalf("TOS on the wire = %#x, want 0x48", tos)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer packet captured")
	}
}

// txn:set_mark() sets SO_MARK on the client connection (read back with
// getsockopt by an engine action running after the Lua one).
func TestSetMarkSockopt(t *testing.T) {
	got := make(chan int, 1)
	core.RegisterAction("test.getmark", func(e *core.Engine, px *core.Proxy, rs core.RuleSet, args []string, l config.Line) (core.Action, int, error) {
		return core.ActionFunc(func(s *core.Stream) core.Verdict {
			m, err := netio.GetMark(s.Client)
			if err != nil {
				m = -1
			}
			got <- m
			return core.Continue
		}), 1, nil
	})
	p := startProxy(t, `
global
    lua-load {dir}/mark.lua
defaults
    timeout client 10s
frontend fe
    bind 127.0.0.1:0
    tcp-request content lua.mark
    tcp-request content test.getmark
    tcp-request content reject
`, map[string]string{"mark.lua": `core.register_action("mark", { "tcp-req" }, function(txn) txn:set_mark(0x2a) end)`})
	exchange(t, p.addr(0), "", true, 10*time.Second)
	select {
	case m := <-got:
		if m != 0x2a {
			t.Fatalf("SO_MARK = %#x, want 0x2a", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the checking action did not run")
	}
}
