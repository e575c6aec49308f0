package h1_test

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"luaproxy/netio/h1"
)

func readRequest(t *testing.T, in string) *h1.Message {
	t.Helper()
	r := h1.NewReader(strings.NewReader(in), 0)
	m := new(h1.Message)
	if err := r.ReadRequest(m, h1.Limits{}); err != nil {
		t.Fatalf("ReadRequest(%q): %v", in, err)
	}
	return m
}

func hdrs(kv ...string) []h1.Header {
	var hs []h1.Header
	for i := 0; i < len(kv); i += 2 {
		hs = append(hs, h1.Header{Name: kv[i], Value: kv[i+1]})
	}
	return hs
}

// headFields is what the parse tests compare.
type headFields struct {
	Method, URI, Version string
	Headers              []h1.Header
	ContentLength        int64
	Chunked              bool
	Framing              h1.Framing
	Conn                 h1.ConnFlags
}

func fieldsOf(m *h1.Message) headFields {
	return headFields{m.Method, m.URI, m.Version, m.Headers, m.ContentLength, m.Chunked, m.Framing, m.Conn}
}

// The normalization facts: what HAProxy 2.6.12's rules see of a head
// (observed with req.hdr, req.hdr_cnt, req.fhdr, url and method fetches in
// an "http-request return ... lf-string"), reproduced by the parser.
var parseTests = []struct {
	name string
	in   string
	want headFields
}{
	{"simple", "GET /p?q HTTP/1.1\r\nHost: a\r\nX-Case: V\r\n\r\n",
		headFields{"GET", "/p?q", "HTTP/1.1", hdrs("Host", "a", "X-Case", "V"), -1, false, h1.FramingNone, 0}},
	{"orderAndCaseKept", "GET / HTTP/1.1\r\nzeta: 1\r\nALPHA: 2\r\nMiXeD: 3\r\nzeta: 4\r\n\r\n",
		headFields{"GET", "/", "HTTP/1.1", hdrs("zeta", "1", "ALPHA", "2", "MiXeD", "3", "zeta", "4"), -1, false, h1.FramingNone, 0}},
	{"valueTrimmed", "GET / HTTP/1.1\r\nX: \t a b \t \r\n\r\n",
		headFields{"GET", "/", "HTTP/1.1", hdrs("X", "a b"), -1, false, h1.FramingNone, 0}},
	{"emptyValue", "GET / HTTP/1.1\r\nX:\r\nY:   \r\n\r\n",
		headFields{"GET", "/", "HTTP/1.1", hdrs("X", "", "Y", ""), -1, false, h1.FramingNone, 0}},
	{"obsFold", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n",
		headFields{"GET", "/", "HTTP/1.1", hdrs("X", "a   b"), -1, false, h1.FramingNone, 0}},
	{"obsFoldTab", "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n",
		headFields{"GET", "/", "HTTP/1.1", hdrs("X", "a  \tb"), -1, false, h1.FramingNone, 0}},
	{"obsFoldBareLF", "GET / HTTP/1.1\r\nX: a\n b\n\n",
		headFields{"GET", "/", "HTTP/1.1", hdrs("X", "a  b"), -1, false, h1.FramingNone, 0}},
	{"obsFoldEmptyValue", "GET / HTTP/1.1\r\nX:\r\n b\r\n\r\n",
		headFields{"GET", "/", "HTTP/1.1", hdrs("X", "b"), -1, false, h1.FramingNone, 0}},
	{"connectionCloseRemoved", "GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
		headFields{"GET", "/", "HTTP/1.1", nil, -1, false, h1.FramingNone, h1.ConnClose}},
	{"connectionKeepAliveRemoved", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
		headFields{"GET", "/", "HTTP/1.0", nil, -1, false, h1.FramingNone, h1.ConnKeepAlive}},
	{"connectionRejoined", "GET / HTTP/1.1\r\nConnection: foo, keep-alive, bar\r\n\r\n",
		headFields{"GET", "/", "HTTP/1.1", hdrs("Connection", "foo,bar"), -1, false, h1.FramingNone, h1.ConnKeepAlive}},
	{"connectionLeadingClose", "GET / HTTP/1.1\r\nConnection: close, foo\r\n\r\n",
		headFields{"GET", "/", "HTTP/1.1", hdrs("Connection", "foo"), -1, false, h1.FramingNone, h1.ConnClose}},
	{"connectionUntouched", "GET / HTTP/1.1\r\nConnection: foo , bar\r\n\r\n",
		headFields{"GET", "/", "HTTP/1.1", hdrs("Connection", "foo , bar"), -1, false, h1.FramingNone, 0}},
	{"connectionCommas", "GET / HTTP/1.1\r\nConnection: ,,\r\n\r\n",
		headFields{"GET", "/", "HTTP/1.1", hdrs("Connection", ","), -1, false, h1.FramingNone, 0}},
	{"connectionEmptyDropped", "GET / HTTP/1.1\r\nConnection:\r\n\r\n",
		headFields{"GET", "/", "HTTP/1.1", nil, -1, false, h1.FramingNone, 0}},
	{"connectionSeveral", "GET / HTTP/1.1\r\nConnection: foo\r\nConnection: close\r\nConnection: bar\r\n\r\n",
		headFields{"GET", "/", "HTTP/1.1", hdrs("Connection", "foo", "Connection", "bar"), -1, false, h1.FramingNone, h1.ConnClose}},
	{"connectionUpgradeKept", "GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
		headFields{"GET", "/", "HTTP/1.1", hdrs("Connection", "Upgrade", "Upgrade", "h2c"), -1, false, h1.FramingNone, h1.ConnUpgrade}},
	{"clDuplicateDropped", "POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 03\r\n\r\n",
		headFields{"POST", "/", "HTTP/1.1", hdrs("Content-Length", "3"), 3, false, h1.FramingLength, 0}},
	{"clListNarrowed", "POST / HTTP/1.1\r\nContent-Length: 03, 3\r\n\r\n",
		headFields{"POST", "/", "HTTP/1.1", hdrs("Content-Length", "3"), 3, false, h1.FramingLength, 0}},
	{"clListLastWins", "POST / HTTP/1.1\r\nContent-Length: 3, 003\r\n\r\n",
		headFields{"POST", "/", "HTTP/1.1", hdrs("Content-Length", "003"), 3, false, h1.FramingLength, 0}},
	{"clLeadingZerosKept", "POST / HTTP/1.1\r\nContent-Length: 003\r\n\r\n",
		headFields{"POST", "/", "HTTP/1.1", hdrs("Content-Length", "003"), 3, false, h1.FramingLength, 0}},
	{"clZero", "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
		headFields{"POST", "/", "HTTP/1.1", hdrs("Content-Length", "0"), 0, false, h1.FramingLength, 0}},
	{"clRemovedByTE", "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		headFields{"POST", "/", "HTTP/1.1", hdrs("Transfer-Encoding", "chunked"), -1, true, h1.FramingChunked, h1.ConnForceClose}},
	{"chunked10ForcesClose", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
		headFields{"POST", "/", "HTTP/1.0", hdrs("Transfer-Encoding", "chunked"), -1, true, h1.FramingChunked, h1.ConnForceClose}},
	{"hostDuplicateDropped", "GET / HTTP/1.1\r\nHost: a\r\nhost: A\r\n\r\n",
		headFields{"GET", "/", "HTTP/1.1", hdrs("Host", "a"), -1, false, h1.FramingNone, 0}},
	{"absoluteDefaultPort", "GET http://a:80/x?y HTTP/1.1\r\nHost: a\r\n\r\n",
		headFields{"GET", "http://a/x?y", "HTTP/1.1", hdrs("Host", "a"), -1, false, h1.FramingNone, 0}},
	{"absoluteHostRewritten", "GET HTTPS://A:443/x HTTP/1.1\r\nHost: a\r\n\r\n",
		headFields{"GET", "HTTPS://A/x", "HTTP/1.1", hdrs("Host", "A"), -1, false, h1.FramingNone, 0}},
	{"absoluteHostPortRemoved", "GET http://a:80/x HTTP/1.1\r\nHost: a:80\r\n\r\n",
		headFields{"GET", "http://a/x", "HTTP/1.1", hdrs("Host", "a"), -1, false, h1.FramingNone, 0}},
	{"absoluteNoPortKept", "GET http://a/x HTTP/1.1\r\nHost: a:80\r\n\r\n",
		headFields{"GET", "http://a/x", "HTTP/1.1", hdrs("Host", "a:80"), -1, false, h1.FramingNone, 0}},
	{"absoluteCaseKept", "GET http://A/x HTTP/1.1\r\nHost: a\r\n\r\n",
		headFields{"GET", "http://A/x", "HTTP/1.1", hdrs("Host", "a"), -1, false, h1.FramingNone, 0}},
	{"absoluteEmptyPort", "GET http://a:/x HTTP/1.1\r\nHost: a\r\n\r\n",
		headFields{"GET", "http://a/x", "HTTP/1.1", hdrs("Host", "a"), -1, false, h1.FramingNone, 0}},
	{"absoluteNoHost", "GET http://a:80/x HTTP/1.1\r\n\r\n",
		headFields{"GET", "http://a/x", "HTTP/1.1", nil, -1, false, h1.FramingNone, 0}},
	{"absoluteOtherScheme", "GET ftp://a:80/x HTTP/1.1\r\nHost: a:80\r\n\r\n",
		headFields{"GET", "ftp://a:80/x", "HTTP/1.1", hdrs("Host", "a:80"), -1, false, h1.FramingNone, 0}},
	{"absoluteWrongDefault", "GET https://a:80/x HTTP/1.1\r\nHost: a:80\r\n\r\n",
		headFields{"GET", "https://a:80/x", "HTTP/1.1", hdrs("Host", "a:80"), -1, false, h1.FramingNone, 0}},
	{"absoluteUserinfo", "GET http://u@a:80/x HTTP/1.1\r\nHost: a\r\n\r\n",
		headFields{"GET", "http://u@a/x", "HTTP/1.1", hdrs("Host", "a"), -1, false, h1.FramingNone, 0}},
	{"absoluteZeroPort", "GET http://a:080/x HTTP/1.1\r\nHost: a:080\r\n\r\n",
		headFields{"GET", "http://a:080/x", "HTTP/1.1", hdrs("Host", "a:080"), -1, false, h1.FramingNone, 0}},
	{"absoluteIPv6", "GET http://[::1]:80/x HTTP/1.1\r\nHost: [::1]\r\n\r\n",
		headFields{"GET", "http://[::1]/x", "HTTP/1.1", hdrs("Host", "[::1]"), -1, false, h1.FramingNone, 0}},
	{"absoluteQueryNoPath", "GET http://a:80?q HTTP/1.1\r\n\r\n",
		headFields{"GET", "http://a:80?q", "HTTP/1.1", nil, -1, false, h1.FramingNone, 0}},
	{"connectHostDefaultPort", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
		headFields{"CONNECT", "a:443", "HTTP/1.1", hdrs("Host", "a"), -1, false, h1.FramingNone, 0}},
	{"connectHostOtherPort", "CONNECT a:8443 HTTP/1.1\r\nHost: A:8443\r\n\r\n",
		headFields{"CONNECT", "a:8443", "HTTP/1.1", hdrs("Host", "A:8443"), -1, false, h1.FramingNone, 0}},
	{"connectBodyIgnored", "CONNECT a:443 HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
		headFields{"CONNECT", "a:443", "HTTP/1.1", hdrs("Content-Length", "5"), 5, false, h1.FramingNone, 0}},
	{"leadingEmptyLines", "\r\n\n\r\nGET / HTTP/1.1\r\n\r\n",
		headFields{"GET", "/", "HTTP/1.1", nil, -1, false, h1.FramingNone, 0}},
	{"separators", "GET\t /x \tHTTP/1.1\r\n\r\n",
		headFields{"GET", "/x", "HTTP/1.1", nil, -1, false, h1.FramingNone, 0}},
	{"valueBytes", "GET / HTTP/1.1\r\nX: a\x00\x01\x7f\xffb\r\n\r\n",
		headFields{"GET", "/", "HTTP/1.1", hdrs("X", "a\x00\x01\x7f\xffb"), -1, false, h1.FramingNone, 0}},
}

func TestParseRequest(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.name, func(t *testing.T) {
			got := fieldsOf(readRequest(t, tt.in))
			if len(got.Headers) == 0 {
				got.Headers = nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\ngot  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseResponse(t *testing.T) {
	tests := []struct {
		name, in, method string
		status           int
		reason, version  string
		framing          h1.Framing
	}{
		{"ok", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "GET", 200, "OK", "HTTP/1.1", h1.FramingLength},
		{"noReason", "HTTP/1.1 204\r\n\r\n", "GET", 204, "", "HTTP/1.1", h1.FramingNone},
		{"reasonSpaces", "HTTP/1.0  404  Not  Found \r\n\r\n", "GET", 404, "Not  Found ", "HTTP/1.0", h1.FramingClose},
		{"wrapped", "HTTP/1.1 65736 X\r\n\r\n", "GET", 200, "X", "HTTP/1.1", h1.FramingClose},
		{"head", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HEAD", 200, "OK", "HTTP/1.1", h1.FramingNone},
		{"304", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", "GET", 304, "Not Modified", "HTTP/1.1", h1.FramingNone},
		{"1xx", "HTTP/1.1 103 Early Hints\r\n\r\n", "GET", 103, "Early Hints", "HTTP/1.1", h1.FramingNone},
		{"101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\n\r\n", "GET", 101, "Switching Protocols", "HTTP/1.1", h1.FramingTunnel},
		{"connect2xx", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "CONNECT", 200, "OK", "HTTP/1.1", h1.FramingTunnel},
		{"connectRefused", "HTTP/1.1 403 No\r\nContent-Length: 0\r\n\r\n", "CONNECT", 403, "No", "HTTP/1.1", h1.FramingLength},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", 200, "OK", "HTTP/1.1", h1.FramingChunked},
		{"teEmptyCloses", "HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\nContent-Length: 2\r\n\r\n", "GET", 200, "OK", "HTTP/1.1", h1.FramingClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h1.NewReader(strings.NewReader(tt.in), 0)
			var m h1.Message
			if err := r.ReadResponse(&m, h1.Limits{}, tt.method); err != nil {
				t.Fatal(err)
			}
			if !m.IsResponse || m.Status != tt.status || m.Reason != tt.reason || m.Version != tt.version || m.Framing != tt.framing {
				t.Errorf("got %v %d %q %q %v", m.IsResponse, m.Status, m.Version, m.Reason, m.Framing)
			}
		})
	}
}

// TestResponseWithoutBodyDropsFraming: HAProxy 2.6.12 forwards a 204
// without its Content-Length (checked with a server sending
// "Content-Length: 0"); 1xx answers likewise.
func TestResponseWithoutBodyDropsFraming(t *testing.T) {
	for _, in := range []string{
		"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nX-A: 1\r\n\r\n",
		"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n",
	} {
		r := h1.NewReader(strings.NewReader(in), 0)
		var m h1.Message
		if err := r.ReadResponse(&m, h1.Limits{}, "GET"); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m.Headers, hdrs("X-A", "1")) || m.Framing != h1.FramingNone || m.ContentLength != -1 || m.Chunked {
			t.Errorf("%q: headers %v, framing %v, length %d, chunked %v", in, m.Headers, m.Framing, m.ContentLength, m.Chunked)
		}
	}
	// 304 keeps its Content-Length (the resource's)
	r := h1.NewReader(strings.NewReader("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"), 0)
	var m h1.Message
	if err := r.ReadResponse(&m, h1.Limits{}, "GET"); err != nil || len(m.Headers) != 1 {
		t.Errorf("304: %v %v", m.Headers, err)
	}
}

// Canonical heads (nothing the parser normalizes) come out of AppendHead
// byte for byte as they went in.
var canonicalHeads = []string{
	"GET / HTTP/1.1\r\n\r\n",
	"GET /index.html?a=1&b=2 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: x\r\nAccept: */*\r\n\r\n",
	"POST /submit HTTP/1.1\r\nhost: a\r\nCONTENT-LENGTH: 5\r\nx-weird_Name: with  inner  spaces\r\nEmpty: \r\n\r\n",
	"PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n",
	"CONNECT a:8443 HTTP/1.1\r\nHost: a:8443\r\n\r\n",
	"GET / HTTP/1.0\r\nX: \x00\x01\x7f\xff\r\n\r\n",
	"GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
	browserRequest,
}

var canonicalResponses = []string{
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
	"HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\n",
	"HTTP/1.1 204 No Content\r\n\r\n",
	"HTTP/1.1 500 \r\n\r\n",
	"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
}

func TestRoundTrip(t *testing.T) {
	for _, in := range canonicalHeads {
		m := readRequest(t, in)
		if got := string(h1.AppendHead(nil, m)); got != in {
			t.Errorf("round trip\n in: %q\nout: %q", in, got)
		}
	}
	for _, in := range canonicalResponses {
		r := h1.NewReader(strings.NewReader(in), 0)
		var m h1.Message
		if err := r.ReadResponse(&m, h1.Limits{}, "GET"); err != nil {
			t.Fatal(err)
		}
		if got := string(h1.AppendHead(nil, &m)); got != in {
			t.Errorf("round trip\n in: %q\nout: %q", in, got)
		}
	}
}

func TestErrorDetails(t *testing.T) {
	tests := []struct {
		in     string
		status int
		kind   error
		pos    int
	}{
		{"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, h1.ErrHeaderName, 20},
		{"GET / HTTP/1.1\r\nHost a\r\n\r\n", 400, h1.ErrHeaderName, 20},
		{"GET / HTTP/1.1\r\nHosta\r\n\r\n", 400, h1.ErrHeaderLine, 21},
		{"\r\nGET / HTTP/1.1\r\n: a\r\n\r\n", 400, h1.ErrHeaderName, 18},
		{"GET /a#b HTTP/1.1\r\n\r\n", 400, h1.ErrStartLine, 6},
		{"GET /\r\n\r\n", 400, h1.ErrVersion, 5},
		{"GET / HTTP/1.x\r\n\r\n", 400, h1.ErrStartLine, 13},
		{"GET / HTTP/1.2.3\r\n\r\n", 400, h1.ErrVersion, 6},
		{"POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400, h1.ErrContentLength, 34},
		{"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, h1.ErrContentLength, 52},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400, h1.ErrTransferEncoding, 45},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 422, h1.ErrUnknownCoding, 53},
		{"GET / HTTP/1.0\r\nContent-Length: 1\r\n\r\nx", 413, h1.ErrBodyNotAllowed, 37},
		{"GET http://b/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, h1.ErrHost, 30},
		{"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", 400, h1.ErrWebSocket, 59},
		{"GET / HTTP/1.1\r\n" + strings.Repeat("X: y\r\n", 101) + "\r\n", 400, h1.ErrTooManyHeaders, 622},
		{"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd", 400, h1.ErrChunk, 6},
		{"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX : y\r\n\r\n", 400, h1.ErrHeaderName, 4},
		{"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n\r\n", 0, nil, 0},
	}
	for _, tt := range tests {
		r := h1.NewReader(strings.NewReader(tt.in), 0)
		var m h1.Message
		err := r.ReadRequest(&m, h1.Limits{})
		if err == nil {
			_, err = io.Copy(io.Discard, bodyReader{r})
		}
		var e *h1.Error
		if tt.kind == nil {
			if err != nil {
				t.Errorf("%q: %v", tt.in, err)
			}
			continue
		}
		if !errors.As(err, &e) || e.Status != tt.status || !errors.Is(err, tt.kind) || e.Pos != tt.pos {
			t.Errorf("%q: got %v (%#v), want %d %v at %d", tt.in, err, e, tt.status, tt.kind, tt.pos)
		}
	}
}

func TestLimits(t *testing.T) {
	lines := func(n int) string { return "GET / HTTP/1.1\r\n" + strings.Repeat("H: v\r\n", n) + "\r\n" }
	read := func(in string, lim h1.Limits, bufSize int) error {
		var m h1.Message
		return h1.NewReader(strings.NewReader(in), bufSize).ReadRequest(&m, lim)
	}
	if err := read(lines(10), h1.Limits{MaxHeaders: 11}, 0); err != nil {
		t.Errorf("10 lines, maxhdr 11: %v", err)
	}
	if err := read(lines(11), h1.Limits{MaxHeaders: 11}, 0); !errors.Is(err, h1.ErrTooManyHeaders) {
		t.Errorf("11 lines, maxhdr 11: %v", err)
	}
	big := "GET /" + strings.Repeat("a", 2900) + " HTTP/1.1\r\n\r\n"
	if err := read(big, h1.LimitsFor(4096, 1024, 101), 0); err != nil {
		t.Errorf("2900-byte URI, bufsize 4096: %v", err)
	}
	if err := read(big, h1.LimitsFor(3072, 1024, 101), 0); !errors.Is(err, h1.ErrHeadTooLarge) {
		t.Errorf("2900-byte URI, bufsize 3072: %v", err)
	}
	// The reader's buffer bounds a head too.
	if err := read(big, h1.Limits{}, 2048); !errors.Is(err, h1.ErrHeadTooLarge) {
		t.Errorf("2900-byte URI, 2048-byte buffer: %v", err)
	}
}
