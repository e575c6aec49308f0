package core

import (
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"luaproxy/core/config"
	"luaproxy/netio/h1"
)

// HTTP compression ("compression algo|type|offload", "filter
// compression"), as HAProxy 2.6's comp filter (src/flt_http_comp.c)
// decides it:
//
//   - on the request, once the backend is known: the algorithm is the
//     first one of the backend's list, else the frontend's, that the
//     best-valued Accept-Encoding element names ("*" names any; q=0 none);
//     "identity" in the list is taken when nothing else is. A
//     "Mozilla/4" user agent other than MSIE 6 SP2 or later gets none.
//     "compression offload" then removes Accept-Encoding.
//   - on the response, as the server sent it (before the http-response
//     rules, which see neither the decision nor the rewritten head, made
//     after the http-after-response rules): an algorithm was
//     chosen, request and response are HTTP/1.1, the method is not HEAD,
//     the status is 200 to 203, the body has a length (not
//     close-delimited, not empty by nature nor "Content-Length: 0"), no Content-Encoding, no
//     "Cache-Control: no-transform", at most one valid ETag, and the
//     Content-Type is not multipart and starts with one of the "compression
//     type" entries when there are some (the backend's first), a response
//     without one not compressed then.
//   - a compressed response loses Content-Length, goes chunked, its
//     strong ETag becomes weak, and gets "Vary: Accept-Encoding" and
//     (identity aside) "Content-Encoding".
//
// The body is compressed as it streams, one compressor per response
// (pooled), flushed each time the server's data runs dry, as HAProxy
// flushes at the end of each buffer: memory stays bounded whatever the
// body's size. The level is HAProxy's default tune.comp.maxlevel, 1.
//
// Not done: responses a Lua filter rewrites as data (a data filter on
// the response) are left uncompressed, and maxcomprate, maxcompcpuusage
// are not applied.

// compAlgo is one compression algorithm.
type compAlgo struct {
	name   string // the configuration name
	uaName string // the Accept-Encoding / Content-Encoding token
	pool   *sync.Pool
}

var compAlgos = map[string]*compAlgo{
	"identity":    {name: "identity", uaName: "identity"},
	"gzip":        {name: "gzip", uaName: "gzip", pool: &sync.Pool{}},
	"deflate":     {name: "deflate", uaName: "deflate", pool: &sync.Pool{}},
	"raw-deflate": {name: "raw-deflate", uaName: "deflate", pool: &sync.Pool{}},
}

// compCounters are a proxy's compression statistics (comp_in,
// comp_out, comp_rsp). comp_byp, the bytes of responses not compressed,
// stays 0: luaproxy does not count response bytes per proxy yet.
type compCounters struct {
	in, out, rsp atomic.Int64
}

func (c *compCounters) fill(l statLine) {
	l.set("comp_in", c.in.Load())
	l.set("comp_out", c.out.Load())
	l.set("comp_rsp", c.rsp.Load())
}

// countComp adds a compressed response's bytes to the frontend's and
// the backend's counters.
func (s *Stream) countComp(in, out int64) {
	for i, px := range []*Proxy{s.Frontend, s.Backend} {
		if px == nil || i == 1 && px == s.Frontend {
			continue
		}
		px.compStats.in.Add(in)
		px.compStats.out.Add(out)
		px.compStats.rsp.Add(1)
	}
}

// compressor is a streaming encoder of one algorithm.
type compressor interface {
	io.WriteCloser
	Flush() error
	Reset(w io.Writer)
}

// compLevel is HAProxy's default tune.comp.maxlevel.
const compLevel = 1

// get returns an encoder writing to w.
func (a *compAlgo) get(w io.Writer) compressor {
	if c, ok := a.pool.Get().(compressor); ok {
		c.Reset(w)
		return c
	}
	switch a.name {
	case "gzip":
		c, _ := gzip.NewWriterLevel(w, compLevel)
		return c
	case "deflate":
		c, _ := zlib.NewWriterLevel(w, compLevel)
		return c
	default:
		c, _ := flate.NewWriter(w, compLevel)
		return c
	}
}

