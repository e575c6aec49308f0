package sample

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Encoding converters (manual 7.3.1): hex, base64, url and json escaping,
// integer chunks.

func init() {
	registerConverters(
		&Converter{Name: "hex", In: TypeBin, Out: TypeStr, Fn: func(_ *Ctx, _ []Arg, in Sample) (Sample, bool) {
			return Str(strings.ToUpper(hexEncode(in.Str))), true
		}},
		&Converter{Name: "unhex", In: TypeStr, Out: TypeBin, Fn: convUnhex},
		&Converter{Name: "hex2i", In: TypeStr, Out: TypeSInt, Fn: convHex2i},
		&Converter{Name: "base2", In: TypeBin, Out: TypeStr, Fn: func(_ *Ctx, _ []Arg, in Sample) (Sample, bool) {
			var b strings.Builder
			for i := 0; i < len(in.Str); i++ {
				fmt.Fprintf(&b, "%08b", in.Str[i])
			}
			return Str(b.String()), true
		}},
		&Converter{Name: "base64", In: TypeBin, Out: TypeStr, Fn: func(_ *Ctx, _ []Arg, in Sample) (Sample, bool) {
			return Str(base64.StdEncoding.EncodeToString([]byte(in.Str))), true
		}},
		&Converter{Name: "b64dec", In: TypeStr, Out: TypeBin, Fn: func(_ *Ctx, _ []Arg, in Sample) (Sample, bool) {
			b, err := base64.StdEncoding.DecodeString(in.Str)
			if err != nil {
				return Sample{}, false
			}
			return Bin(string(b)), true
		}},
		&Converter{Name: "ub64enc", In: TypeStr, Out: TypeStr, Fn: func(_ *Ctx, _ []Arg, in Sample) (Sample, bool) {
			return Str(base64.RawURLEncoding.EncodeToString([]byte(in.Str))), true
		}},
		&Converter{Name: "ub64dec", In: TypeStr, Out: TypeStr, Fn: func(_ *Ctx, _ []Arg, in Sample) (Sample, bool) {
			b, ok := base64URLDecode(in.Str)
			if !ok {
				return Sample{}, false
			}
			return Str(b), true
		}},
		&Converter{Name: "url_dec", Args: Args(0, ArgSInt), In: TypeStr, Out: TypeStr, Fn: convURLDec},
		&Converter{Name: "url_enc", Args: Args(0, ArgStr), Check: checkURLEnc, In: TypeStr, Out: TypeStr, Fn: convURLEnc},
		&Converter{Name: "json", Args: Args(0, ArgStr), Check: checkJSON, In: TypeStr, Out: TypeStr, Fn: convJSON},
		&Converter{Name: "be2dec", Args: Args(2, ArgStr, ArgSInt, ArgSInt), Check: checkChunkSize(1), In: TypeBin, Out: TypeStr, Fn: convX2dec(false)},
		&Converter{Name: "le2dec", Args: Args(2, ArgStr, ArgSInt, ArgSInt), Check: checkChunkSize(1), In: TypeBin, Out: TypeStr, Fn: convX2dec(true)},
		&Converter{Name: "be2hex", Args: Args(0, ArgStr, ArgSInt, ArgSInt), Check: checkChunkSize(1), In: TypeBin, Out: TypeStr, Fn: convBe2hex},
		&Converter{Name: "htonl", In: TypeSInt, Out: TypeBin, Fn: func(_ *Ctx, _ []Arg, in Sample) (Sample, bool) {
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], uint32(in.Int))
			return Bin(string(b[:])), true
		}},
	)
}

const hexDigits = "0123456789abcdef"

func hexEncode(s string) string {
	b := make([]byte, 2*len(s))
	for i := 0; i < len(s); i++ {
		b[2*i], b[2*i+1] = hexDigits[s[i]>>4], hexDigits[s[i]&15]
	}
	return string(b)
}

func convUnhex(_ *Ctx, _ []Arg, in Sample) (Sample, bool) {
	s := in.Str
	if len(s)%2 != 0 {
		return Sample{}, false
	}
	b := make([]byte, len(s)/2)
	for i := range b {
		if !isHex(s[2*i]) || !isHex(s[2*i+1]) {
			return Sample{}, false
		}
		b[i] = unhexByte(s[2*i])<<4 | unhexByte(s[2*i+1])
	}
	return Bin(string(b)), true
}

// convHex2i parses hex digits into an integer (64-bit wrap-around); an
// input with a non-hex character gives nothing.
func convHex2i(_ *Ctx, _ []Arg, in Sample) (Sample, bool) {
	var v uint64
	for i := 0; i < len(in.Str); i++ {
		c := in.Str[i]
		if !isHex(c) {
			return Sample{}, false
		}
		v = v<<4 | uint64(unhexByte(c))
	}
	return Int(int64(v)), true
}

