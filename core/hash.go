package core

import (
	"hash/crc32"
	"sort"

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

// ringNode is one occurrence of a server on the consistent-hash ring.
type ringNode struct {
	key uint32
	srv *Server
}

// hashRing is consistent hashing's ring (HAProxy's chash tree): each
// server appears 16 times per unit of weight, at keys derived from its
// id, so a server going up or down moves only its own keys.
type hashRing []ringNode

// ewghtRange is HAProxy's SRV_EWGHT_RANGE: the node keys of server id N
// start at N*4096 before hashing.
const ewghtRange = 256 * 16

func buildRing(cands []*Server) hashRing {
	var r hashRing
	for _, s := range cands {
		n := s.weightForLB() * 16
		for i := 0; i < n; i++ {
			r = append(r, ringNode{key: fullHash(uint32(s.ID)*ewghtRange + uint32(i)), srv: s})
		}
	}
	// Stable, so that equal keys keep insertion order like the tree's
	// duplicates.
	sort.SliceStable(r, func(i, j int) bool { return r[i].key < r[j].key })
	return r
}

// pick returns the server of the node closest to h, either side, the
// previous one on a tie; when that is avoid, the next node's server that
// is not (chash_get_server_hash).
func (r hashRing) pick(h uint32, avoid *Server) *Server {
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
	for n := 0; r[i].srv == avoid && n < len(r); n++ {
		i = (i + 1) % len(r)
	}
	return r[i].srv
}
