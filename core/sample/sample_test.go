package sample_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"luaproxy/core/config"
	"luaproxy/core/pattern"
	"luaproxy/core/sample"
	"luaproxy/netio/h1"
)

// testCtx is a request like the differential test's, plus a response.
func testCtx() *sample.Ctx {
	req := &h1.Message{Method: "GET", URI: "/p/a.html" + diffQuery, Version: "HTTP/1.1",
		Headers: append([]h1.Header(nil), diffHeaders...), ContentLength: -1,
		Body: []byte("user=bob&pass=x&user=al"), BodyComplete: true}
	res := &h1.Message{IsResponse: true, Status: 302, Reason: "Found", Version: "HTTP/1.0", ContentLength: 3,
		Headers: []h1.Header{{Name: "Set-Cookie", Value: "sid=abc; Path=/"}, {Name: "Set-Cookie", Value: "lang=fr"},
			{Name: "Location", Value: "/x"}}, Body: []byte("abc"), BodyComplete: true}
	return &sample.Ctx{
		Src: netip.MustParseAddrPort("192.168.1.10:40000"), Dst: netip.MustParseAddrPort("10.0.0.1:80"),
		Req: req, Res: res, Final: true, Now: time.Unix(1700000000, 0),
		ReqPayload: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ResPayload: []byte("\x00\x03abcdef"),
		Sess: &sample.Vars{}, Txn: &sample.Vars{}, ReqRes: &sample.Vars{},
	}
}

func eval(t *testing.T, ctx *sample.Ctx, expr string) (string, bool) {
	t.Helper()
	e, err := sample.ParseExpr(expr, nil)
	if err != nil {
		t.Fatalf("ParseExpr(%q): %v", expr, err)
	}
	return e.EvalString(ctx)
}

