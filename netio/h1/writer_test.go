package h1_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"luaproxy/netio/h1"
)

func TestAppendHead(t *testing.T) {
	req := h1.Message{Method: "GET", URI: "/x", Headers: hdrs("host", "a", "X-B", "1")}
	if got, want := string(h1.AppendHead(nil, &req)), "GET /x HTTP/1.1\r\nhost: a\r\nX-B: 1\r\n\r\n"; got != want {
		t.Errorf("request: %q, want %q", got, want)
	}
	resp := h1.Message{IsResponse: true, Version: "HTTP/1.0", Status: 404, Reason: "Not Found"}
	if got, want := string(h1.AppendHead([]byte("prefix|"), &resp)), "prefix|HTTP/1.0 404 Not Found\r\n\r\n"; got != want {
		t.Errorf("response: %q, want %q", got, want)
	}
}

func TestAppendChunk(t *testing.T) {
	var b []byte
	b = h1.AppendChunk(b, []byte("hello"))
	b = h1.AppendChunk(b, nil) // nothing: an empty chunk would end the body
	b = h1.AppendChunk(b, bytes.Repeat([]byte("x"), 300))
	b = h1.AppendLastChunk(b, hdrs("X-Sum", "1"))
	want := "5\r\nhello\r\n12c\r\n" + strings.Repeat("x", 300) + "\r\n0\r\nX-Sum: 1\r\n\r\n"
	if string(b) != want {
		t.Errorf("got %q", b)
	}
}

func TestBodyWriter(t *testing.T) {
	// Chunked, small and large writes, with trailers; read back.
	var out bytes.Buffer
	m := h1.Message{Method: "POST", URI: "/", ContentLength: -1}
	m.SetChunked()
	out.Write(h1.AppendHead(nil, &m))
	bw := h1.NewBodyWriter(&out, &m)
	big := bytes.Repeat([]byte("0123456789"), 1000)
	for _, p := range [][]byte{[]byte("small"), nil, big} {
		if n, err := bw.Write(p); n != len(p) || err != nil {
			t.Fatalf("Write: %d, %v", n, err)
		}
	}
	m.Trailers = hdrs("X-Done", "yes")
	if err := bw.Close(); err != nil {
		t.Fatal(err)
	}
	r := h1.NewReader(&out, 0)
	var got h1.Message
	if err := r.ReadRequest(&got, h1.Limits{}); err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(bodyReader{r})
	if err != nil || string(body) != "small"+string(big) || len(got.Trailers) != 1 || got.Trailers[0].Value != "yes" {
		t.Errorf("read back: %d bytes, trailers %v, %v", len(body), got.Trailers, err)
	}

	// Content-Length is enforced both ways.
	m = h1.Message{ContentLength: -1}
	m.SetContentLength(4)
	bw.Reset(io.Discard, &m)
	if _, err := bw.Write([]byte("12345")); !errors.Is(err, h1.ErrBodyLength) {
		t.Errorf("write past Content-Length: %v", err)
	}
	bw.Write([]byte("123"))
	if err := bw.Close(); !errors.Is(err, h1.ErrBodyLength) {
		t.Errorf("close short of Content-Length: %v", err)
	}
	bw.Reset(io.Discard, &m)
	bw.Write([]byte("1234"))
	if err := bw.Close(); err != nil {
		t.Errorf("exact Content-Length: %v", err)
	}
	// Close-delimited: anything goes.
	out.Reset()
	bw.Reset(&out, &h1.Message{ContentLength: -1})
	bw.Write([]byte("raw"))
	if err := bw.Close(); err != nil || out.String() != "raw" {
		t.Errorf("raw body: %q, %v", out.String(), err)
	}
}

// TestRelayChunked decodes a chunked body and encodes it again with the
// same trailers: what a proxy does.
func TestRelayChunked(t *testing.T) {
	in := "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n4\r\ndefg\r\n0\r\nT: 1\r\n\r\n"
	r := h1.NewReader(strings.NewReader(in), 0)
	var m h1.Message
	if err := r.ReadRequest(&m, h1.Limits{}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.Write(h1.AppendHead(nil, &m))
	bw := h1.NewBodyWriter(&out, &m)
	if _, err := io.Copy(bw, bodyReader{r}); err != nil {
		t.Fatal(err)
	}
	bw.Close()
	want := "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\nT: 1\r\n\r\n"
	if out.String() != want {
		t.Errorf("relayed %q\nwant    %q", out.String(), want)
	}
}
