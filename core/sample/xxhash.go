package sample

import (
	"encoding/binary"
	"math/bits"
)

// xxh32 and xxh64 are Yann Collet's XXH32 and XXH64 with a seed, as the
// xxh32 and xxh64 converters use them (xxh3 comes from github.com/zeebo/xxh3).

const (
	p32a uint32 = 2654435761
	p32b uint32 = 2246822519
	p32c uint32 = 3266489917
	p32d uint32 = 668265263
	p32e uint32 = 374761393
)

func xxh32Round(acc, in uint32) uint32 {
	return bits.RotateLeft32(acc+in*p32b, 13) * p32a
}

func xxh32(b []byte, seed uint32) uint32 {
	n := len(b)
	var h uint32
	if n >= 16 {
		v1, v2, v3, v4 := seed+p32a+p32b, seed+p32b, seed, seed-p32a
		for len(b) >= 16 {
			v1 = xxh32Round(v1, binary.LittleEndian.Uint32(b[0:]))
			v2 = xxh32Round(v2, binary.LittleEndian.Uint32(b[4:]))
			v3 = xxh32Round(v3, binary.LittleEndian.Uint32(b[8:]))
			v4 = xxh32Round(v4, binary.LittleEndian.Uint32(b[12:]))
			b = b[16:]
		}
		h = bits.RotateLeft32(v1, 1) + bits.RotateLeft32(v2, 7) + bits.RotateLeft32(v3, 12) + bits.RotateLeft32(v4, 18)
	} else {
		h = seed + p32e
	}
	h += uint32(n)
	for len(b) >= 4 {
		h = bits.RotateLeft32(h+binary.LittleEndian.Uint32(b)*p32c, 17) * p32d
		b = b[4:]
	}
	for _, c := range b {
		h = bits.RotateLeft32(h+uint32(c)*p32e, 11) * p32a
	}
	h ^= h >> 15
	h *= p32b
	h ^= h >> 13
	h *= p32c
	h ^= h >> 16
	return h
}

const (
	p64a uint64 = 11400714785074694791
	p64b uint64 = 14029467366897019727
	p64c uint64 = 1609587929392839161
	p64d uint64 = 9650029242287828579
	p64e uint64 = 2870177450012600261
)

func xxh64Round(acc, in uint64) uint64 {
	return bits.RotateLeft64(acc+in*p64b, 31) * p64a
}

func xxh64Merge(acc, v uint64) uint64 {
	acc ^= xxh64Round(0, v)
	return acc*p64a + p64d
}

func xxh64(b []byte, seed uint64) uint64 {
	n := len(b)
	var h uint64
	if n >= 32 {
		v1, v2, v3, v4 := seed+p64a+p64b, seed+p64b, seed, seed-p64a
		for len(b) >= 32 {
			v1 = xxh64Round(v1, binary.LittleEndian.Uint64(b[0:]))
			v2 = xxh64Round(v2, binary.LittleEndian.Uint64(b[8:]))
			v3 = xxh64Round(v3, binary.LittleEndian.Uint64(b[16:]))
			v4 = xxh64Round(v4, binary.LittleEndian.Uint64(b[24:]))
			b = b[32:]
		}
		h = bits.RotateLeft64(v1, 1) + bits.RotateLeft64(v2, 7) + bits.RotateLeft64(v3, 12) + bits.RotateLeft64(v4, 18)
		h = xxh64Merge(h, v1)
		h = xxh64Merge(h, v2)
		h = xxh64Merge(h, v3)
		h = xxh64Merge(h, v4)
	} else {
		h = seed + p64e
	}
	h += uint64(n)
	for len(b) >= 8 {
		h ^= xxh64Round(0, binary.LittleEndian.Uint64(b))
		h = bits.RotateLeft64(h, 27)*p64a + p64d
		b = b[8:]
	}
	if len(b) >= 4 {
		h ^= uint64(binary.LittleEndian.Uint32(b)) * p64a
		h = bits.RotateLeft64(h, 23)*p64b + p64c
		b = b[4:]
	}
	for _, c := range b {
		h ^= uint64(c) * p64e
		h = bits.RotateLeft64(h, 11) * p64a
	}
	h ^= h >> 33
	h *= p64b
	h ^= h >> 29
	h *= p64c
	h ^= h >> 32
	return h
}

// XXH32 is the 32-bit xxHash of b with seed (HAProxy's XXH32, which
// "hash-key addr" uses for IPv6 servers).
func XXH32(b []byte, seed uint32) uint32 { return xxh32(b, seed) }