// Documented examples of the manual (7.3.1 to 7.3.6) and edge cases.
var exprCases = []struct {
	expr, want string
	absent     bool
}{
	{expr: "bin(01020304050607),be2dec(:,2)", want: "258:772:1286:7"},
	{expr: "bin(01020304050607),be2dec(-,2,1)", want: "258-772-1286"},
	{expr: "bin(01020304050607),be2dec(,2,1)", want: "2587721286"},
	{expr: "bin(7f000001),be2dec(.,1)", want: "127.0.0.1"},
	{expr: "bin(01020304050607),le2dec(:,2)", want: "513:1027:1541:7"},
	{expr: "bin(0102030405060708),le2dec(,4)", want: "67305985134678021"},
	{expr: "bin(0102030405060708),be2hex(:,4)", want: "01020304:05060708"},
	{expr: "str(a=b&c=d&a=r),param(a)", want: "b"},
	{expr: "str(a&b=c),param(a)", want: ""},
	{expr: "str(a=&b&c=a),param(b)", want: ""},
	{expr: "str(a=1;b=2;c=4),param(b,;)", want: "2"},
	{expr: "str(example.com),reverse", want: "moc.elpmaxe"},
	{expr: "str(mail.example.com),reverse_dom", want: "com.example.mail"},
	{expr: "str(example.com.),reverse_dom", want: "com.example"},
	{expr: "str(a..b),reverse_dom", absent: true},
	{expr: "str(WWW.Example.com:8080),host_only", want: "www.example.com"},
	{expr: "str([::1]:80),port_only", want: "80"},
	{expr: "str(host),port_only", want: "0"},
	{expr: "str(a),add_item(',',,'(s1)')", want: "a,(s1)"},
	{expr: "str(),add_item(',',,'(s1)')", want: "(s1)"},
	{expr: "str(ab\r\ncd),cut_crlf", want: "ab"},
	{expr: "str(616263),unhex", want: "abc"},
	{expr: "str(6g),unhex", absent: true},
	{expr: "str(ab),base2", want: "0110000101100010"},
	{expr: "str(a\x01),has_ctl", want: "1"},
	{expr: "int(1500),ms_utime(%Y %S)", want: "1970 01"},
	{expr: "str('{\"integer\":4}'),json_query('$.integer','int'),add(1)", want: "5"},
	{expr: "str('{\"my.key\":\"myvalue\"}'),json_query('$.my\\.key')", want: "myvalue"},
	{expr: "str('{\"boolean-false\":false}'),json_query('$.boolean-false')", want: "0"},
	{expr: "str('{\"a\":[\"x\", \"y\"]}'),json_query('$.a')", want: `["x", "y"]`},
	{expr: "req.hdr(x-jwt),jwt_payload_query('$.name')", want: "John Doe"},
	{expr: "str(hello),when(normal)", want: "hello"},
	{expr: "str(hello),when(!normal)", absent: true},
	{expr: "str(x),debug", want: "x"},
	{expr: "int(42),set-var(txn.n)", want: "42"},
	// fetches
	{expr: "req.hdr(x-a)", want: "a3"},
	{expr: "req.hdr(x-a,1)", want: "a1"},
	{expr: "req.hdr(x-a,-3)", want: "a1"},
	{expr: "req.fhdr(x-a,1)", want: "a1, a2"},
	{expr: "res.hdr(set-cookie,1)", want: "sid=abc; Path=/"},
	{expr: "res.cook(sid)", want: "abc"},
	{expr: "res.cook_cnt", want: "2"},
	{expr: "res.cook_names", want: "sid,lang"},
	{expr: "req.cook_names(;)", want: "c1;c2;c1"},
	{expr: "scook(lang)", want: "fr"},
	{expr: "status", want: "302"},
	{expr: "res.ver", want: "1.0"},
	{expr: "res.body", want: "abc"},
	{expr: "res.body_size", want: "3"},
	{expr: "req.body_param(user)", want: "bob"},
	{expr: "req.body_param(USER,i)", want: "bob"},
	{expr: "urlp(Q)", want: "up"},
	{expr: "urlp(Q,&,i)", want: "1"},
	{expr: "path", want: "/p/a.html"},
	{expr: "base32+src,length", want: "8"},
	{expr: "http_auth_bearer", absent: true},
	{expr: "http_auth_user", want: "user"},
	{expr: "src", want: "192.168.1.10"},
	{expr: "src_port", want: "40000"},
	{expr: "dst_port", want: "80"},
	{expr: "bc_src", absent: true},
	{expr: "req.len", want: "27"},
	{expr: "req.payload(0,3)", want: "GET"},
	{expr: "req.payload(30,3)", absent: true},
	{expr: "res.payload_lv(0,2)", want: "abc"},
	{expr: "res.payload_lv(0,2,+1)", want: "bcd"},
	{expr: "req.proto_http", want: "1"},
	{expr: "date", want: "1700000000"},
	{expr: "date(10)", want: "1700000010"},
	{expr: "date(1,ms)", want: "1700000001000"},
	{expr: "rand(1)", want: "0"},
	{expr: "uuid,length", want: "36"},
	{expr: "uuid(7),bytes(14,1)", want: "7"},
	{expr: "env(LUAPROXY_SAMPLE_TEST)", want: "yes"},
	{expr: "var(txn.none)", absent: true},
	{expr: "var(txn.none,d)", want: "d"},
	{expr: "wait_end", want: "1"},
	{expr: "stopping", want: "0"},
}

func TestExpressions(t *testing.T) {
	config.LookupEnv = func(k string) (string, bool) {
		if k == "LUAPROXY_SAMPLE_TEST" {
			return "yes", true
		}
		return os.LookupEnv(k)
	}
	defer func() { config.LookupEnv = os.LookupEnv }()
	for _, c := range exprCases {
		t.Run(c.expr, func(t *testing.T) {
			got, ok := eval(t, testCtx(), c.expr)
			if c.absent {
				if ok {
					t.Fatalf("got %q, want no sample", got)
				}
				return
			}
			if !ok || got != c.want {
				t.Fatalf("got %q (ok %v), want %q", got, ok, c.want)
			}
		})
	}
}

