package h1_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"luaproxy/netio/h1"
)

// browserRequest is a typical browser request, about 350 bytes.
const browserRequest = "GET /assets/app.js?v=3 HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
	"Accept: */*\r\n" +
	"Accept-Language: en-US,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\n" +
	"Referer: https://www.example.com/\r\n" +
	"Sec-Fetch-Dest: script\r\n" +
	"Sec-Fetch-Mode: no-cors\r\n" +
	"Cookie: session=abc123; theme=dark\r\n" +
	"\r\n"

// repeatReader serves the same bytes forever, like a keep-alive client
// sending the same request again and again.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}

func BenchmarkReadRequest(b *testing.B) {
	for _, bc := range []struct{ name, req string }{
		{"browser", browserRequest},
		{"keepalive10", strings.Replace(browserRequest, "HTTP/1.1", "HTTP/1.0", 1)[:len(browserRequest)-2] + "Connection: keep-alive\r\n\r\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := h1.NewReader(&repeatReader{data: []byte(bc.req)}, 0)
			var m h1.Message
			b.SetBytes(int64(len(bc.req)))
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if err := r.ReadRequest(&m, h1.Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendHead(b *testing.B) {
	var m h1.Message
	if err := h1.NewReader(strings.NewReader(browserRequest), 0).ReadRequest(&m, h1.Limits{}); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 1024)
	b.SetBytes(int64(len(browserRequest)))
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		buf = h1.AppendHead(buf[:0], &m)
	}
}

// reportCPU adds the benchmark's CPU time per operation on its thread
// ("cpu-ns/op"): on a machine shared with other work, ns/op (wall time)
// says as much about the neighbours as about the code. Use as
// defer reportCPU(b)().
func reportCPU(b *testing.B) func() {
	lockThread()
	start := threadCPU()
	return func() {
		if used := threadCPU() - start; used > 0 && b.N > 0 {
			b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

// BenchmarkChunkedBody decodes a 64 KiB body sent in 4 KiB chunks.
func BenchmarkChunkedBody(b *testing.B) {
	var body []byte
	chunk := bytes.Repeat([]byte("x"), 4096)
	for range 16 {
		body = h1.AppendChunk(body, chunk)
	}
	body = h1.AppendLastChunk(body, nil)
	msg := append([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), body...)
	rd := bytes.NewReader(msg)
	r := h1.NewReader(rd, 0)
	var m h1.Message
	p := make([]byte, 16384)
	b.SetBytes(16 * 4096)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		rd.Reset(msg)
		r.Reset(rd)
		if err := r.ReadRequest(&m, h1.Limits{}); err != nil {
			b.Fatal(err)
		}
		for {
			_, err := r.ReadBody(p)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// TestAllocs holds the hot path to its budget: one allocation (the head
// as a string) per request on a reused Reader and Message.
func TestAllocs(t *testing.T) {
	r := h1.NewReader(&repeatReader{data: []byte(browserRequest)}, 0)
	var m h1.Message
	n := testing.AllocsPerRun(100, func() {
		if err := r.ReadRequest(&m, h1.Limits{}); err != nil {
			t.Fatal(err)
		}
	})
	if n > 1 {
		t.Errorf("ReadRequest: %v allocs, want at most 1", n)
	}
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { buf = h1.AppendHead(buf[:0], &m) }); n != 0 {
		t.Errorf("AppendHead: %v allocs, want 0", n)
	}
}
