package sample

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// Type is a sample type (HAProxy's SMP_T_*).
type Type uint8

// The sample types, in HAProxy's order.
const (
	TypeAny  Type = iota // any type: input of converters taking anything, output of var()
	TypeSame             // converter output only: same type as the input (set-var, when)
	TypeBool             // Int is 0 or 1 (any non-zero value reads as true)
	TypeSInt             // Int, 64-bit signed
	TypeAddr             // parse-time only: IPv4 or IPv6 (ipmask input)
	TypeIPv4             // Addr, a 4-byte address
	TypeIPv6             // Addr, a 16-byte address
	TypeStr              // Str, text
	TypeBin              // Str, arbitrary bytes
	TypeMeth             // Int is a Method; Str the text of an unknown method
	numTypes
)

var typeNames = [numTypes]string{"any", "same", "bool", "sint", "addr", "ipv4", "ipv6", "str", "bin", "meth"}

// String returns HAProxy's name for t ("sint", "str", ...).
func (t Type) String() string {
	if t < numTypes {
		return typeNames[t]
	}
	return "type" + strconv.Itoa(int(t))
}

// Flags qualify a sample.
type Flags uint8

const (
	// MayChange says the value may change once more data arrives
	// (SMP_F_MAY_CHANGE): a tcp-request content rule should wait.
	MayChange Flags = 1 << iota
	// NotLast says the fetch has more values (SMP_F_NOT_LAST); set by
	// fetches that enumerate occurrences for ACLs.
	NotLast
	// VolatileTest says the value differs from one call to the next (rand).
	Volatile
)

// Sample is one typed value. The zero Sample is an empty TypeAny value.
// Str is immutable (a Go string), so a sample may be stored in a variable
// or a map without copying.
type Sample struct {
	Type  Type
	Flags Flags
	Int   int64      // TypeBool, TypeSInt; the Method for TypeMeth
	Str   string     // TypeStr, TypeBin; the method text for MethOther
	Addr  netip.Addr // TypeIPv4, TypeIPv6
}

// Bool returns a TypeBool sample.
func Bool(b bool) Sample {
	if b {
		return Sample{Type: TypeBool, Int: 1}
	}
	return Sample{Type: TypeBool}
}

// Int returns a TypeSInt sample.
func Int(v int64) Sample { return Sample{Type: TypeSInt, Int: v} }

// Str returns a TypeStr sample.
func Str(s string) Sample { return Sample{Type: TypeStr, Str: s} }

// Bin returns a TypeBin sample.
func Bin(s string) Sample { return Sample{Type: TypeBin, Str: s} }

// Addr returns a TypeIPv4 or TypeIPv6 sample; an IPv4-mapped IPv6 address
// stays IPv6, as HAProxy keeps the family of the socket address.
func Addr(a netip.Addr) Sample {
	if a.Is4() {
		return Sample{Type: TypeIPv4, Addr: a}
	}
	return Sample{Type: TypeIPv6, Addr: a}
}

// Method is an HTTP method as HAProxy classifies them.
type Method uint8

// The known methods; MethOther carries its text in Sample.Str.
const (
	MethOptions Method = iota
	MethGet
	MethHead
	MethPost
	MethPut
	MethDelete
	MethTrace
	MethConnect
	MethOther
)

var methNames = [...]string{"OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT"}

// FindMethod classifies a method name, case-sensitively as HAProxy does.
func FindMethod(s string) Method {
	for i, n := range methNames {
		if s == n {
			return Method(i)
		}
	}
	return MethOther
}

// Meth returns a TypeMeth sample for the method text s.
func Meth(s string) Sample {
	m := FindMethod(s)
	if m == MethOther {
		return Sample{Type: TypeMeth, Int: int64(m), Str: s}
	}
	return Sample{Type: TypeMeth, Int: int64(m)}
}

// IsTrue tells whether a sample counts as a match for a boolean test
// (-m bool, conditions on fetches): non-zero for bool and integers.
func (s *Sample) IsTrue() bool { return s.Int != 0 }

