package core

import (
	"strings"
	"testing"

	"luaproxy/core/config"
	"luaproxy/netio/h1"
)

func TestCompressionConfig(t *testing.T) {
	e, _ := loadEngine(t, `
defaults
    mode http
    compression algo gzip
    compression type text/plain
    compression offload
frontend fe
    bind 127.0.0.1:0
    compression algo deflate
    default_backend be
backend be
    compression offload
    server s1 127.0.0.1:1
backend be2
    filter compression
    server s1 127.0.0.1:1
`)
	names := func(px *Proxy) string {
		var n []string
		for _, a := range px.comp.algos {
			n = append(n, a.name)
		}
		return strings.Join(n, " ") + "|" + strings.Join(px.comp.types, " ")
	}
	// HAProxy prepends each algorithm to the list it inherited
	if got := names(e.frontends["fe"]); got != "deflate gzip|text/plain" {
		t.Errorf("fe: %q", got)
	}
	if got := names(e.backends["be"]); got != "gzip|text/plain" || !e.backends["be"].comp.offload {
		t.Errorf("be: %q offload %v", got, e.backends["be"].comp.offload)
	}
	if e.frontends["fe"].comp.offload {
		t.Error("fe inherited compression offload (HAProxy 2.6 does not)")
	}
	if !e.backends["be2"].compFilter {
		t.Error("be2: filter compression not recorded")
	}
	for _, c := range []struct{ line, want string }{
		{"compression algo foo", "'algo' : 'foo' is not a supported algorithm."},
		{"compression", "'compression' expects 'algo', 'type' or 'offload'"},
		{"compression type", "'type' expects <type>"},
		{"compression algo", "'compression' expects <algorithm>."},
		{"filter compression foo", "'filter compression' : unknown keyword 'foo'."},
	} {
		pc, err := config.Parse("t.cfg", []byte("listen l\n    mode http\n    "+c.line+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		if err := New(NewLogger(&syncBuf{})).Load(pc); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.line, err, c.want)
		}
	}
}

func TestAcceptEncodingChoice(t *testing.T) {
	gzip, deflate, identity := compAlgos["gzip"], compAlgos["deflate"], compAlgos["identity"]
	for _, c := range []struct {
		algos []*compAlgo
		ae    []string
		ua    string
		want  *compAlgo
	}{
		{[]*compAlgo{gzip}, []string{"gzip"}, "", gzip},
		{[]*compAlgo{gzip}, []string{"GZIP"}, "", gzip},
		{[]*compAlgo{gzip}, []string{"gzip;q=0"}, "", nil},
		{[]*compAlgo{gzip}, nil, "", nil},
		{[]*compAlgo{deflate, gzip}, []string{"*"}, "", deflate},
		{[]*compAlgo{deflate, gzip}, []string{"deflate;q=0.5, gzip;q=0.8"}, "", gzip},
		{[]*compAlgo{deflate, gzip}, []string{"br", "deflate; q=0.9"}, "", deflate},
		{[]*compAlgo{gzip, identity}, []string{"br"}, "", identity},
		{[]*compAlgo{gzip}, []string{"gzip"}, "Mozilla/4.0 (compatible)", nil},
		{[]*compAlgo{gzip}, []string{"gzip"}, "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)", gzip},
	} {
		px := &Proxy{Name: "p", comp: &compConfig{algos: c.algos}}
		s := &Stream{Frontend: px}
		tx := &HTTPTxn{}
		for _, v := range c.ae {
			tx.Req.Add("Accept-Encoding", v)
		}
		if c.ua != "" {
			tx.Req.Add("User-Agent", c.ua)
		}
		s.compSelectRequest(tx)
		if tx.comp != c.want {
			t.Errorf("%q ua %q: got %v, want %v", c.ae, c.ua, tx.comp, c.want)
		}
	}
	for in, want := range map[string]int{"1": 1000, "0": 0, "0.5": 500, "0.001": 1, "1.0": 1000, "x": 0, "0.25": 250} {
		if got := parseQValue(in); got != want {
			t.Errorf("q=%s: %d, want %d", in, got, want)
		}
	}
}

func TestCompResponseHeaders(t *testing.T) {
	px := &Proxy{Name: "p", comp: &compConfig{algos: []*compAlgo{compAlgos["gzip"]}, types: []string{"text/"}}}
	s := &Stream{Frontend: px}
	tx := &HTTPTxn{txnState: txnState{comp: compAlgos["gzip"], Status: 200}}
	tx.Req = h1.Message{Method: "GET", Version: "HTTP/1.1"}
	tx.Res = h1.Message{IsResponse: true, Version: "HTTP/1.1", Status: 200, Framing: h1.FramingLength, ContentLength: 10,
		Headers: []h1.Header{{Name: "Content-Type", Value: "text/html"}, {Name: "Content-Length", Value: "10"}, {Name: "ETag", Value: `"x"`}}}
	a := s.compResponse(tx)
	if a == nil {
		t.Fatal("not compressed")
	}
	compRewrite(&tx.Res, a)
	var got []string
	for _, h := range tx.Res.Headers {
		got = append(got, h.Name+": "+h.Value)
	}
	want := `Content-Type: text/html|ETag: W/"x"|Transfer-Encoding: chunked|Vary: Accept-Encoding|Content-Encoding: gzip`
	if strings.Join(got, "|") != want || tx.Res.Framing != h1.FramingChunked {
		t.Errorf("headers %q, framing %v", strings.Join(got, "|"), tx.Res.Framing)
	}
}
