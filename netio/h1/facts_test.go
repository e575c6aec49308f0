package h1_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"luaproxy/netio/h1"
)

// The differential facts: what HAProxy 2.6.12 (Debian 2.6.12-1+deb12u4,
// /usr/sbin/haproxy) answers to each input, measured on loopback with
//
//	defaults: mode http, timeout http-request 2s, timeout http-keep-alive 10s
//	frontend f: http-request return status 200 (requests: 200 = accepted)
//	frontend p -> backend b -> a raw TCP server sending the response
//
// and the codec must give the same verdict: want is 0 when HAProxy accepts
// the message, the status it answers otherwise (for responses, the 502 it
// sends its client), truncated when it accepts the head and then waits for
// a body that never comes, eof when the server sent nothing at all.
// TestFactsAgainstHAProxy replays the table against a live HAProxy.
//
// What the measurements show, beyond the obvious:
//   - every malformed request gets 400 and a close; no 414 or 431: a too
//     long URI or too many headers are 400 too. Exceptions: 413 for an
//     HTTP/1.0 GET, HEAD or DELETE with a body; 422 for a request whose
//     Transfer-Encoding has a coding other than chunked while chunked is
//     last ("gzip, chunked"); a Transfer-Encoding without chunked last is
//     400. A bad response is always 502, and the client connection stays.
//   - Content-Length + Transfer-Encoding is accepted, not refused: the
//     Content-Length is removed and the connection closed after the
//     response (Connection: close). Same close for Transfer-Encoding in
//     HTTP/1.0.
//   - bare LF line ends are fine everywhere; a bare CR is a 400. obs-fold is
//     accepted and turned into spaces. NUL, CTLs, DEL and 8-bit bytes are
//     accepted in header values; in the URI CTLs, '#', DEL and 8-bit bytes
//     are refused, except that HAProxy's 4-bytes-at-a-time fast path lets
//     a DEL or some 8-bit bytes through among plain bytes ("/a\x7fb",
//     "/00\x87" pass, "/0\x87" does not): reproduced.
//   - HTTP/0.9 requests are refused; any "HTTP/d.d" version is accepted
//     ("HTTP/2.0", "HTTP/0.9"); in responses any capital letters may stand
//     for "HTTP" ("ABCD/1.1").
//   - header names must be tokens (space or tab before the colon is 400).
//     In trailers HAProxy 2.6.12 reads an uninitialized variable (its
//     trailer parser's err_pos) to decide: "X : y", "X(y): z" or " X: z"
//     pass in some processes and get 400 in others (seen both ways, marked
//     undefined below). We follow the upstream fix (later versions copy
//     the message's strictness): names must be tokens, 400 otherwise.
//     Trailers are otherwise checked like request headers: Content-Length
//     syntax, Transfer-Encoding ending in chunked, one Host.
//   - heads are bounded as HAProxy stores them (see Limits): 100 header
//     lines pass, 101 do not; start line, names and values, plus 8 bytes
//     a line and 9 for the end, may total 15284 bytes (15360 with the 76
//     fixed bytes), not one more; on the wire a head may take 16320 bytes
//     (blanks and empty lines included).
//   - the authority of an absolute URI must match Host unless they differ
//     by a default port only; CONNECT needs host:port and a matching Host;
//     two different Host headers are 400, two equal ones are merged.
//   - chunk sizes: 1 to 13 significant hex digits below 2^52, trailing
//     blanks and extensions (any byte but CR/LF) allowed, leading blanks
//     and "0x" not.
//   - a WebSocket upgrade (Connection: upgrade + Upgrade: websocket) needs a
//     24-byte Sec-WebSocket-Key, its 101 a Sec-WebSocket-Accept.
//   - engine level, not the codec's: a 101 to a request that did not ask
//     for an upgrade is 502; a request that never completes gets 408.
//
// Deviation: a Content-Length of 2^64-1 is accepted by HAProxy (it takes
// it for "unknown length"), refused here (400) with every value above
// 2^63-1; HAProxy refuses 2^63 to 2^64-2 as well.
type fact struct {
	name string
	in   string
	want int
	// Responses: the request sent through HAProxy (default a GET for
	// /name) and its method for ReadResponse.
	req, method string
	// undefined: HAProxy 2.6.12's verdict varies from one process to the
	// next; want is the verdict of later versions.
	undefined bool
}

const (
	truncated = -1
	eof       = -2
)

// host is the Host line most request facts carry.
const host = "Host: a\r\n"