func TestTLSClientHello(t *testing.T) {
	// A ClientHello with SNI "example.org" and ALPN "h2".
	sni := "example.org"
	ext := []byte{0, 0, 0, byte(len(sni) + 5), 0, byte(len(sni) + 3), 0, 0, byte(len(sni))}
	ext = append(ext, sni...)
	ext = append(ext, 0, 16, 0, 5, 0, 3, 2, 'h', '2')
	body := []byte{3, 3}
	body = append(body, make([]byte, 32)...)
	body = append(body, 0, 0, 2, 0x13, 0x01, 1, 0, byte(len(ext)>>8), byte(len(ext)))
	body = append(body, ext...)
	hs := append([]byte{1, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	rec := append([]byte{0x16, 3, 1, byte(len(hs) >> 8), byte(len(hs))}, hs...)
	ctx := &sample.Ctx{ReqPayload: rec}
	for expr, want := range map[string]string{"req.ssl_sni": sni, "req.ssl_alpn": "h2", "req.ssl_hello_type": "1",
		"req.ssl_ver": "196609", "req_ssl_sni": sni} {
		if got, ok := eval(t, ctx, expr); !ok || got != want {
			t.Errorf("%s = %q, %v; want %q", expr, got, ok, want)
		}
	}
	// Incomplete: may change until the input ends.
	ctx = &sample.Ctx{ReqPayload: rec[:10]}
	e, _ := sample.ParseExpr("req.ssl_sni", nil)
	if s, ok := e.Eval(ctx); ok || s.Flags&sample.MayChange == 0 {
		t.Errorf("partial hello: ok %v flags %v, want absent and MayChange", ok, s.Flags)
	}
}

// Configuration errors, in HAProxy 2.6's words (checked with haproxy -c).
var parseErrors = []struct{ expr, err string }{
	{"foo", "unknown fetch method 'foo'"},
	{"hdr(a),foo", "unknown converter 'foo'"},
	{"str(a),upper,", "unknown converter ''"},
	{"req.hdr(a", "fetch method 'req.hdr' : expected ')'"},
	{"hdr(a,b)", "fetch method 'hdr' : failed to parse 'b' as type 'integer' at position 2"},
	{"int", "fetch method 'int' : expected type 'integer' at position 1, but got nothing"},
	{"int( 3)", "fetch method 'int' : failed to parse ' 3' as type 'integer' at position 1"},
	{"str(a),field(1)", "invalid arg 2 in converter 'field' : missing arguments (got 1/2), type 'string' expected"},
	{"str(a),field", "invalid arg 1 in converter 'field' : expected type 'integer' at position 1, but got nothing"},
	{"str(a),lower(1)", "invalid arg 1 in converter 'lower' : expected ')' before '1)'"},
	{"str(a),bytes(1,2,3)", "invalid arg 2 in converter 'bytes' : expected ')' before ',3)'"},
	{"str(a),concat(a,txn.a,b,c)", "invalid arg 3 in converter 'concat' : expected ')' before ',c)'"},
	{"str(a),add(,)", "invalid arg 2 in converter 'add' : expected ')' before ',)'"},
	{"str(a),set-var(txn.x,", "invalid arg 2 in converter 'set-var' : expected ')'"},
	{"str(a),add(x)", "invalid args in converter 'add' : expects an integer or a variable name"},
	{"bool(1),ipmask(24)", "converter 'ipmask' cannot be applied"},
	{"meth(GET),add(1)", "converter 'add' cannot be applied"},
	{"var(foo)", "invalid args in fetch method 'var' : invalid variable name 'foo'. A variable name must be start by its scope. The scope can be 'proc', 'sess', 'txn', 'req', 'res' or 'check'"},
	{"var(txn.a-b)", "invalid args in fetch method 'var' : invalid syntax at char '-b'"},
	{"var", "invalid args in fetch method 'var' : Empty variable name cannot be accepted"},
	{"bin(zz)", "invalid args in fetch method 'bin' : an hex digit is expected (found 'z')"},
	{"bool", "invalid args in fetch method 'bool' : Expects 'true', 'false', '0' or '1'"},
	{"date(1,x)", "invalid args in fetch method 'date' : expects 's', 'ms' or 'us', got 'x'"},
	{"str(a),json(foo)", "invalid args in converter 'json' : Unexpected input code type. Allowed value are 'ascii', 'utf8', 'utf8s', 'utf8p' and 'utf8ps'"},
	{"str(a),map_str(/nonexistent)", "invalid args in converter 'map_str' : failed to open pattern file </nonexistent>"},
	{"str(a),set-var(txn.x,ifbad)", "invalid args in converter 'set-var' : unknown condition \"ifbad\""},
	{"str(a\"b)", "fetch method 'str' : expected ')'"},
}

func TestParseErrors(t *testing.T) {
	for _, c := range parseErrors {
		t.Run(c.expr, func(t *testing.T) {
			_, err := sample.ParseExpr(c.expr, nil)
			if err == nil || err.Error() != c.err {
				t.Fatalf("got %v\nwant %s", err, c.err)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	ctx := testCtx()
	f, err := sample.ParseFormat("a%%b %[req.hdr(x-num),add(1)] %[var(txn.none)] %[bin(0141)]%{+Q}[str(x)]")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(f.Render(ctx, nil)); got != "a%b 43  %01Ax" {
		t.Errorf("Render = %q", got)
	}
	if got := string(f.RenderMode(ctx, nil, sample.ModeLog)); got != "a%b 43 - \x01A\"x\"" {
		t.Errorf("RenderMode(log) = %q", got)
	}
	for in, want := range map[string]string{
		"%[str(a)":         "missing ']' after 'str(a)'",
		"%[str(a)x]":       "expected ']' after 'str(a)', but found 'x'",
		"x%[foo]":          "failed to parse sample expression <foo]> : unknown fetch method 'foo'",
		"%[str(a),lower(]": "failed to parse sample expression <str(a),lower(]> : invalid arg 1 in converter 'lower' : expected ')' before ']'",
		"%zz":              "no such format variable 'zz'. If you wanted to emit the '%' character verbatim, you need to use '%%'",
	} {
		if _, err := sample.ParseFormat(in); err == nil || err.Error() != want {
			t.Errorf("ParseFormat(%q) = %v, want %s", in, err, want)
		}
	}
	f, _ = sample.ParseFormat("%ci:%cp %[res.hdr(x)]")
	if err := f.Check(sample.FEHRQHdr); err == nil || err.Error() != "sample fetch <res.hdr(x)]> may not be reliably used here because it needs 'HTTP response headers' which is not available here" {
		t.Errorf("Check = %v", err)
	}
	sample.RegisterLogVar("ci", func(ctx *sample.Ctx, dst []byte, _ sample.FormatOpts) ([]byte, bool) {
		return ctx.Src.Addr().AppendTo(dst), true
	})
	// The engine (linked by the manifest test) registers %cp; here it is
	// an absent value, whatever the engine's version does.
	sample.RegisterLogVar("cp", func(_ *sample.Ctx, dst []byte, _ sample.FormatOpts) ([]byte, bool) { return dst, false })
	if got := f.RenderString(ctx); got != "192.168.1.10: " {
		t.Errorf("log vars = %q", got)
	}
}

func TestExprCheck(t *testing.T) {
	e, _ := sample.ParseExpr("res.hdr(a)", nil)
	want := "fetch method 'res.hdr' extracts information from 'HTTP response headers', none of which is available here"
	if err := e.Check(sample.FEHRQHdr); err == nil || err.Error() != want {
		t.Errorf("got %v", err)
	}
	if err := e.Check(sample.FEHRSHdr | sample.BEHRSHdr); err != nil {
		t.Error(err)
	}
	e, _ = sample.ParseExpr("req.len", nil)
	if err := e.Check(sample.FEConAcc); err == nil || !strings.Contains(err.Error(), "'request buffer'") {
		t.Errorf("got %v", err)
	}
}

func TestVars(t *testing.T) {
	ctx := testCtx()
	v, _ := sample.ParseVarName("txn.x")
	if !ctx.SetVar(v, sample.Int(5), sample.VarIfNotExists) || ctx.SetVar(v, sample.Int(6), sample.VarIfNotExists) {
		t.Fatal("ifnotexists")
	}
	if ctx.SetVar(v, sample.Int(9), sample.VarIfGt) {
		t.Fatal("ifgt: 5 > 9 must not set")
	}
	if !ctx.SetVar(v, sample.Int(3), sample.VarIfGt) {
		t.Fatal("ifgt: 5 > 3 must set")
	}
	if ctx.SetVar(v, sample.Str("a"), sample.VarIfEmpty) || !ctx.SetVar(v, sample.Str(""), sample.VarIfEmpty) {
		t.Fatal("ifempty")
	}
	ctx.UnsetVar(v)
	if _, ok := ctx.GetVar(v); ok {
		t.Fatal("unset")
	}
	p, _ := sample.ParseVarName("proc.declared")
	if !ctx.SetVar(p, sample.Int(1), sample.VarIfExists) {
		t.Fatal("proc variables exist once parsed")
	}
	if ctx.SetVar(p, sample.Int(2), sample.VarIfNotSet) {
		t.Fatal("ifnotset on a set variable")
	}
	ctx.UnsetVar(p)
	if !ctx.SetVar(p, sample.Int(3), sample.VarIfNotSet|sample.VarIfExists) {
		t.Fatal("unset proc variable still exists")
	}
	// req and res share one store, as in HAProxy 2.6
	r, _ := sample.ParseVarName("req.a")
	s, _ := sample.ParseVarName("res.a")
	ctx.SetVar(r, sample.Str("x"), 0)
	if got, _ := ctx.GetVar(s); got.Str != "x" {
		t.Fatal("req/res share a store")
	}
}

func TestCasts(t *testing.T) {
	for _, c := range []struct {
		in   sample.Sample
		to   sample.Type
		want string
		ok   bool
	}{
		{sample.Str("12abc"), sample.TypeSInt, "12", true},
		{sample.Str(""), sample.TypeSInt, "", false},
		{sample.Str("1.2.3.4"), sample.TypeIPv4, "1.2.3.4", true},
		{sample.Str("::ffff:1.2.3.4"), sample.TypeIPv4, "", false},
		{sample.Str("1.2.3"), sample.TypeIPv4, "", false},
		{sample.Int(16909060), sample.TypeIPv4, "1.2.3.4", true},
		{sample.Int(1), sample.TypeIPv6, "::ffff:0.0.0.1", true},
		{sample.Addr(netip.MustParseAddr("::ffff:10.0.0.1")), sample.TypeIPv4, "10.0.0.1", true},
		{sample.Addr(netip.MustParseAddr("2002:a00:1::")), sample.TypeIPv4, "10.0.0.1", true},
		{sample.Addr(netip.MustParseAddr("2001::1")), sample.TypeIPv4, "", false},
		{sample.Bin("a\x00b"), sample.TypeStr, "a", true},
		{sample.Bool(true), sample.TypeStr, "1", true},
		{sample.Meth("GET"), sample.TypeStr, "GET", true},
		{sample.Int(1), sample.TypeMeth, "", false},
	} {
		s := c.in
		ok := sample.Convert(&s, c.to)
		if ok != c.ok || ok && s.String() != c.want {
			t.Errorf("Convert(%v %q, %v) = %q, %v; want %q, %v", c.in.Type, c.in.String(), c.to, s.String(), ok, c.want, c.ok)
		}
	}
}

func TestMapConverters(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	hosts := write("hosts.map", "# comment\nwww.example.com  be_www\napi.example.com be_api\n\n")
	beg := write("beg.map", "/api be_api\n/api/v2 be_v2\n/ be_root\n")
	ips := write("ip.map", "10.0.0.0/8 10\n10.1.0.0/16 16\n192.168.1.10 32\n")
	reg := write("reg.map", `^/u/([a-z]+)$ user-\1`+"\n")
	ctx := testCtx()
	for expr, want := range map[string]string{
		"req.hdr(host),map(" + hosts + ")":                      "be_www",
		"str(nope),map_str(" + hosts + ",dflt)":                 "dflt",
		"str(/api/v2/x),map_beg(" + beg + ")":                   "be_v2",
		"str(/apix),map_beg(" + beg + ")":                       "be_api",
		"str(/other),map_beg(" + beg + ")":                      "be_root",
		"src,map_ip(" + ips + ")":                               "32",
		"str(10.1.2.3),map_ip_int(" + ips + ")":                 "16",
		"str(10.9.2.3),map_ip_int(" + ips + ",0),add(1)":        "11",
		"str(/u/bob),map_regm(" + reg + ")":                     "user-bob",
		"str(/u/Bob),map_reg(" + reg + ",none)":                 "none",
		"str(x.api.example.com:8080),map_dom(" + hosts + ",no)": "be_api",
	} {
		if got, ok := eval(t, ctx, expr); !ok || got != want {
			t.Errorf("%s = %q, %v; want %q", expr, got, ok, want)
		}
	}
	// The runtime API and Lua modify the same reference.
	ref, ok := pattern.Lookup(hosts)
	if !ok {
		t.Fatal("map not registered by file name")
	}
	ref.Add("new.example.com", "be_new")
	if got, _ := eval(t, ctx, "str(new.example.com),map("+hosts+")"); got != "be_new" {
		t.Errorf("after Add: %q", got)
	}
	ref.Set("new.example.com", "be_set")
	if got, _ := eval(t, ctx, "str(new.example.com),map("+hosts+")"); got != "be_set" {
		t.Errorf("after Set: %q", got)
	}
	ref.Del("new.example.com")
	if _, ok := eval(t, ctx, "str(new.example.com),map("+hosts+")"); ok {
		t.Error("after Del: still found")
	}
	if _, err := sample.ParseExpr("str(x),map_str_int("+hosts+")", nil); err == nil {
		t.Error("non-integer values must be refused for map_str_int")
	}
}