func (a *compAlgo) put(c compressor) {
	c.Reset(io.Discard)
	a.pool.Put(c)
}

// compConfig is a proxy's "compression" settings. A proxy inherits the
// algorithms and types of its defaults section, not "offload" (as
// HAProxy 2.6 copies them).
type compConfig struct {
	// algos in HAProxy's order: each "compression algo" word goes in
	// front of the list (comp_append_algo prepends).
	algos   []*compAlgo
	types   []string // "compression type" entries, in order
	offload bool
}

// parseCompression handles "compression algo|type|offload ...".
func parseCompression(px *Proxy, l config.Line) error {
	args := l.Args
	if len(args) < 2 {
		return l.Errorf("'compression' expects 'algo', 'type' or 'offload'")
	}
	if px.comp == nil {
		px.comp = &compConfig{}
	} else if px.compShared {
		c := *px.comp
		c.algos = append([]*compAlgo(nil), c.algos...)
		c.types = append([]string(nil), c.types...)
		px.comp = &c
	}
	px.compShared = false
	c := px.comp
	switch args[1] {
	case "algo":
		if len(args) < 3 {
			// HAProxy compat: its message repeats the location
			return l.Errorf("parsing [%s:%d] : 'compression' expects <algorithm>.", l.File, l.Num)
		}
		for _, a := range args[2:] {
			alg, ok := compAlgos[a]
			if !ok {
				return l.Errorf("'%s' : '%s' is not a supported algorithm.", args[1], a)
			}
			c.algos = append([]*compAlgo{alg}, c.algos...)
		}
	case "type":
		if len(args) < 3 {
			return l.Errorf("'%s' expects <type>", args[1])
		}
		c.types = append(c.types, args[2:]...)
	case "offload":
		if px.Kind != "frontend" && px.Kind != "listen" && px.Kind != "defaults" && px.Kind != "backend" {
			return l.Errorf("'%s' is not allowed here", args[1])
		}
		c.offload = true
	default:
		return l.Errorf("'compression' expects 'algo', 'type' or 'offload'")
	}
	return nil
}

// checkCompression applies HAProxy's rule on filters: a proxy with other
// filters needs an explicit "filter compression" to compress.
func checkCompression(px *Proxy) error {
	if px.comp == nil || px.compFilter || len(px.filters) == 0 {
		return nil
	}
	return fmt.Errorf("config: proxy '%s': require an explicit filter declaration to use HTTP compression", px.Name)
}

// compAlgos, compTypes and compOffload are the compression settings
// that apply: the backend's when it has some of the kind asked, else the
// frontend's.
func (s *Stream) compAlgos() []*compAlgo {
	if be := s.Backend; be != nil && be.comp != nil && len(be.comp.algos) > 0 {
		return be.comp.algos
	}
	if fe := s.Frontend; fe.comp != nil {
		return fe.comp.algos
	}
	return nil
}

func (s *Stream) compTypes() []string {
	if be := s.Backend; be != nil && be.comp != nil && len(be.comp.types) > 0 {
		return be.comp.types
	}
	if fe := s.Frontend; fe.comp != nil {
		return fe.comp.types
	}
	return nil
}

func (s *Stream) compOffload() bool {
	be, fe := s.Backend, s.Frontend
	return be != nil && be.comp != nil && be.comp.offload || fe.comp != nil && fe.comp.offload
}

