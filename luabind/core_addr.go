//go:build lua53

package luabind

import (
	"net/netip"
	"strings"

	"luaproxy/luabind/vm"
)

// Addr is what core.parse_addr returns: an IPv4 or IPv6 address with its
// mask, as HAProxy's struct net_addr. The address is kept unmasked:
// core.match_addr masks each side with the other's mask.
//
// HAProxy returns a bare userdata (type() is "userdata", no metatable);
// here it is an object of this class, a table like every luaproxy object,
// so type() says "table" and tostring() "Addr". Scripts only pass it to
// core.match_addr, which behaves the same.
type Addr struct {
	ip   [16]byte // IPv4 in the first 4 bytes
	mask [16]byte
	v6   bool
}

var addrClass = declareClass(&vm.Class[*Addr]{
	Name:  "Addr",
	Owned: true,
})

// luaCoreParseAddr implements core.parse_addr(address): "a.b.c.d[/len]",
// "a.b.c.d/a.b.c.d" or "ipv6[/len]". It returns an Addr, or nil when the
// string is not an address. It never yields.
//
// Departure: HAProxy 2.6 passes PAT_MF_NO_DNS where str2net expects a
// "resolve" flag, so it resolves names ("localhost") and accepts what
// gethostbyname accepts ("1.2.3" as 1.2.0.3); here only numeric addresses
// parse, and no lookup ever runs in a Lua call.
func luaCoreParseAddr(c *vm.Call) (int, error) {
	s, err := c.String(1)
	if err != nil {
		return 0, err
	}
	a, ok := parseNet4(s)
	if !ok {
		a, ok = parseNet6(s)
	}
	if !ok {
		c.PushNil()
		return 1, nil
	}
	addrClass.Push(&c.Pusher, a)
	return 1, nil
}

// parseNet4 is HAProxy's str2net without name resolution.
func parseNet4(s string) (*Addr, bool) {
	a := &Addr{}
	host, mask, hasMask := cutLast(s, '/')
	if hasMask {
		if strings.IndexByte(mask, '.') >= 0 {
			m, err := netip.ParseAddr(mask)
			if err != nil || !m.Is4() {
				return nil, false
			}
			m4 := m.As4()
			copy(a.mask[:4], m4[:])
		} else {
			n, ok := strtol(mask)
			if !ok || n < 0 || n > 32 {
				return nil, false
			}
			lenToMask(a.mask[:4], int(n))
		}
	} else {
		lenToMask(a.mask[:4], 32)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Is4() {
		return nil, false
	}
	ip4 := ip.As4()
	copy(a.ip[:4], ip4[:])
	return a, true
}

// parseNet6 is HAProxy's str62net: an IPv6 address and a prefix length.
func parseNet6(s string) (*Addr, bool) {
	a := &Addr{v6: true}
	host, mask, hasMask := cutLast(s, '/')
	n := int64(128)
	if hasMask {
		var ok bool
		n, ok = strtol(mask)
		// HAProxy reads it with strtoul: "-1" wraps past 128, "-0" is 0.
		if mask == "" || !ok || n < 0 || n > 128 {
			return nil, false
		}
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Is6() || ip.Zone() != "" {
		return nil, false
	}
	a.ip = ip.As16()
	lenToMask(a.mask[:], int(n))
	return a, true
}

// cutLast splits s at the last sep (strrchr).
func cutLast(s string, sep byte) (before, after string, found bool) {
	if i := strings.LastIndexByte(s, sep); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

// strtol parses a whole decimal number as strtol does (leading blanks and a
// sign allowed); ok is false when anything follows it or it is empty.
func strtol(s string) (int64, bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	var n int64
	for _, ch := range []byte(s) {
		if ch < '0' || ch > '9' || n > 1<<40 {
			return 0, false
		}
		n = n*10 + int64(ch-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

func lenToMask(m []byte, n int) {
	for i := range m {
		switch {
		case n >= 8:
			m[i] = 0xff
		case n > 0:
			m[i] = byte(0xff << (8 - n))
		default:
			m[i] = 0
		}
		n -= 8
	}
}

// luaCoreMatchAddr implements core.match_addr(addr1, addr2): true when the
// networks match, each address masked with the other's mask (so the order
// does not matter). Anything but two addresses of the same family is
// false, never an error. It never yields.
func luaCoreMatchAddr(c *vm.Call) (int, error) {
	a1, err1 := addrClass.Check(c, 1)
	a2, err2 := addrClass.Check(c, 2)
	if err1 != nil || err2 != nil || a1.v6 != a2.v6 {
		c.PushBool(false)
		return 1, nil
	}
	n := 4
	if a1.v6 {
		n = 16
	}
	for i := 0; i < n; i++ {
		if a1.ip[i]&a2.mask[i] != a2.ip[i]&a1.mask[i] {
			c.PushBool(false)
			return 1, nil
		}
	}
	c.PushBool(true)
	return 1, nil
}
