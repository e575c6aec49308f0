package sample

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"hash/crc32"

	"github.com/zeebo/xxh3"
)

// Hash and digest converters (manual 7.3.1). The 32-bit hashes return an
// unsigned value; "avalanche" (a non-zero argument) mixes it with
// HAProxy's full_hash.

func init() {
	h32 := func(name string, fn func(string) uint32) *Converter {
		return &Converter{Name: name, Args: Args(0, ArgSInt), In: TypeBin, Out: TypeSInt,
			Fn: func(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
				h := fn(in.Str)
				if len(a) > 0 && a[0].Int != 0 {
					h = fullHash(h)
				}
				return Int(int64(h)), true
			}}
	}
	seeded := func(name string, fn func(s string, seed uint64) int64) *Converter {
		return &Converter{Name: name, Args: Args(0, ArgSInt), In: TypeBin, Out: TypeSInt,
			Fn: func(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
				var seed uint64
				if len(a) > 0 {
					seed = uint64(a[0].Int)
				}
				return Int(fn(in.Str, seed)), true
			}}
	}
	registerConverters(
		h32("sdbm", SDBM),
		h32("djb2", DJB2),
		h32("wt6", WT6),
		h32("crc32", func(s string) uint32 { return crc32.ChecksumIEEE([]byte(s)) }),
		h32("crc32c", func(s string) uint32 { return crc32.Checksum([]byte(s), castagnoli) }),
		seeded("xxh32", func(s string, seed uint64) int64 { return int64(xxh32([]byte(s), uint32(seed))) }),
		seeded("xxh64", func(s string, seed uint64) int64 { return int64(xxh64([]byte(s), seed)) }),
		seeded("xxh3", func(s string, seed uint64) int64 { return int64(xxh3.HashStringSeed(s, seed)) }),
		&Converter{Name: "sha1", In: TypeBin, Out: TypeBin, Fn: func(_ *Ctx, _ []Arg, in Sample) (Sample, bool) {
			h := sha1.Sum([]byte(in.Str))
			return Bin(string(h[:])), true
		}},
		&Converter{Name: "sha2", Args: Args(0, ArgSInt), Check: checkSHA2, In: TypeBin, Out: TypeBin, Fn: convSHA2},
		&Converter{Name: "digest", Args: Args(1, ArgStr), Check: checkDigest, In: TypeBin, Out: TypeBin, Fn: convDigest},
		&Converter{Name: "hmac", Args: Args(2, ArgStr, ArgStr), Check: checkHMAC, In: TypeBin, Out: TypeBin, Fn: convHMAC},
	)
}

// SDBM is HAProxy's hash_sdbm (the "sdbm" converter, and the default
// function of hash-based load balancing).
func SDBM(s string) uint32 {
	var h uint32
	for i := 0; i < len(s); i++ {
		h = uint32(s[i]) + (h << 6) + (h << 16) - h
	}
	return h
}

// DJB2 is HAProxy's hash_djb2 (Dan Bernstein's hash).
func DJB2(s string) uint32 {
	h := uint32(5381)
	for i := 0; i < len(s); i++ {
		h = (h << 5) + h + uint32(s[i])
	}
	return h
}

// WT6 is HAProxy's hash_wt6.
func WT6(s string) uint32 {
	h0, h1 := uint32(0xa53c965a), uint32(0x5ca6953a)
	step0, step1 := uint32(6), uint32(18)
	for i := 0; i < len(s); i++ {
		t := uint32(s[i])
		h0 = ^(h0 ^ t)
		h1 = ^(h1 + t)
		t = h1<<step0 | h1>>((32-step0)&31)
		h1 = h0<<step1 | h0>>((32-step1)&31)
		h0 = t
		t = ((h0 >> 16) ^ h1) & 0xffff
		step0 = t & 0x1f
		step1 = t >> 11
	}
	return h0 ^ h1
}

// fullHash is Bob Jenkins' 32-bit integer mixer, HAProxy's full_hash.
func fullHash(a uint32) uint32 {
	a = (a + 0x7ed55d16) + (a << 12)
	a = (a ^ 0xc761c23c) ^ (a >> 19)
	a = (a + 0x165667b1) + (a << 5)
	a = (a + 0xd3a2646c) ^ (a << 9)
	a = (a + 0xfd7046c5) + (a << 3)
	a = (a ^ 0xb55a4f09) ^ (a >> 16)
	// spread the values all around the tree (HAProxy's extra step)
	return a * 3221225473
}

func checkSHA2(args []Arg, sc *Scope) error {
	if len(args) == 0 {
		return nil
	}
	switch args[0].Int {
	case 0:
		args[0].Int = 256
	case 224, 256, 384, 512:
	default:
		return fmt.Errorf("Unsupported number of bits: '%d'", args[0].Int)
	}
	return nil
}

func convSHA2(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
	bits := int64(256)
	if len(a) > 0 {
		bits = a[0].Int
	}
	b := []byte(in.Str)
	switch bits {
	case 224:
		h := sha256.Sum224(b)
		return Bin(string(h[:])), true
	case 384:
		h := sha512.Sum384(b)
		return Bin(string(h[:])), true
	case 512:
		h := sha512.Sum512(b)
		return Bin(string(h[:])), true
	}
	h := sha256.Sum256(b)
	return Bin(string(h[:])), true
}

// digests maps OpenSSL digest names to Go hashes.
var digests = map[string]func() hash.Hash{
	"md5": md5.New, "sha1": sha1.New, "sha224": sha256.New224, "sha256": sha256.New,
	"sha384": sha512.New384, "sha512": sha512.New, "sha512-224": sha512.New512_224,
	"sha512-256": sha512.New512_256,
	"MD5":        md5.New, "SHA1": sha1.New, "SHA224": sha256.New224, "SHA256": sha256.New,
	"SHA384": sha512.New384, "SHA512": sha512.New,
}

func checkDigest(args []Arg, sc *Scope) error {
	h, ok := digests[args[0].Str]
	if !ok {
		return fmt.Errorf("failed to get digest '%s'", args[0].Str)
	}
	args[0].Ref = h
	return nil
}

func convDigest(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
	h := a[0].Ref.(func() hash.Hash)()
	h.Write([]byte(in.Str))
	return Bin(string(h.Sum(nil))), true
}

func checkHMAC(args []Arg, sc *Scope) error {
	if err := checkDigest(args, sc); err != nil {
		return err
	}
	if v, err := ParseVarName(args[1].Str); err == nil {
		args[1].Type, args[1].Var = ArgVar, v
		return nil
	}
	k, err := base64.StdEncoding.DecodeString(args[1].Str)
	if err != nil {
		return fmt.Errorf("failed to base64 decode key '%s'", args[1].Str)
	}
	args[1].Int = -1
	args[1].Str = string(k)
	return nil
}

func convHMAC(ctx *Ctx, a []Arg, in Sample) (Sample, bool) {
	key := a[1].Str
	if a[1].Type == ArgVar {
		v, ok := varString(ctx, a, 1)
		if !ok {
			return Sample{}, false
		}
		k, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return Sample{}, false
		}
		key = string(k)
	}
	m := hmac.New(a[0].Ref.(func() hash.Hash), []byte(key))
	m.Write([]byte(in.Str))
	return Bin(string(m.Sum(nil))), true
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)