// compSelectRequest chooses the transaction's algorithm from the
// request (see the top of the file).
func (s *Stream) compSelectRequest(tx *HTTPTxn) {
	tx.comp = nil
	if s.Frontend.comp == nil && (s.Backend == nil || s.Backend.comp == nil) {
		return
	}
	req := &tx.Req
	if ua, ok := req.Get("User-Agent"); ok && oldMozilla(ua) {
		return
	}
	algos := s.compAlgos()
	if len(algos) > 0 {
		best := 0
		for _, v := range req.Values("Accept-Encoding") {
			for _, elem := range strings.Split(v, ",") {
				elem = strings.Trim(elem, " \t")
				if elem == "" {
					continue
				}
				tok, q := acceptElem(elem)
				if q <= best {
					continue
				}
				for _, a := range algos {
					if elem[0] == '*' || strings.EqualFold(tok, a.uaName) {
						tx.comp, best = a, q
						break
					}
				}
			}
		}
	}
	if tx.comp != nil {
		if s.compOffload() {
			req.Del("Accept-Encoding")
		}
		return
	}
	for _, a := range algos {
		if a.name == "identity" {
			tx.comp = a
			return
		}
	}
}

// oldMozilla reports a "Mozilla/4" user agent HAProxy does not compress
// for: anything but MSIE 6 with SV1 (XP SP2) or MSIE 7 and later.
func oldMozilla(ua string) bool {
	if !strings.HasPrefix(ua, "Mozilla/4") {
		return false
	}
	return len(ua) < 31 || ua[25:30] != "MSIE " || ua[30] < '6' ||
		ua[30] == '6' && (len(ua) < 54 || ua[51:54] != "SV1")
}

// acceptElem splits an Accept-Encoding element into its token and its
// q-value in thousandths (1000 when absent).
func acceptElem(elem string) (string, int) {
	n := 0
	for n < len(elem) && h1IsToken(elem[n]) {
		n++
	}
	tok, rest := elem[:n], elem[n:]
	for {
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" || rest[0] != ';' {
			return tok, 1000
		}
		rest = strings.TrimLeft(rest[1:], " \t")
		if rest == "" {
			return tok, 1000
		}
		if strings.HasPrefix(rest, "q=") {
			return tok, parseQValue(rest[2:])
		}
		if i := strings.IndexByte(rest, ';'); i >= 0 {
			rest = rest[i:]
		} else {
			return tok, 1000
		}
	}
}

// parseQValue is http_parse_qvalue: "1", "1.000", "0.5" ... in
// thousandths; anything else is 0 or what its digits say.
func parseQValue(v string) int {
	if v == "" || v[0] < '0' || v[0] > '1' {
		return 0
	}
	q := int(v[0]-'0') * 1000
	if len(v) < 2 || v[1] != '.' {
		return q
	}
	if q == 1000 {
		return 1000
	}
	mul := 100
	for i := 2; i < len(v) && i < 5 && v[i] >= '0' && v[i] <= '9'; i++ {
		q += int(v[i]-'0') * mul
		mul /= 10
	}
	return q
}

// h1IsToken reports an RFC 7230 tchar.
func h1IsToken(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// compResponse decides whether the response is compressed (see the top
// of the file), on its head as the server sent it: HAProxy decides before
// the http-response rules, and rewrites the head (compRewrite) after the
// http-after-response ones, so that no rule sees the change nor changes
// the decision. It returns the algorithm, nil when the response goes as
// it came.
func (s *Stream) compResponse(tx *HTTPTxn) *compAlgo {
	return s.compDecide(tx, &tx.Res, tx.Status)
}

// compDecide is compResponse for the response head res of status.
func (s *Stream) compDecide(tx *HTTPTxn, res *h1.Message, status int) *compAlgo {
	a := tx.comp
	req := &tx.Req
	if a == nil || !versionAtLeast11(res.Version) || !versionAtLeast11(req.Version) || req.Method == "HEAD" {
		return nil
	}
	if status < 200 || status > 203 {
		return nil
	}
	if res.Framing == h1.FramingClose || res.Framing == h1.FramingNone || res.Framing == h1.FramingTunnel {
		return nil
	}
	if res.Framing == h1.FramingLength && res.ContentLength == 0 {
		return nil // HAProxy compat: "Content-Length: 0" makes the message bodyless
	}
	if tx.filters.data(true) {
		return nil // a Lua data filter owns the body (not done: both)
	}
	if _, ok := res.Get("Content-Encoding"); ok {
		return nil
	}
	for _, v := range res.Values("Cache-Control") {
		for _, w := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(w), "no-transform") {
				return nil
			}
		}
	}
	if etags := res.Values("ETag"); len(etags) > 1 || len(etags) == 1 && !validETag(etags[0]) {
		return nil
	}
	types := s.compTypes()
	if ct, ok := res.Get("Content-Type"); ok {
		if len(ct) >= 9 && strings.EqualFold(ct[:9], "multipart") {
			return nil
		}
		if len(types) > 0 {
			match := false
			for _, t := range types {
				if len(ct) >= len(t) && strings.EqualFold(ct[:len(t)], t) {
					match = true
					break
				}
			}
			if !match {
				return nil
			}
		}
	} else if len(types) > 0 {
		return nil
	}
	return a
}