// base64URLDecode decodes base64url with or without padding.
func base64URLDecode(s string) (string, bool) {
	s = strings.TrimRight(s, "=")
	if len(s)%4 == 1 {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// urlDecode decodes %XX escapes; '+' becomes a space in a form (inForm)
// or after a '?'. It fails on a bad escape, as HAProxy's url_decode.
func urlDecode(s string, inForm bool) (string, bool) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '?':
			inForm = true
		case c == '+' && inForm:
			c = ' '
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", false
			}
			c = unhexByte(s[i+1])<<4 | unhexByte(s[i+2])
			i += 2
		}
		b = append(b, c)
	}
	return string(b), true
}

func convURLDec(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
	s, ok := urlDecode(in.Str, len(a) > 0 && a[0].Int != 0)
	if !ok {
		return Sample{}, false
	}
	return Str(s), true
}

func checkURLEnc(args []Arg, sc *Scope) error {
	if len(args) > 0 && args[0].Str != "" && args[0].Str != "query" {
		return fmt.Errorf("Unexpected encode type. Allowed value is 'query'")
	}
	return nil
}

// queryUnreserved are the characters url_enc leaves as they are.
func queryUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func convURLEnc(_ *Ctx, _ []Arg, in Sample) (Sample, bool) {
	var b strings.Builder
	for i := 0; i < len(in.Str); i++ {
		c := in.Str[i]
		if queryUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&15])
	}
	return Str(b.String()), true
}

// json input codes (HAProxy's IT_*).
const (
	jsonASCII = iota
	jsonUTF8
	jsonUTF8Skip
	jsonUTF8Permissive
	jsonUTF8PermissiveSkip
)

func checkJSON(args []Arg, sc *Scope) error {
	if len(args) == 0 || args[0].Str == "" {
		return nil
	}
	codes := map[string]int64{"ascii": jsonASCII, "utf8": jsonUTF8, "utf8s": jsonUTF8Skip,
		"utf8p": jsonUTF8Permissive, "utf8ps": jsonUTF8PermissiveSkip}
	c, ok := codes[args[0].Str]
	if !ok {
		return fmt.Errorf("Unexpected input code type. Allowed value are 'ascii', 'utf8', 'utf8s', 'utf8p' and 'utf8ps'")
	}
	args[0].Int = c
	return nil
}

func convJSON(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
	code := int64(jsonASCII)
	if len(a) > 0 {
		code = a[0].Int
	}
	s := in.Str
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '/':
			b.WriteString(`\/`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f || c >= 0x80 && code == jsonASCII:
			fmt.Fprintf(&b, `\u%04x`, c)
		case c >= 0x80:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n <= 1 {
				switch code {
				case jsonUTF8, jsonUTF8Permissive:
					return Sample{}, false
				}
				i++ // skip the invalid byte
				continue
			}
			fmt.Fprintf(&b, `\u%04x`, r)
			i += n
			continue
		default:
			b.WriteByte(c)
		}
		i++
	}
	return Str(b.String()), true
}

func checkChunkSize(i int) func(args []Arg, sc *Scope) error {
	return func(args []Arg, sc *Scope) error {
		if len(args) > i && (args[i].Int < 1 || args[i].Int > 8) {
			return fmt.Errorf("chunk_size out of [1..8] range (%d)", args[i].Int)
		}
		return nil
	}
}

// convX2dec implements be2dec and le2dec.
func convX2dec(little bool) ConvFunc {
	return func(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
		sep, size := a[0].Str, int(a[1].Int)
		trunc := len(a) > 2 && a[2].Int != 0
		s := in.Str
		var b strings.Builder
		for i := 0; i < len(s); i += size {
			end := min(i+size, len(s))
			if end-i < size && trunc {
				break
			}
			if i > 0 {
				b.WriteString(sep)
			}
			var v uint64
			if little {
				for j := end - 1; j >= i; j-- {
					v = v<<8 | uint64(s[j])
				}
			} else {
				for j := i; j < end; j++ {
					v = v<<8 | uint64(s[j])
				}
			}
			b.WriteString(strconv.FormatUint(v, 10))
		}
		return Str(b.String()), true
	}
}

func convBe2hex(_ *Ctx, a []Arg, in Sample) (Sample, bool) {
	sep, size, trunc := "", 1, false
	if len(a) > 0 {
		sep = a[0].Str
	}
	if len(a) > 1 {
		size = int(a[1].Int)
	}
	if len(a) > 2 {
		trunc = a[2].Int != 0
	}
	s := in.Str
	var b strings.Builder
	for i := 0; i < len(s); i += size {
		end := min(i+size, len(s))
		if end-i < size && trunc {
			break
		}
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(strings.ToUpper(hexEncode(s[i:end])))
	}
	return Str(b.String()), true
}
