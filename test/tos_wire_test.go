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

	// The reader owns the handle until it returns: closing it while a
	// read is in progress races inside pcapgo.
	found := make(chan uint8, 1)
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			data, _, err := h.ReadPacketData()
			if err != nil {
				return
			}
			pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.NoCopy)
			ip, _ := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			tcp, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
			if ip == nil || tcp == nil || int(tcp.SrcPort) != port || len(tcp.Payload) == 0 {
				continue
			}
			select {
			case found <- ip.TOS:
			default:
			}
		}
	}()
	defer func() {
		close(stop)
		// wake the reader with a packet, then close the handle it left
		if c, err := net.Dial("tcp", p.addr(0)); err == nil {
			c.Close()
		}
		select {
		case <-readerDone:
			h.Close()
		case <-time.After(5 * time.Second):
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