// compRewrite makes res the head of a response compressed with a.
func compRewrite(res *h1.Message, a *compAlgo) {
	res.Del("Content-Length")
	if res.Framing != h1.FramingChunked {
		res.Add("Transfer-Encoding", "chunked")
		res.Framing = h1.FramingChunked
	}
	for i := range res.Headers {
		if h := &res.Headers[i]; strings.EqualFold(h.Name, "ETag") && strings.HasPrefix(h.Value, `"`) {
			h.Value = "W/" + h.Value
		}
	}
	res.Add("Vary", "Accept-Encoding")
	if a.name != "identity" {
		res.Add("Content-Encoding", a.uaName)
	}
}

// validETag reports an entity-tag HAProxy accepts: "..." or W/"...".
func validETag(v string) bool {
	v = strings.TrimPrefix(v, "W/")
	return len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' && !strings.Contains(v[1:len(v)-1], `"`)
}

// chunkWriter gathers an encoder's output and writes it as HTTP/1.1
// chunks: at each flush, or when a buffer's worth is there.
type chunkWriter struct {
	w    io.Writer
	data []byte // gathered, at most chunkMax bytes
	buf  []byte // scratch for the chunk
	out  int64  // the bytes written, framing aside
}

const chunkMax = 16384

// chunkPool holds chunkWriter buffers.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, 0, chunkMax); return &b }}

