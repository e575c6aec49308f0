package netio_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"luaproxy/netio"
)

// bufOp is one step of a buffer test: it applies an operation and returns
// its result (a count, or -1 for operations without one).
type bufOp struct {
	name string
	do   func(b *netio.Buffer) int
}

func appendOp(s string) bufOp {
	return bufOp{"append " + s, func(b *netio.Buffer) int { return b.Append([]byte(s)) }}
}

func insertOp(off int, s string) bufOp {
	return bufOp{"insert " + s, func(b *netio.Buffer) int { return b.Insert(off, []byte(s)) }}
}

func deleteOp(off, n int) bufOp {
	return bufOp{"delete", func(b *netio.Buffer) int { b.Delete(off, n); return -1 }}
}

func consumeOp(n int) bufOp {
	return bufOp{"consume", func(b *netio.Buffer) int { b.Consume(n); return -1 }}
}

func readOp(s string) bufOp {
	return bufOp{"read " + s, func(b *netio.Buffer) int {
		n, _ := b.ReadOnce(strings.NewReader(s))
		return n
	}}
}

var resetOp = bufOp{"reset", func(b *netio.Buffer) int { b.Reset(); return -1 }}

func TestBuffer(t *testing.T) {
	for _, tt := range []struct {
		name    string
		size    int
		ops     []bufOp
		results []int // one per op
		want    string
	}{
		{"append", 8, []bufOp{appendOp("abc"), appendOp("def")}, []int{3, 3}, "abcdef"},
		{"append partial when full", 8, []bufOp{appendOp("abcdef"), appendOp("ghijk"), appendOp("x")}, []int{6, 2, 0}, "abcdefgh"},
		{"consume then append compacts", 8, []bufOp{appendOp("abcdefgh"), consumeOp(5), appendOp("12345")}, []int{8, -1, 5}, "fgh12345"},
		{"consume all rewinds", 4, []bufOp{appendOp("abcd"), consumeOp(4), appendOp("wxyz")}, []int{4, -1, 4}, "wxyz"},
		{"insert front", 8, []bufOp{appendOp("world"), insertOp(0, "hi ")}, []int{5, 3}, "hi world"},
		{"insert middle", 16, []bufOp{appendOp("GET / HTTP/1.1"), insertOp(4, "/x")}, []int{14, 2}, "GET /x/ HTTP/1.1"},
		{"insert end", 8, []bufOp{appendOp("ab"), insertOp(2, "cd")}, []int{2, 2}, "abcd"},
		{"insert partial", 6, []bufOp{appendOp("abcd"), insertOp(1, "XYZ")}, []int{4, 2}, "aXYbcd"},
		{"insert after consume", 6, []bufOp{appendOp("abcdef"), consumeOp(3), insertOp(1, "123")}, []int{6, -1, 3}, "d123ef"},
		{"delete middle", 8, []bufOp{appendOp("abcdef"), deleteOp(2, 2)}, []int{6, -1}, "abef"},
		{"delete front", 8, []bufOp{appendOp("abcdef"), deleteOp(0, 2), appendOp("gh")}, []int{6, -1, 2}, "cdefgh"},
		{"delete nothing", 8, []bufOp{appendOp("ab"), deleteOp(1, 0)}, []int{2, -1}, "ab"},
		{"read into room", 8, []bufOp{appendOp("abc"), readOp("defghijk")}, []int{3, 5}, "abcdefgh"},
		{"read compacts", 8, []bufOp{appendOp("abcdefgh"), consumeOp(6), readOp("123456789")}, []int{8, -1, 6}, "gh123456"},
		{"read when full", 2, []bufOp{appendOp("ab"), readOp("c")}, []int{2, 0}, "ab"},
		{"reset", 8, []bufOp{appendOp("abc"), resetOp, appendOp("z")}, []int{3, -1, 1}, "z"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := netio.NewBuffer(tt.size)
			for i, op := range tt.ops {
				if got := op.do(b); got != tt.results[i] {
					t.Fatalf("op %d (%s) = %d; want %d", i, op.name, got, tt.results[i])
				}
			}
			if got := string(b.Bytes()); got != tt.want {
				t.Fatalf("Bytes = %q; want %q", got, tt.want)
			}
			if b.Len() != len(tt.want) || b.Room() != tt.size-len(tt.want) || b.Full() != (len(tt.want) == tt.size) {
				t.Fatalf("Len, Room, Full = %d, %d, %v for %q in %d", b.Len(), b.Room(), b.Full(), tt.want, tt.size)
			}
		})
	}
}

