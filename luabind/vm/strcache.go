//go:build lua53

package vm

import "encoding/binary"

// strCache keeps the Go copies of short strings Lua passed to Go, so that
// a string a script passes on every request (a header name, a constant
// value, the same path) is copied once instead of once per call. A Lua
// action's txn.http:req_set_header("x-name", value) spent two of its
// five allocations per request on its two arguments.
//
// It is a direct-mapped table: a lookup hashes the bytes, and a hit is
// the string in that slot with the same bytes; a miss copies and takes
// the slot. The hash only picks the slot (the bytes are compared), so a
// weak one that reads two words is enough: maphash cost as much as the
// allocation it saved. Strings longer than strCacheMaxLen are always
// copied: they are rarely repeated, and comparing them costs more. At
// most strCacheSlots * strCacheMaxLen bytes are kept per state.
type strCache struct {
	slots [strCacheSlots]string
}

const (
	strCacheSlots  = 256
	strCacheMaxLen = 64
)

// get returns b as a string, from the cache when it holds the same bytes.
func (sc *strCache) get(b []byte) string {
	if len(b) > strCacheMaxLen || len(b) == 0 {
		return string(b)
	}
	slot := &sc.slots[strHash(b)%strCacheSlots]
	if *slot == string(b) { // no allocation: the compiler compares in place
		return *slot
	}
	*slot = string(b)
	return *slot
}

// strHash mixes the first and last eight bytes of b and its length.
func strHash(b []byte) uint32 {
	n := len(b)
	var x, y uint64
	if n >= 8 {
		x = binary.LittleEndian.Uint64(b)
		y = binary.LittleEndian.Uint64(b[n-8:])
	} else {
		for i, c := range b {
			x |= uint64(c) << (8 * i)
		}
	}
	h := (x*0x9e3779b97f4a7c15 ^ y ^ uint64(n)) * 0xc2b2ae3d27d4eb4f
	return uint32(h >> 40)
}