var requestFacts = []fact{
	// request line
	{name: "good", in: "GET / HTTP/1.1\r\n" + host + "\r\n"},
	{name: "good10", in: "GET / HTTP/1.0\r\n\r\n"},
	{name: "leadingCRLF", in: "\r\n\r\nGET / HTTP/1.1\r\n" + host + "\r\n"},
	{name: "leadingLF", in: "\nGET / HTTP/1.1\r\n" + host + "\r\n"},
	{name: "bareLF", in: "GET / HTTP/1.1\nHost: a\n\n"},
	{name: "bareCR", in: "GET / HTTP/1.1\rHost: a\r\n\r\n", want: 400},
	{name: "leadingCRonly", in: "\rGET / HTTP/1.1\r\n\r\n", want: 400},
	{name: "http09", in: "GET /\r\n\r\n", want: 400},
	{name: "http09b", in: "GET\r\n\r\n", want: 400},
	{name: "noVersionSP", in: "GET / \r\n\r\n", want: 400},
	{name: "ver2.0", in: "GET / HTTP/2.0\r\n" + host + "\r\n"},
	{name: "ver1.2", in: "GET / HTTP/1.2\r\n" + host + "\r\n"},
	{name: "ver0.9", in: "GET / HTTP/0.9\r\n" + host + "\r\n"},
	{name: "ver9.9", in: "GET / HTTP/9.9\r\n" + host + "\r\n"},
	{name: "ver0.0", in: "GET / HTTP/0.0\r\n" + host + "\r\n"},
	{name: "ver3", in: "GET / HTTP/3\r\n" + host + "\r\n", want: 400},
	{name: "verLower", in: "GET / http/1.1\r\n" + host + "\r\n", want: 400},
	{name: "verJunk", in: "GET / FOO/1.1\r\n" + host + "\r\n", want: 400},
	{name: "ver1.x", in: "GET / HTTP/1.x\r\n" + host + "\r\n", want: 400},
	{name: "ver1.10", in: "GET / HTTP/1.10\r\n" + host + "\r\n", want: 400},
	{name: "verPTTH", in: "GET / PTTH/1.1\r\n" + host + "\r\n", want: 400},
	{name: "verHTTQ", in: "GET / HTTQ/1.1\r\n" + host + "\r\n", want: 400},
	{name: "ver1234", in: "GET / 1234/1.1\r\n" + host + "\r\n", want: 400},
	{name: "verH.TP", in: "GET / H.TP/1.1\r\n" + host + "\r\n", want: 400},
	{name: "verSlashes", in: "GET / HTTP/1/1\r\n" + host + "\r\n", want: 400},
	{name: "verTrailingSP", in: "GET / HTTP/1.1 \r\n" + host + "\r\n", want: 400},
	{name: "extraToken", in: "GET / HTTP/1.1 x\r\n" + host + "\r\n", want: 400},
	{name: "tabSeparators", in: "GET\t/\tHTTP/1.1\r\n" + host + "\r\n"},
	{name: "doubleSpaces", in: "GET  /  HTTP/1.1\r\n" + host + "\r\n"},
	{name: "methodBadChar", in: "G(T / HTTP/1.1\r\n" + host + "\r\n", want: 400},
	{name: "methodUnknown", in: "FOO / HTTP/1.1\r\n" + host + "\r\n"},
	{name: "methodLower", in: "get / HTTP/1.1\r\n" + host + "\r\n"},
	{name: "garbage", in: "\x16\x03\x01\x00\xa5\x01\x00\x00", want: 400},

	// request target
	{name: "uriCTL", in: "GET /a\x01b HTTP/1.1\r\n" + host + "\r\n", want: 400},
	{name: "uriDEL", in: "GET /a\x7fb HTTP/1.1\r\n" + host + "\r\n"},
	{name: "uriDELlast", in: "GET /\x7f HTTP/1.1\r\n" + host + "\r\n", want: 400},
	{name: "uri8bit", in: "GET /a\xe9b HTTP/1.1\r\n" + host + "\r\n", want: 400},
	{name: "uri8bitFastPath", in: "GET /00\x87 HTTP/1.1\r\n" + host + "\r\n"},
	{name: "uri8bitFastPath2", in: "GET /abc\x80defg HTTP/1.1\r\n" + host + "\r\n"},
	{name: "uri8bitSlowPath", in: "GET /0\x87 HTTP/1.1\r\n" + host + "\r\n", want: 400},
	{name: "uriFF", in: "GET /00\xff HTTP/1.1\r\n" + host + "\r\n", want: 400},
	{name: "uriHash", in: "GET /a#b HTTP/1.1\r\n" + host + "\r\n", want: 400},
	{name: "uriStar", in: "OPTIONS * HTTP/1.1\r\n" + host + "\r\n"},
	{name: "uriStarGET", in: "GET * HTTP/1.1\r\n" + host + "\r\n"},
	{name: "uriStarX", in: "GET *x HTTP/1.1\r\n" + host + "\r\n"},
	{name: "uriDoubleSlash", in: "GET //x HTTP/1.1\r\n" + host + "\r\n"},
	{name: "abs", in: "GET http://a/x HTTP/1.1\r\n" + host + "\r\n"},
	{name: "absMismatch", in: "GET http://b/x HTTP/1.1\r\n" + host + "\r\n", want: 400},
	{name: "absNoHost", in: "GET http://b/x HTTP/1.1\r\n\r\n"},
	{name: "absNoPath", in: "GET http://a HTTP/1.1\r\n" + host + "\r\n"},
	{name: "absHTTPS", in: "GET https://a/x HTTP/1.1\r\n" + host + "\r\n"},
	{name: "absFTP", in: "GET ftp://a/x HTTP/1.1\r\n" + host + "\r\n"},
	{name: "absCase", in: "GET http://A/x HTTP/1.1\r\n" + host + "\r\n"},
	{name: "absPort80", in: "GET http://a:80/x HTTP/1.1\r\n" + host + "\r\n"},
	{name: "absPort81", in: "GET http://a:81/x HTTP/1.1\r\n" + host + "\r\n", want: 400},
	{name: "absPort443", in: "GET https://a:443/x HTTP/1.1\r\n" + host + "\r\n"},
	{name: "absPort443http", in: "GET http://a:443/x HTTP/1.1\r\n" + host + "\r\n", want: 400},
	{name: "absHostPort80", in: "GET http://a/x HTTP/1.1\r\nHost: a:80\r\n\r\n"},
	{name: "absHostPort81", in: "GET http://a/x HTTP/1.1\r\nHost: a:81\r\n\r\n", want: 400},
	{name: "absQuery", in: "GET http://a?x HTTP/1.1\r\n" + host + "\r\n", want: 400},
	{name: "absUserinfo", in: "GET http://u@a/x HTTP/1.1\r\n" + host + "\r\n"},
	{name: "absUserinfoHost", in: "GET http://u@a:80/x HTTP/1.1\r\nHost: u@a\r\n\r\n", want: 400},
	{name: "absSchemeChars", in: "GET a+b.c-d://a/x HTTP/1.1\r\n" + host + "\r\n"},
	{name: "absSchemeDigit", in: "GET 1a://a/x HTTP/1.1\r\n" + host + "\r\n", want: 400},
	{name: "absEmptyAuthority", in: "GET http:///x HTTP/1.1\r\n" + host + "\r\n"},
	{name: "absOnlyScheme", in: "GET http:// HTTP/1.1\r\n" + host + "\r\n"},
	{name: "relNoSlash", in: "GET abc HTTP/1.1\r\n" + host + "\r\n", want: 400},
	{name: "relNoSlashSameHost", in: "GET abc HTTP/1.1\r\nHost: abc\r\n\r\n"},
	{name: "relNoSlashNoHost", in: "GET abc HTTP/1.1\r\n\r\n"},
	{name: "relColon", in: "GET a:b HTTP/1.1\r\n" + host + "\r\n", want: 400},
	{name: "relColonNoHost", in: "GET a:b HTTP/1.1\r\n\r\n"},
	{name: "relQuery", in: "GET ?x HTTP/1.1\r\n" + host + "\r\n", want: 400},
	{name: "relQueryNoHost", in: "GET ?x HTTP/1.1\r\n\r\n"},
	{name: "httpOneSlash", in: "GET http:/x HTTP/1.1\r\n" + host + "\r\n", want: 400},
	{name: "httpOneSlashNoHost", in: "GET http:/x HTTP/1.1\r\n\r\n"},
	{name: "connect", in: "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"},
	{name: "connect80", in: "CONNECT a:80 HTTP/1.1\r\n" + host + "\r\n"},
	{name: "connectHostNoPort", in: "CONNECT a:443 HTTP/1.1\r\n" + host + "\r\n"},
	{name: "connectOtherPortHost", in: "CONNECT a:8443 HTTP/1.1\r\nHost: A:8443\r\n\r\n"},
	{name: "connectOtherPortBareHost", in: "CONNECT a:8443 HTTP/1.1\r\n" + host + "\r\n", want: 400},
	{name: "connectHostPortDiffers", in: "CONNECT a:80 HTTP/1.1\r\nHost: a:443\r\n\r\n", want: 400},
	{name: "connectHostEmptyPort", in: "CONNECT a:443 HTTP/1.1\r\nHost: a:\r\n\r\n"},
	{name: "connectNoHost", in: "CONNECT a:443 HTTP/1.1\r\n\r\n"},
	{name: "connectNoPort", in: "CONNECT a HTTP/1.1\r\n" + host + "\r\n", want: 400},
	{name: "connectEmptyPort", in: "CONNECT a: HTTP/1.1\r\n\r\n", want: 400},
	{name: "connectDigitsOnly", in: "CONNECT 443 HTTP/1.1\r\n\r\n", want: 400},
	{name: "connectNoHostname", in: "CONNECT :443 HTTP/1.1\r\n\r\n"},
	{name: "connectPath", in: "CONNECT /x HTTP/1.1\r\n" + host + "\r\n", want: 400},
	{name: "connectAbs", in: "CONNECT http://a:443 HTTP/1.1\r\n\r\n"},
	{name: "connectHostMismatch", in: "CONNECT a:443 HTTP/1.1\r\nHost: b:443\r\n\r\n", want: 400},

	// Host
	{name: "noHost11", in: "GET / HTTP/1.1\r\n\r\n"},
	{name: "twoHostSame", in: "GET / HTTP/1.1\r\nHost: a\r\nhost: A\r\n\r\n"},
	{name: "twoHostDiff", in: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", want: 400},
	{name: "hostEmpty", in: "GET / HTTP/1.1\r\nHost:\r\n\r\n"},
	{name: "hostPort", in: "GET / HTTP/1.1\r\nHost: a:80\r\n\r\n"},
	{name: "hostSpace", in: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"},

	// header lines
	{name: "spaceBeforeColon", in: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", want: 400},
	{name: "tabBeforeColon", in: "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", want: 400},
	{name: "noColon", in: "GET / HTTP/1.1\r\nHost a\r\n\r\n", want: 400},
	{name: "noColonCRLF", in: "GET / HTTP/1.1\r\nHosta\r\n\r\n", want: 400},
	{name: "emptyName", in: "GET / HTTP/1.1\r\n: a\r\n" + host + "\r\n", want: 400},
	{name: "nameParen", in: "GET / HTTP/1.1\r\nX(y): a\r\n" + host + "\r\n", want: 400},
	{name: "name8bit", in: "GET / HTTP/1.1\r\nX\xe9: a\r\n" + host + "\r\n", want: 400},
	{name: "nameUnderscore", in: "GET / HTTP/1.1\r\nX_y: a\r\n" + host + "\r\n"},
	{name: "nameDot", in: "GET / HTTP/1.1\r\nX.y: a\r\n" + host + "\r\n"},
	{name: "leadingSpaceLine", in: "GET / HTTP/1.1\r\n Host: a\r\n\r\n", want: 400},
	{name: "obsFold", in: "GET / HTTP/1.1\r\n" + host + "X: a\r\n b\r\n\r\n"},
	{name: "obsFoldTab", in: "GET / HTTP/1.1\r\n" + host + "X: a\r\n\tb\r\n\r\n"},
	{name: "valNUL", in: "GET / HTTP/1.1\r\n" + host + "X: a\x00b\r\n\r\n"},
	{name: "valCTL", in: "GET / HTTP/1.1\r\n" + host + "X: a\x01b\r\n\r\n"},
	{name: "valDEL", in: "GET / HTTP/1.1\r\n" + host + "X: a\x7fb\r\n\r\n"},
	{name: "val8bit", in: "GET / HTTP/1.1\r\n" + host + "X: a\xe9b\r\n\r\n"},
	{name: "valCR", in: "GET / HTTP/1.1\r\n" + host + "X: a\rb\r\n\r\n", want: 400},
	{name: "valBareLF", in: "GET / HTTP/1.1\r\n" + host + "X: ab\nY: c\r\n\r\n"},
	{name: "valEmpty", in: "GET / HTTP/1.1\r\n" + host + "X:\r\n\r\n"},
	{name: "valSpaces", in: "GET / HTTP/1.1\r\n" + host + "X:    \r\n\r\n"},

	// Content-Length
	{name: "cl", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\n\r\nabc"},
	{name: "clNegative", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n", want: 400},
	{name: "clPlus", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: +3\r\n\r\nabc", want: 400},
	{name: "clHex", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 0x3\r\n\r\nabc", want: 400},
	{name: "clEmpty", in: "POST / HTTP/1.1\r\n" + host + "Content-Length:\r\n\r\n", want: 400},
	{name: "clInnerSpace", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 1 2\r\n\r\n", want: 400},
	{name: "clDupSame", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc"},
	{name: "clDupDiff", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", want: 400},
	{name: "clListSame", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 3, 3\r\n\r\nabc"},
	{name: "clListDiff", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 3,4\r\n\r\nabcd", want: 400},
	{name: "clListTrailingComma", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 3,\r\n\r\nabc", want: 400},
	{name: "clListLeadingComma", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: ,3\r\n\r\nabc", want: 400},
	{name: "clLeadingZeros", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 003\r\n\r\nabc"},
	{name: "clTrailingSpace", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 3  \r\n\r\nabc"},
	{name: "clTab", in: "POST / HTTP/1.1\r\n" + host + "Content-Length:\t3\r\n\r\nabc"},
	{name: "clNameCase", in: "POST / HTTP/1.1\r\n" + host + "content-LENGTH: 3\r\n\r\nabc"},
	{name: "clJunk", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 3x\r\n\r\nabc", want: 400},
	{name: "clOverflow", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 99999999999999999999\r\n\r\n", want: 400},
	{name: "cl2^63", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 9223372036854775808\r\n\r\n", want: 400},
	{name: "cl2^63-1", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 9223372036854775807\r\n\r\n", want: truncated},
	{name: "clBodyThenNext", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\n\r\nabcGET /2 HTTP/1.1\r\n" + host + "\r\n"},
	{name: "postNoLength", in: "POST / HTTP/1.1\r\n" + host + "\r\nGET /2 HTTP/1.1\r\n" + host + "\r\n"},
	{name: "expectNoBody", in: "POST / HTTP/1.1\r\n" + host + "Expect: 100-continue\r\nContent-Length: 3\r\n\r\n", want: truncated},

	// Transfer-Encoding
	{name: "chunked", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
	{name: "chunkedCase", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: ChUnKeD\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
	{name: "chunkedBlanks", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding:  chunked  \r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
	{name: "chunkedComma", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked,\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
	{name: "chunkedGET", in: "GET / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
	{name: "teGzip", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n\r\n", want: 400},
	{name: "teGzipChunked", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", want: 422},
	{name: "teIdentityChunked", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: identity, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", want: 422},
	{name: "teCommaChunked", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: ,chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", want: 422},
	{name: "teTwoHeaders", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", want: 422},
	{name: "teChunkedGzip", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, gzip\r\n\r\n", want: 400},
	{name: "teChunkedTwice", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", want: 400},
	{name: "teEmpty", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding:\r\n\r\n", want: 400},
	{name: "teIdentity", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: identity\r\n\r\n", want: 400},
	{name: "teXchunked", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: xchunked\r\n\r\n", want: 400},
	{name: "teGzip10", in: "POST / HTTP/1.0\r\nTransfer-Encoding: gzip\r\n\r\n", want: 400},
	{name: "clAndTE", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
	{name: "teAndCL", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
	{name: "badCLAndTE", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", want: 400},
	{name: "clAndTEGzip", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", want: 422},
	{name: "chunked10", in: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},

	// HTTP/1.0 bodies
	{name: "get10Body", in: "GET / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", want: 413},
	{name: "get10Length0", in: "GET / HTTP/1.0\r\nContent-Length: 0\r\n\r\n"},
	{name: "head10Body", in: "HEAD / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", want: 413},
	{name: "delete10Body", in: "DELETE / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", want: 413},
	{name: "get10Chunked", in: "GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", want: 413},
	{name: "post10Body", in: "POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc"},
	{name: "get11Body", in: "GET / HTTP/1.1\r\n" + host + "Content-Length: 3\r\n\r\nabc"},
	{name: "get10LowerBody", in: "get / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc"},

	// chunked bodies
	{name: "chunkExt", in: chunkedPost("3;foo=bar\r\nabc\r\n0\r\n\r\n")},
	{name: "chunkExtCTL", in: chunkedPost("3;\x01\x00\r\nabc\r\n0\r\n\r\n")},
	{name: "chunkExtSpaced", in: chunkedPost("3 ; a=b\r\nabc\r\n0\r\n\r\n")},
	{name: "chunkExtCR", in: chunkedPost("3;a\rb\r\nabc\r\n0\r\n\r\n"), want: 400},
	{name: "chunkTrailer", in: chunkedPost("3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n")},
	{name: "chunkBadHex", in: chunkedPost("zz\r\nabc\r\n0\r\n\r\n"), want: 400},
	{name: "chunkNoSize", in: chunkedPost("\r\nabc\r\n0\r\n\r\n"), want: 400},
	{name: "chunkSizeSpace", in: chunkedPost("3 \r\nabc\r\n0\r\n\r\n")},
	{name: "chunkSizeTab", in: chunkedPost("3\t\r\nabc\r\n0\r\n\r\n")},
	{name: "chunkSizeLeadingSpace", in: chunkedPost(" 3\r\nabc\r\n0\r\n\r\n"), want: 400},
	{name: "chunkSizeUpper", in: chunkedPost("A\r\n0123456789\r\n0\r\n\r\n")},
	{name: "chunkSize0x", in: chunkedPost("0x3\r\nabc\r\n0\r\n\r\n"), want: 400},
	{name: "chunkSize13Digits", in: chunkedPost("fffffffffffff\r\nabc\r\n"), want: truncated},
	{name: "chunkSizeTooLarge", in: chunkedPost("ffffffffffffffffff\r\nabc\r\n"), want: 400},
	{name: "chunkSizeLeadingZeros", in: chunkedPost("0000000000000003\r\nabc\r\n0\r\n\r\n")},
	{name: "chunkDataNoCRLF", in: chunkedPost("3\r\nabcX\r\n0\r\n\r\n"), want: 400},
	{name: "chunkDataCRLFMissing", in: chunkedPost("3\r\nabc0\r\n\r\n"), want: 400},
	{name: "chunkDataCROnly", in: chunkedPost("3\r\nabc\rX0\r\n\r\n"), want: 400},
	{name: "chunkBareLF", in: chunkedPost("3\nabc\n0\n\n")},
	{name: "chunkThenNext", in: chunkedPost("3\r\nabc\r\n0\r\n\r\nGET /2 HTTP/1.1\r\n" + host + "\r\n")},
	{name: "chunkUnfinishedTrailers", in: chunkedPost("3\r\nabc\r\n0\r\nGET"), want: truncated},

	// trailers
	{name: "trailerSpaceBeforeColon", in: chunkedPost("3\r\nabc\r\n0\r\nX : y\r\n\r\n"), want: 400, undefined: true},
	{name: "trailerParen", in: chunkedPost("3\r\nabc\r\n0\r\nX(y): z\r\n\r\n"), want: 400, undefined: true},
	{name: "trailerLeadingSpace", in: chunkedPost("3\r\nabc\r\n0\r\n X: z\r\n\r\n"), want: 400, undefined: true},
	{name: "trailerEmptyName", in: chunkedPost("3\r\nabc\r\n0\r\n: z\r\n\r\n"), want: 400},
	{name: "trailerNoColon", in: chunkedPost("3\r\nabc\r\n0\r\nXz\r\n\r\n"), want: 400},
	{name: "trailerNoColonSpace", in: chunkedPost("3\r\nabc\r\n0\r\nbad trailer\r\n\r\n"), want: 400},
	{name: "trailerBareCR", in: chunkedPost("3\r\nabc\r\n0\r\nX: a\rb\r\n\r\n"), want: 400},
	{name: "trailerFold", in: chunkedPost("3\r\nabc\r\n0\r\nX: a\r\n b\r\n\r\n")},
	{name: "trailerBareLF", in: chunkedPost("3\r\nabc\r\n0\r\nX: a\n\n")},
	{name: "trailerCL", in: chunkedPost("3\r\nabc\r\n0\r\nContent-Length: 5\r\n\r\n")},
	{name: "trailerBadCL", in: chunkedPost("3\r\nabc\r\n0\r\nContent-Length: x\r\n\r\n"), want: 400},
	{name: "trailerTEGzip", in: chunkedPost("3\r\nabc\r\n0\r\nTransfer-Encoding: gzip\r\n\r\n"), want: 400},
	{name: "trailerTEChunked", in: chunkedPost("3\r\nabc\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n")},
	{name: "trailerTwoHosts", in: chunkedPost("3\r\nabc\r\n0\r\nHost: a\r\nHost: b\r\n\r\n"), want: 400},
	{name: "trailerConnection", in: chunkedPost("3\r\nabc\r\n0\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\n" + host + "\r\n")},
	{name: "trailers101", in: chunkedPost("3\r\nabc\r\n0\r\n" + strings.Repeat("A: 1\r\n", 101) + "\r\n"), want: 400},

	// Connection, upgrades
	{name: "connClose", in: "GET / HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n"},
	{name: "connKeepAlive10", in: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"},
	{name: "connList", in: "GET / HTTP/1.1\r\n" + host + "Connection: foo, CLOSE\r\n\r\n"},
	{name: "pipelined3", in: strings.Repeat("GET / HTTP/1.1\r\n"+host+"\r\n", 3)},
	{name: "wsNoKey", in: "GET / HTTP/1.1\r\n" + host + "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n", want: 400},
	{name: "wsKey", in: "GET / HTTP/1.1\r\n" + host + "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"},
	{name: "wsKey23", in: "GET / HTTP/1.1\r\n" + host + "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=\r\n\r\n", want: 400},
	{name: "wsKeyAny24", in: "GET / HTTP/1.1\r\n" + host + "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: ************************\r\n\r\n"},
	{name: "ws10NoKey", in: "GET / HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", want: 400},
	{name: "wsListsNoKey", in: "GET / HTTP/1.1\r\n" + host + "Connection: keep-alive, Upgrade\r\nUpgrade: foo, WebSocket\r\n\r\n", want: 400},
	{name: "upgradeH2c", in: "GET / HTTP/1.1\r\n" + host + "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"},
	{name: "upgradeFoo", in: "GET / HTTP/1.1\r\n" + host + "Connection: Upgrade\r\nUpgrade: foo\r\n\r\n"},
	{name: "upgradeNoConnection", in: "GET / HTTP/1.1\r\n" + host + "Upgrade: websocket\r\n\r\n"},
}

func chunkedPost(body string) string {
	return "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n" + body
}

// sizeFacts are the limits, found by bisection against HAProxy with the
// default tune.bufsize 16384, tune.maxrewrite 1024, tune.http.maxhdr 101.
func sizeFacts() []fact {
	uri := func(n int) string { return "GET /" + strings.Repeat("a", n) + " HTTP/1.1\r\n" + host + "\r\n" }
	hdr := func(n int) string { return "GET / HTTP/1.1\r\n" + host + "X: " + strings.Repeat("b", n) + "\r\n\r\n" }
	many := func(n int) string {
		var b strings.Builder
		b.WriteString("GET / HTTP/1.1\r\n")
		for i := range 50 {
			b.WriteString("H" + string(rune('A'+i/26)) + string(rune('a'+i%26)) + ": v\r\n")
		}
		return b.String() + "X: " + strings.Repeat("b", n) + "\r\n\r\n"
	}
	lines := func(n int) string {
		return "GET / HTTP/1.1\r\n" + strings.Repeat("H: v\r\n", n) + "\r\n"
	}
	blanks := func(n int) string { return "GET / HTTP/1.1\r\nX:" + strings.Repeat(" ", n) + "v\r\n\r\n" }
	lead := func(n int) string {
		return strings.Repeat("\r\n", 200) + "GET /" + strings.Repeat("a", n) + " HTTP/1.1\r\n\r\n"
	}
	return []fact{
		{name: "uri15250", in: uri(15250)},
		{name: "uri15251", in: uri(15251), want: 400},
		{name: "uri30000", in: uri(30000), want: 400},
		{name: "header15241", in: hdr(15241)},
		{name: "header15242", in: hdr(15242), want: 400},
		{name: "header20000", in: hdr(20000), want: 400},
		{name: "51headers14654", in: many(14654)},
		{name: "51headers14655", in: many(14655), want: 400},
		{name: "lines100", in: lines(100)},
		{name: "lines101", in: lines(101), want: 400},
		{name: "lines150", in: lines(150), want: 400},
		{name: "raw16320", in: blanks(16297)},
		{name: "raw16321", in: blanks(16298), want: 400},
		{name: "leadingLines", in: lead(15263)},
		{name: "leadingLinesOver", in: lead(15264), want: 400},
	}
}

var responseFacts = []fact{
	{name: "ok", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
	{name: "ok10", in: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"},
	{name: "noReason", in: "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok"},
	{name: "noReasonSP", in: "HTTP/1.1 200 \r\nContent-Length: 2\r\n\r\nok"},
	{name: "reasonCTL", in: "HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\n\r\nok"},
	{name: "reason8bit", in: "HTTP/1.1 200 O\xe9K\r\nContent-Length: 2\r\n\r\nok"},
	{name: "status2digits", in: "HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok"},
	{name: "status4digits", in: "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok"},
	{name: "status099", in: "HTTP/1.1 099 OK\r\nContent-Length: 2\r\n\r\nok"},
	{name: "status600", in: "HTTP/1.1 600 OK\r\nContent-Length: 2\r\n\r\nok"},
	{name: "status65736", in: "HTTP/1.1 65736 OK\r\nContent-Length: 2\r\n\r\nok"},
	{name: "statusAlpha", in: "HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok", want: 502},
	{name: "statusTrailing", in: "HTTP/1.1 200x OK\r\nContent-Length: 2\r\n\r\nok", want: 502},
	{name: "statusEmpty", in: "HTTP/1.1  \r\nContent-Length: 2\r\n\r\nok", want: 502},
	{name: "statusNone", in: "HTTP/1.1\r\nContent-Length: 2\r\n\r\nok", want: 502},
	{name: "verXTTP", in: "XTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
	{name: "verABCD", in: "ABCD/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
	{name: "verA1.Z", in: "A1.Z/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
	{name: "verAbCD", in: "AbCD/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", want: 502},
	{name: "verDash", in: "HT-P/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", want: 502},
	{name: "verUnderscore", in: "HT_P/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", want: 502},
	{name: "verDoubleSlash", in: "HTTP//1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", want: 502},
	{name: "verLower", in: "http/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", want: 502},
	{name: "ver2.0", in: "HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok"},
	{name: "ver0.9", in: "HTTP/0.9 200 OK\r\nContent-Length: 2\r\n\r\nok"},
	{name: "ver1.10", in: "HTTP/1.10 200 OK\r\nContent-Length: 2\r\n\r\nok", want: 502},
	{name: "tabs", in: "HTTP/1.1\t200\tOK\r\nContent-Length: 2\r\n\r\nok"},
	{name: "doubleSpaces", in: "HTTP/1.1  200  OK\r\nContent-Length: 2\r\n\r\nok"},
	{name: "http09Body", in: "ok\r\n", want: 502},
	{name: "garbage", in: "\x00\x01\x02garbage", want: 502},
	{name: "empty", in: "", want: eof},
	{name: "leadingCRLF", in: "\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
	{name: "bareLF", in: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok"},
	{name: "bareCR", in: "HTTP/1.1 200 OK\rContent-Length: 2\r\n\r\nok", want: 502},
	{name: "spaceBeforeColon", in: "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok", want: 502},
	{name: "noColon", in: "HTTP/1.1 200 OK\r\nX y\r\nContent-Length: 2\r\n\r\nok", want: 502},
	{name: "nameParen", in: "HTTP/1.1 200 OK\r\nX(y): z\r\nContent-Length: 2\r\n\r\nok", want: 502},
	{name: "obsFold", in: "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 2\r\n\r\nok"},
	{name: "valNUL", in: "HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 2\r\n\r\nok"},
	{name: "clDupDiff", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", want: 502},
	{name: "clBad", in: "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\nok", want: 502},
	{name: "clNegative", in: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok", want: 502},
	{name: "clList", in: "HTTP/1.1 200 OK\r\nContent-Length: 02, 2\r\n\r\nok"},
	{name: "chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
	{name: "teGzip", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok", want: 502},
	{name: "teGzipChunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", want: 502},
	{name: "teChunkedGzip", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nok", want: 502},
	{name: "teChunkedTwice", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", want: 502},
	{name: "teEmpty", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\nok"},
	{name: "clAndTE", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
	{name: "closeDelimited", in: "HTTP/1.1 200 OK\r\n\r\nhello world"},
	{name: "closeDelimited10", in: "HTTP/1.0 200 OK\r\n\r\nhello world"},
	{name: "chunkBadHex", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n", want: 502},
	{name: "chunkNoCRLF", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n0\r\n\r\n", want: 502},
	{name: "chunkTrailer", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\n"},
	{name: "204WithLength", in: "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"},
	{name: "304WithLength", in: "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"},
	{name: "100Then200", in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
	{name: "103Then200", in: "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
	{name: "shortBody", in: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok", want: truncated},
	{name: "connectionList", in: "HTTP/1.1 200 OK\r\nConnection: foo, close\r\nContent-Length: 2\r\n\r\nok"},
	{name: "102headers", in: "HTTP/1.1 200 OK\r\n" + strings.Repeat("H: v\r\n", 101) + "Content-Length: 2\r\n\r\nok", want: 502},
	{name: "100headers", in: "HTTP/1.1 200 OK\r\n" + strings.Repeat("H: v\r\n", 99) + "Content-Length: 2\r\n\r\nok"},
	{name: "101headers", in: "HTTP/1.1 200 OK\r\n" + strings.Repeat("H: v\r\n", 100) + "Content-Length: 2\r\n\r\nok", want: 502},
	{name: "size15230", in: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("b", 15230) + "\r\nContent-Length: 2\r\n\r\nok"},
	{name: "size15231", in: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("b", 15231) + "\r\nContent-Length: 2\r\n\r\nok", want: 502},
	{name: "101WebSocketNoAccept", in: "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", want: 502,
		req: "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"},
	{name: "101WebSocket", in: "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x\r\n\r\n",
		req: "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"},
	{name: "101Other", in: "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\nraw",
		req: "Connection: Upgrade\r\nUpgrade: foo\r\n"},
	{name: "headWithLength", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", method: "HEAD"},
}

// verdict reads every message in, bodies included, and returns the status
// of the first failure, 0 when all is well, truncated or eof.
func verdict(in io.Reader, response bool, method string) int {
	r := h1.NewReader(in, 0)
	var m h1.Message
	for {
		var err error
		if response {
			err = r.ReadResponse(&m, h1.Limits{}, method)
		} else {
			err = r.ReadRequest(&m, h1.Limits{})
		}
		if err == nil {
			_, err = io.Copy(io.Discard, bodyReader{r})
		}
		var e *h1.Error
		switch {
		case err == nil && response && m.Status >= 100 && m.Status < 200 && m.Status != 101:
			continue // interim response, the final one follows
		case err == nil && (response || m.Framing == h1.FramingTunnel):
			return 0
		case err == nil:
			continue
		case errors.As(err, &e):
			return e.Status
		case err == io.EOF && !response:
			return 0
		case err == io.EOF:
			return eof
		case err == io.ErrUnexpectedEOF:
			return truncated
		}
		panic(err)
	}
}

// bodyReader makes a Reader's current body an io.Reader.
type bodyReader struct{ r *h1.Reader }

func (b bodyReader) Read(p []byte) (int, error) { return b.r.ReadBody(p) }

func TestRequestFacts(t *testing.T) {
	for _, f := range append(requestFacts, sizeFacts()...) {
		t.Run(f.name, func(t *testing.T) {
			if got := verdict(strings.NewReader(f.in), false, ""); got != f.want {
				t.Errorf("got %d, HAProxy %d for %q", got, f.want, trim(f.in))
			}
		})
	}
}

func TestResponseFacts(t *testing.T) {
	for _, f := range responseFacts {
		t.Run(f.name, func(t *testing.T) {
			method := f.method
			if method == "" {
				method = "GET"
			}
			if got := verdict(strings.NewReader(f.in), true, method); got != f.want {
				t.Errorf("got %d, HAProxy %d for %q", got, f.want, trim(f.in))
			}
		})
	}
}

func trim(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