func (c *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), chunkMax-len(c.data))
		c.data = append(c.data, p[:k]...)
		p = p[k:]
		if len(c.data) == chunkMax {
			if err := c.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// flush writes what was gathered as one chunk.
func (c *chunkWriter) flush() error {
	if len(c.data) == 0 {
		return nil
	}
	c.buf = h1.AppendChunk(c.buf[:0], c.data)
	c.out += int64(len(c.data))
	c.data = c.data[:0]
	_, err := c.w.Write(c.buf)
	return err
}

// copyCompressed relays the response body from sc to the client through
// an encoder of algorithm a, chunked.
func (hc *HTTPConn) copyCompressed(sc *srvConn, m *h1.Message, a *compAlgo) error {
	w, r := hc.bodyEnds(sc, true)
	data := chunkPool.Get().(*[]byte)
	cw := &chunkWriter{w: w, data: (*data)[:0], buf: hc.buf[:0]}
	defer func() {
		hc.buf = cw.buf[:0]
		*data = cw.data[:0]
		chunkPool.Put(data)
	}()
	var enc compressor
	if a.pool != nil {
		enc = a.get(cw)
		defer a.put(enc)
	}
	var in int64
	defer func() {
		switch {
		case enc == nil:
			// HAProxy compat: identity counts the response, not its bytes
			in, cw.out = 0, 0
		case m.Chunked:
			in++ // HAProxy compat: a chunked message counts one more byte
		}
		hc.s.countComp(in, cw.out)
	}()
	for {
		hc.armBody(sc, true)
		b, err := r.NextBody(bodyChunk)
		in += int64(len(b))
		if len(b) > 0 {
			hc.armBody(sc, true)
			var werr error
			if enc != nil {
				_, werr = enc.Write(b)
			} else {
				_, werr = cw.Write(b)
			}
			if werr != nil {
				return werr
			}
			if r.Buffered() == 0 && !r.BodyDone() {
				if enc != nil {
					if werr := enc.Flush(); werr != nil {
						return werr
					}
				}
				if werr := cw.flush(); werr != nil {
					return werr
				}
				if werr := w.Flush(); werr != nil {
					return werr
				}
			}
		}
		if err == io.EOF {
			if enc != nil {
				if werr := enc.Close(); werr != nil {
					return werr
				}
			}
			if werr := cw.flush(); werr != nil {
				return werr
			}
			cw.buf = h1.AppendLastChunk(cw.buf[:0], m.Trailers)
			_, werr := w.Write(cw.buf)
			return werr
		}
		if err != nil {
			return errors.Join(errClientRead, err)
		}
	}
}

// MayCompress reports whether the current response may be compressed
// (the request chose an algorithm): without, ServiceCompression need not
// be asked.
func (hc *HTTPConn) MayCompress() bool {
	tx := hc.s.HTTP
	return tx != nil && tx.comp != nil
}

// ServiceCompression decides whether the response head res an HTTP
// service (a Lua applet) starts is compressed, as a server's response
// would be; res.Framing says how the service delimits its body. When it
// is, res is rewritten (chunked, no Content-Length) and the returned
// writer takes the body: each Write is compressed and sent at once, and
// Close ends the body (the last chunk included). It returns nil when the
// body goes as it is.
func (hc *HTTPConn) ServiceCompression(res *h1.Message) io.WriteCloser {
	s := hc.s
	tx := s.HTTP
	if tx == nil || tx.comp == nil || tx.filters.data(true) {
		return nil
	}
	a := s.compDecide(tx, res, res.Status)
	if a == nil {
		return nil
	}
	compRewrite(res, a)
	if _, ok := res.Get("Transfer-Encoding"); !ok {
		res.Add("transfer-encoding", "chunked")
	}
	data := chunkPool.Get().(*[]byte)
	w := &serviceEncoder{hc: hc, a: a, data: data, cw: &chunkWriter{w: hc.bw, data: (*data)[:0]}}
	if a.pool != nil {
		w.enc = a.get(w.cw)
	}
	return w
}

// serviceEncoder compresses a service's response body (ServiceCompression).
type serviceEncoder struct {
	hc   *HTTPConn
	a    *compAlgo
	enc  compressor // nil: identity
	cw   *chunkWriter
	data *[]byte // cw's pooled buffer
	in   int64
	done bool
}

func (w *serviceEncoder) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("write after close")
	}
	w.in += int64(len(p))
	if w.enc == nil {
		if _, err := w.cw.Write(p); err != nil {
			return 0, err
		}
		return len(p), w.cw.flush()
	}
	if _, err := w.enc.Write(p); err != nil {
		return 0, err
	}
	if err := w.enc.Flush(); err != nil {
		return 0, err
	}
	return len(p), w.cw.flush()
}

func (w *serviceEncoder) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	var err error
	if w.enc != nil {
		err = w.enc.Close()
		w.a.put(w.enc)
	}
	if err == nil {
		err = w.cw.flush()
	}
	if err == nil {
		_, err = w.hc.bw.Write(h1.AppendLastChunk(nil, nil))
	}
	if w.enc == nil {
		w.in, w.cw.out = 0, 0
	}
	w.hc.s.countComp(w.in, w.cw.out)
	*w.data = w.cw.data[:0]
	chunkPool.Put(w.data)
	return err
}

// parseCompressionFilter is "filter compression": it only marks the proxy
// (the compression itself is built in, see above).
func parseCompressionFilter(px *Proxy, l config.Line) error {
	if len(l.Args) > 2 {
		return l.Errorf("'filter compression' : unknown keyword '%s'.", l.Args[2])
	}
	if px.compFilter {
		return l.Errorf("'filter' : '%s: Proxy supports only one compression filter", px.Name)
	}
	px.compFilter = true
	return nil
}
