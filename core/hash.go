package core

import (
	"encoding/binary"
	"hash/crc32"
	"net/netip"
	"sort"
	"strings"

	"luaproxy/core/config"
	"luaproxy/core/sample"
)

// HashType is a backend's "hash-type": how hash-based algorithms (source,
// uri, url_param, hdr) turn a key into a server. The zero value is
// HAProxy's default, "map-based sdbm".
type HashType struct {
	// Consistent selects "consistent" hashing (a ring of server nodes)
	// instead of "map-based" (a static array of the servers, by weight).
	Consistent bool
	// Func hashes the key (sdbm by default).
	Func HashFunc
	// Avalanche applies Bob Jenkins' full avalanche hash to Func's result
	// (the "avalanche" modifier; implied by a bare "hash-type consistent").
	Avalanche bool
}

// HashFunc is a "hash-type" function.
type HashFunc int

// The hash-type functions.
const (
	HashSDBM HashFunc = iota
	HashDJB2
	HashWT6
	HashCRC32
	HashNone // the key, parsed as an integer, is the hash
)

var hashFuncNames = [...]string{"sdbm", "djb2", "wt6", "crc32", "none"}

func (f HashFunc) String() string { return hashFuncNames[f] }

// parseHashType parses "hash-type <method> [<function> [<modifier>]]".
func parseHashType(px *Proxy, l config.Line) error {
	args := append(l.Args[1:], "", "", "")
	var h HashType
	switch args[0] {
	case "consistent":
		h.Consistent = true
	case "map-based":
	case "avalanche":
		return l.Errorf("experimental feature '%s %s' is not supported anymore, please use '%s map-based sdbm avalanche' instead.", l.Args[0], args[0], l.Args[0])
	default:
		return l.Errorf("'%s' only supports 'consistent' and 'map-based'.", l.Args[0])
	}
	if args[1] == "" {
		// HAProxy compat: a bare "consistent" hashes with sdbm + avalanche.
		h.Avalanche = h.Consistent
		px.Balance.Hash = h
		return nil
	}
	found := false
	for i, n := range hashFuncNames {
		if args[1] == n {
			h.Func, found = HashFunc(i), true
		}
	}
	if !found {
		return l.Errorf("'%s' only supports 'sdbm', 'djb2', 'crc32', or 'wt6' hash functions.", l.Args[0])
	}
	switch args[2] {
	case "avalanche":
		h.Avalanche = true
	case "":
	default:
		return l.Errorf("'%s' only supports 'avalanche' as a modifier for hash functions.", l.Args[0])
	}
	px.Balance.Hash = h
	return nil
}

// hashKey hashes a key taken from the request (uri, url_param, hdr) with
// the backend's function and modifier (HAProxy's gen_hash).
func (h HashType) hashKey(key string) uint32 {
	var v uint32
	switch h.Func {
	case HashDJB2:
		v = sample.DJB2(key)
	case HashWT6:
		v = sample.WT6(key)
	case HashCRC32:
		v = crc32.ChecksumIEEE([]byte(key))
	case HashNone:
		v = uint32(leadingInt(key))
	default:
		v = sample.SDBM(key)
	}
	return h.modify(v)
}

// modify applies the modifier to a hash ("balance source" hashes the
// address itself and only takes the modifier).
func (h HashType) modify(v uint32) uint32 {
	if h.Avalanche {
		return fullHash(v)
	}
	return v
}

// leadingInt parses the decimal integer s starts with (an optional '-',
// then digits; anything else ends it), as "hash-type ... none" reads keys.
func leadingInt(s string) int64 {
	neg := false
	if s != "" && s[0] == '-' {
		neg, s = true, s[1:]
	}
	var v int64
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		v = v*10 + int64(s[i]-'0')
	}
	if neg {
		return -v
	}
	return v
}

// fullHash is Bob Jenkins' 32-bit full avalanche hash (HAProxy's
// full_hash), the "avalanche" modifier and the node keys of the ring.
func fullHash(a uint32) uint32 {
	a = (a + 0x7ed55d16) + (a << 12)
	a = (a ^ 0xc761c23c) ^ (a >> 19)
	a = (a + 0x165667b1) + (a << 5)
	a = (a + 0xd3a2646c) ^ (a << 9)
	a = (a + 0xfd7046c5) + (a << 3)
	a = (a ^ 0xb55a4f09) ^ (a >> 16)
	// Spread the values around the ring: a large prime close to 3/4 of it.
	return a * 3221225473
}

// parseHashBalanceFactor parses "hash-balance-factor <factor>". HAProxy
// compat: the factor is read as atol does (no digits reads as 0).
func parseHashBalanceFactor(px *Proxy, l config.Line) error {
	if len(l.Args) < 2 || l.Args[1] == "" {
		return l.Errorf("'%s' expects an integer argument.", l.Args[0])
	}
	f := leadingInt(strings.TrimLeft(l.Args[1], " \t"))
	if f != 0 && f <= 100 {
		return l.Errorf("'%s' must be 0 or greater than 100.", l.Args[0])
	}
	px.Balance.Factor = int(min(f, 1<<30))
	return nil
}