func TestBufferZeroValue(t *testing.T) {
	var b netio.Buffer
	if b.Size() != netio.DefaultBufSize || b.Room() != 16384 || b.Len() != 0 || len(b.Bytes()) != 0 {
		t.Fatalf("zero Buffer: size %d room %d len %d", b.Size(), b.Room(), b.Len())
	}
	big := bytes.Repeat([]byte("x"), 20000)
	if n := b.Append(big); n != 16384 || !b.Full() {
		t.Fatalf("Append(20000) = %d, Full = %v", n, b.Full())
	}
	if netio.NewBuffer(0).Size() != netio.DefaultBufSize {
		t.Fatal("NewBuffer(0) does not use the default size")
	}
}

func TestBufferIndexByte(t *testing.T) {
	b := netio.NewBuffer(32)
	if b.IndexByte('\n') != -1 {
		t.Fatal("IndexByte on an empty buffer")
	}
	b.Append([]byte("line one\nline two\n"))
	b.Consume(9)
	if i := b.IndexByte('\n'); i != 8 {
		t.Fatalf("IndexByte = %d; want 8", i)
	}
	if i := b.IndexByte('z'); i != -1 {
		t.Fatalf("IndexByte(z) = %d; want -1", i)
	}
}

func TestBufferReadOnce(t *testing.T) {
	b := netio.NewBuffer(16)
	// A single Read call, however little it returns.
	r := iotest.OneByteReader(strings.NewReader("hello"))
	if n, err := b.ReadOnce(r); n != 1 || err != nil {
		t.Fatalf("ReadOnce = %d, %v; want 1, nil", n, err)
	}
	for {
		if _, err := b.ReadOnce(r); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if string(b.Bytes()) != "hello" {
		t.Fatalf("Bytes = %q", b.Bytes())
	}
	// The reader's error comes back with the data.
	errBoom := errors.New("boom")
	n, err := b.ReadOnce(iotest.DataErrReader(iotest.ErrReader(errBoom)))
	if n != 0 || err != errBoom {
		t.Fatalf("ReadOnce = %d, %v; want 0, boom", n, err)
	}
	b.Append(bytes.Repeat([]byte("x"), b.Room()))
	if n, err := b.ReadOnce(strings.NewReader("more")); n != 0 || !errors.Is(err, netio.ErrBufferFull) {
		t.Fatalf("ReadOnce when full = %d, %v; want 0, ErrBufferFull", n, err)
	}
}

func TestBufferPanics(t *testing.T) {
	for _, tt := range []struct {
		name string
		fn   func(b *netio.Buffer)
	}{
		{"insert past end", func(b *netio.Buffer) { b.Insert(4, []byte("x")) }},
		{"insert negative", func(b *netio.Buffer) { b.Insert(-1, []byte("x")) }},
		{"delete past end", func(b *netio.Buffer) { b.Delete(2, 2) }},
		{"delete negative", func(b *netio.Buffer) { b.Delete(0, -1) }},
		{"consume too much", func(b *netio.Buffer) { b.Consume(4) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := netio.NewBuffer(8)
			b.Append([]byte("abc"))
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tt.fn(b)
		})
	}
}

func TestBufferAllocs(t *testing.T) {
	b := netio.NewBuffer(netio.DefaultBufSize)
	chunk := bytes.Repeat([]byte("y"), 1000)
	r := bytes.NewReader(nil)
	b.Append(chunk) // first write allocates the storage
	b.Reset()
	allocs := testing.AllocsPerRun(1000, func() {
		for !b.Full() {
			b.Append(chunk)
		}
		b.Consume(1500)
		b.Insert(10, chunk[:100])
		b.Delete(5, 50)
		r.Reset(chunk)
		b.Consume(b.Len() / 2)
		b.ReadOnce(r)
		_ = b.IndexByte('\n')
		b.Consume(b.Len())
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run; want 0", allocs)
	}
}

func BenchmarkBufferAppendConsume(b *testing.B) {
	buf := netio.NewBuffer(netio.DefaultBufSize)
	chunk := bytes.Repeat([]byte("z"), 1460)
	b.ReportAllocs()
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		if buf.Append(chunk) < len(chunk) {
			buf.Consume(buf.Len())
			buf.Append(chunk)
		}
	}
}