// Convert casts s to type to following HAProxy's cast matrix
// (sample_casts). It reports false when no cast exists or the value does
// not convert (a string that is not an address). TypeAny and TypeSame
// leave s unchanged.
func Convert(s *Sample, to Type) bool {
	if to == TypeAny || to == TypeSame || s.Type == to {
		return true
	}
	if !CanCast(s.Type, to) {
		return false
	}
	switch s.Type {
	case TypeBool:
		// only to sint and str
		if to == TypeStr {
			s.Str = strconv.FormatInt(s.Int, 10)
		}
	case TypeSInt:
		switch to {
		case TypeAddr, TypeIPv4:
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], uint32(s.Int))
			s.Addr = netip.AddrFrom4(b)
			to = TypeIPv4
		case TypeIPv6:
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], uint32(s.Int))
			s.Addr = netip.AddrFrom16(netip.AddrFrom4(b).As16())
		case TypeStr:
			s.Str = strconv.FormatInt(s.Int, 10)
		case TypeBin:
			var b [8]byte
			binary.BigEndian.PutUint64(b[:], uint64(s.Int))
			s.Str = string(b[:])
		}
	case TypeIPv4:
		switch to {
		case TypeSInt:
			b := s.Addr.As4()
			s.Int = int64(binary.BigEndian.Uint32(b[:]))
		case TypeAddr:
			return true
		case TypeIPv6:
			s.Addr = netip.AddrFrom16(s.Addr.As16())
		case TypeStr:
			s.Str = s.Addr.String()
		case TypeBin:
			b := s.Addr.As4()
			s.Str = string(b[:])
		}
	case TypeIPv6:
		switch to {
		case TypeAddr:
			return true
		case TypeIPv4:
			v4, ok := v6tov4(s.Addr)
			if !ok {
				return false
			}
			s.Addr = v4
		case TypeStr:
			s.Str = ipv6String(s.Addr)
		case TypeBin:
			b := s.Addr.As16()
			s.Str = string(b[:])
		}
	case TypeStr:
		switch to {
		case TypeBool, TypeSInt:
			if s.Str == "" {
				return false
			}
			s.Int = readInt64(s.Str)
		case TypeAddr:
			a, ok := parseIPv4(s.Str)
			if ok {
				s.Addr, s.Type = a, TypeIPv4
				return true
			}
			a, ok = parseIPv6(s.Str)
			if !ok {
				return false
			}
			s.Addr, s.Type = a, TypeIPv6
			return true
		case TypeIPv4:
			a, ok := parseIPv4(s.Str)
			if !ok {
				return false
			}
			s.Addr = a
		case TypeIPv6:
			a, ok := parseIPv6(s.Str)
			if !ok {
				return false
			}
			s.Addr = a
		case TypeBin:
		case TypeMeth:
			*s = Meth(s.Str)
			return true
		}
	case TypeBin:
		switch to {
		case TypeStr:
			// HAProxy compat: a NUL byte ends the string (c_bin2str).
			for i := 0; i < len(s.Str); i++ {
				if s.Str[i] == 0 {
					s.Str = s.Str[:i]
					break
				}
			}
		case TypeMeth:
			*s = Meth(s.Str)
			return true
		}
	case TypeMeth:
		if Method(s.Int) < MethOther {
			s.Str = methNames[s.Int]
		}
	}
	s.Type = to
	return true
}

// castable is HAProxy's sample_casts matrix: castable[from][to] says a
// cast function exists.
var castable = [numTypes][numTypes]bool{
	//           any   same   bool   sint   addr   ipv4   ipv6   str    bin    meth
	TypeAny:  {true, true, true, true, true, true, true, true, true, true},
	TypeBool: {true, true, true, true, false, false, false, true, false, false},
	TypeSInt: {true, true, true, true, true, true, true, true, true, false},
	TypeAddr: {true, true, false, false, false, false, false, false, false, false},
	TypeIPv4: {true, true, false, true, true, true, true, true, true, false},
	TypeIPv6: {true, true, false, false, true, true, true, true, true, false},
	TypeStr:  {true, true, true, true, true, true, true, true, true, true},
	TypeBin:  {true, true, false, false, false, false, false, true, true, true},
	TypeMeth: {true, true, false, false, false, false, false, true, true, true},
}

// CanCast reports whether HAProxy's cast matrix has a cast from one type
// to another (used at configuration time to type-check converter chains).
func CanCast(from, to Type) bool {
	if from >= numTypes || to >= numTypes {
		return false
	}
	if from == TypeSame {
		from = TypeAny
	}
	return castable[from][to]
}

// readInt64 parses like HAProxy's read_int64: an optional sign, then
// digits up to the first non-digit; nothing parsed gives 0.
func readInt64(s string) int64 {
	i, neg := 0, false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	var v uint64
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		v = v*10 + uint64(s[i]-'0')
	}
	if neg {
		return -int64(v)
	}
	return int64(v)
}

// parseIPv4 accepts a dotted quad as HAProxy's buf2ip does (leading zeros
// are decimal, not octal).
func parseIPv4(s string) (netip.Addr, bool) {
	var b [4]byte
	n, v, digits := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || n > 3 {
				return netip.Addr{}, false
			}
			b[n] = byte(v)
			n++
			v, digits = 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' {
			return netip.Addr{}, false
		}
		v = v*10 + int(c-'0')
		digits++
		if v > 255 || digits > 3 {
			return netip.Addr{}, false
		}
	}
	if n != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(b), true
}

// parseIPv6 accepts what inet_pton(AF_INET6) accepts (no zone).
func parseIPv6(s string) (netip.Addr, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			return netip.Addr{}, false
		}
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() {
		// a plain IPv4 text is not an IPv6 address for inet_pton
		return netip.Addr{}, false
	}
	return a, true
}

// v6tov4 extracts the IPv4 address from an IPv4-mapped (::ffff:0:0/96) or
// 6to4 (2002::/16) address, as HAProxy's v6tov4.
func v6tov4(a netip.Addr) (netip.Addr, bool) {
	b := a.As16()
	if a.Is4In6() {
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	}
	if b[0] == 0x20 && b[1] == 0x02 {
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}

// ipv6String formats like glibc's inet_ntop: also "::a.b.c.d" for the
// deprecated IPv4-compatible form.
func ipv6String(a netip.Addr) string {
	b := a.As16()
	zero := true
	for _, c := range b[:12] {
		if c != 0 {
			zero = false
			break
		}
	}
	if zero && (b[12] != 0 || b[13] != 0) {
		return "::" + netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}).String()
	}
	return a.String()
}

// String returns the text of s as a string cast gives it; "" when it has
// no string form.
func (s Sample) String() string {
	c := s
	if !Convert(&c, TypeStr) {
		return ""
	}
	return c.Str
}