// ringNode is one occurrence of a server on the consistent-hash ring.
type ringNode struct {
	key uint32
	srv *Server
}

// hashRing is consistent hashing's ring (HAProxy's chash tree): each
// server appears 16 times per unit of weight, at keys derived from its
// "hash-key" (its id by default), so a server going up or down moves only
// its own keys.
type hashRing []ringNode

// ewghtRange is HAProxy's SRV_EWGHT_RANGE: the node keys of server id N
// start at N*4096 before hashing.
const ewghtRange = 256 * 16

// ringKey is the base of the server's node keys (HAProxy's
// lb_server_key): node i is at fullHash(ringKey + i). "hash-key id" (the
// default) uses id*4096; "addr" hashes the IPv4 address (as the 32-bit
// word in memory, network order read little-endian) or IPv6 address
// (XXH32); "addr-port" seeds that with the hashed port. A server whose
// address is no IP literal (a name, resolved at connect time here) falls
// back to its id, as HAProxy does for an address it does not know.
func (s *Server) ringKey() uint32 {
	if s.HashKey == "addr" || s.HashKey == "addr-port" {
		if ap, err := netip.ParseAddrPort(s.Addr.Address); err == nil && s.Addr.Net != "unix" {
			var key uint32
			if s.HashKey == "addr-port" {
				port := ap.Port()
				if s.PortFromClient {
					port = 0
				}
				key = fullHash(uint32(port))
			}
			a := ap.Addr()
			if a.Is4() || a.Is4In6() && s.Addr.Net == "tcp4" {
				b := a.Unmap().As4()
				return fullHash(key + binary.LittleEndian.Uint32(b[:]))
			}
			b := a.As16()
			return sample.XXH32(b[:], key)
		}
	}
	return uint32(s.ID) * ewghtRange
}

func buildRing(cands []*Server) hashRing {
	var r hashRing
	for _, s := range cands {
		n := s.weightForLB() * 16
		base := s.ringKey()
		for i := 0; i < n; i++ {
			r = append(r, ringNode{key: fullHash(base + uint32(i)), srv: s})
		}
	}
	// Stable, so that equal keys keep insertion order like the tree's
	// duplicates.
	sort.SliceStable(r, func(i, j int) bool { return r[i].key < r[j].key })
	return r
}

// pick returns the server of the node closest to h (see pickBounded),
// with no load bound.
func (r hashRing) pick(h uint32, avoid *Server) *Server { return r.pickBounded(h, avoid, nil) }

// pickBounded returns the server of the node closest to h, either side,
// the previous one on a tie; while that server is avoid or ok (when not
// nil) refuses it, the server of the next node, wrapping around the ring
// once at most (chash_get_server_hash).
func (r hashRing) pickBounded(h uint32, avoid *Server, ok func(*Server) bool) *Server {
	if len(r) == 0 {
		return nil
	}
	next := sort.Search(len(r), func(i int) bool { return r[i].key >= h })
	if next == len(r) {
		next = 0
	}
	prev := next - 1
	if prev < 0 {
		prev = len(r) - 1
	}
	// Distances wrap around the ring (unsigned arithmetic).
	i := next
	if h-r[prev].key <= r[next].key-h {
		i = prev
	}
	for loops := 0; r[i].srv == avoid || ok != nil && !ok(r[i].srv); {
		i++
		if i == len(r) {
			i = 0
			if loops++; loops > 1 { // HAProxy's guard against looping forever
				break
			}
		}
	}
	return r[i].srv
}

// boundLocked returns the "hash-balance-factor" test of the backend's
// servers, nil when no factor is set: whether a server may take one more
// stream without exceeding factor% of its share of the streams the
// backend's servers are serving, counting the new one (HAProxy's
// chash_server_is_eligible, "Consistent Hashing with Bounded Loads").
// px.lbMu must be held.
func (px *Proxy) boundLocked() func(*Server) bool {
	f := px.Balance.Factor
	if f == 0 {
		return nil
	}
	cands := px.candidatesLocked()
	var served int64
	for _, s := range px.servers() {
		served += s.Conns.Load()
	}
	// Effective weights (16 per unit of weight) and each server's
	// cumulative weight: the sum of those declared before it among the
	// usable ones. HAProxy computes the latter when it builds the ring
	// only; this recomputes it on every change.
	cum := make(map[*Server]uint64, len(cands))
	var tot uint64
	for _, s := range cands {
		cum[s] = tot
		tot += uint64(s.weightForLB()) * 16
	}
	if tot == 0 {
		return nil
	}
	totSlots := (uint64(served+1)*uint64(f) + 99) / 100
	perWeight, rem := totSlots/tot, totSlots%tot
	return func(s *Server) bool {
		w := uint64(s.weightForLB()) * 16
		c := cum[s]
		slots := w*perWeight + (c+w)*rem/tot - c*rem/tot
		if slots == 0 {
			slots = 1
		}
		return uint64(s.Conns.Load()) < slots
	}
}
