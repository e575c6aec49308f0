package sample_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"luaproxy/core/config"
	"luaproxy/core/sample"
	"luaproxy/netio/h1"
)

const haproxyBin = "/usr/sbin/haproxy"

// diffHeaders is the fixed request every differential expression sees.
var diffHeaders = []h1.Header{
	{Name: "Host", Value: "www.example.com"},
	{Name: "User-Agent", Value: "diff/1.0"},
	{Name: "X-A", Value: "a1, a2"},
	{Name: "X-A", Value: "a3"},
	{Name: "Cookie", Value: "c1=v1; c2=v2"},
	{Name: "Cookie", Value: "c1=v3"},
	{Name: "X-Num", Value: "42"},
	{Name: "X-Ip", Value: "10.1.2.3"},
	{Name: "X-Json", Value: `{"a":{"b":[1,"two",{"c":3.5}]},"t":true,"f":false,"s":"x\"y","my.key":7}`},
	{Name: "Accept-Language", Value: "en-US;q=0.5, fr;q=0.8, de"},
	{Name: "Authorization", Value: "Basic dXNlcjpwYXNz"},
	{Name: "X-Jwt", Value: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"},
}

const diffQuery = "?q=1&r=two&q=3&Q=up&e=a%20b+c"

// diffExprs are evaluated by haproxy 2.6 and by this package; the output
// must be identical for every expression haproxy accepts.
var diffExprs = []string{
	// constants and casts
	"str(abc)", "int(-42)", "bool(1)", "bool(false)", "bin(616263)", "bin(00410042)", "ipv4(10.1.2.3)", "ipv6(2001:db8::1)",
	"ipv6(::1.2.3.4)", "meth(GET)", "meth(FOO)", "str(x),length", "int(7),ipmask(24)", "str(10.0.0.1),ipmask(8)",
	"str(12abc),add(1)", "str(-5),add(0)", "str(),add(1)", "int(300),hex", "int(-1),hex", "str(abc),hex",
	// arithmetic
	"int(12),add(30)", "int(5),sub(8)", "int(6),mul(7)", "int(7),div(2)", "int(-7),div(2)", "int(7),div(0)",
	"int(-7),mod(3)", "int(7),mod(0)", "int(5),neg", "int(9223372036854775807),add(1)", "int(-9223372036854775807),sub(5)",
	"int(4611686018427387904),mul(4)", "int(12),and(10)", "int(12),or(3)", "int(12),xor(5)", "int(5),cpl",
	"int(3),odd", "int(3),even", "int(0),not", "int(7),bool", "hdr_val(x-num),add(txn.nothere)",
	// strings
	"str(AbC),lower", "str(AbC),upper", "str(hello),bytes(1,3)", "str(hello),bytes(2)", "str(hello),bytes(9)",
	"str(a|b|c|d),field(2,|)", "str(a|b|c|d),field(-1,|)", "str(a|b|c|d),field(2,|,2)", "str(a|b|c|d),field(-2,|,2)",
	"str(a|b|c|d),field(2,|,0)", "str(a||b),field(2,|)", "str(a|b),field(5,|)",
	"str(/a//b/c),word(2,/)", "str(/a//b/c),word(-1,/)", "str(/a//b/c),word(1,/,2)", "str(/a//b/c),word(1,/,0)",
	"str(xxabcxx),ltrim(x)", "str(xxabcxx),rtrim(x)", "str(abc),concat(<,,>)", "str(ab),concat(x,,y)",
	"str(/////a///b/c/),regsub('/+','/','g')", "str(aXbxc),regsub(x,_,gi)", "str(abc),regsub('(b)',<\\1>)",
	"str(foo12),regsub('(foo|bar)([0-9]+)?','\\2\\1',i)", "str(abc),regsub('x*','-','g')", "str(aaa),regsub('^a','b','g')",
	"req.fhdr(accept-language),language(es;fr;en)", "str(de),language(fr;en,en)", "str(it),language(fr;en)",
	"str(abc),json", "bin(22415c0a01e92f),json", "str(é),json(utf8)", "str(é),json(ascii)",
	"str(a),cut_crlf", "str(abc),iif(y,n)", "int(0),iif(y,n)",
	"str(a b&c=d/é~),url_enc", "str(a%20b+c),url_dec", "str(a%20b+c),url_dec(1)", "str(%zz),url_dec", "str(a?b+c),url_dec",
	// encodings
	"str(abc),base64", "str(YWJj),b64dec", "str(YWJ),b64dec", "str(abc?>),ub64enc", "str(YWJjPz4),ub64dec",
	"str(ff),hex2i", "str(0a0b),hex2i", "str(zz),hex2i", "bin(01020304050607),be2dec(:,2)", "bin(01020304050607),be2dec(-,2,1)",
	"bin(01020304050607),be2dec(,2,1)", "bin(7f000001),be2dec(.,1)", "str(abcdefg),be2hex", "str(abcdefg),be2hex(:,2)",
	"str(abcdefg),be2hex(:,2,1)", "int(1),htonl,hex",
	// hashes
	"str(abc),sdbm", "str(abc),sdbm(1)", "str(abc),djb2", "str(abc),djb2(1)", "str(abc),wt6", "str(abc),wt6(1)",
	"str(abc),crc32", "str(abc),crc32(1)", "str(abc),crc32c", "str(abc),crc32c(1)", "str(abc),xxh32", "str(abc),xxh32(1)",
	"str(abc),xxh64", "str(abc),xxh64(1)", "str(abc),xxh3", "str(abc),xxh3(1)",
	"str(0123456789abcdefghijklmnopqrstuvwxyz),xxh64(5)", "str(0123456789abcdefghijklmnopqrstuvwxyz),xxh32(5)",
	"str(0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz),xxh3(7)",
	"str(abc),sha1,hex", "str(abc),sha2,hex", "str(abc),sha2(224),hex", "str(abc),sha2(512),hex",
	"str(abc),digest(md5),hex", "str(abc),digest(sha256),hex", "str(abc),hmac(sha256,a2V5),hex",
	// json
	"req.hdr(x-json),json_query('$.a.b[1]')", "req.hdr(x-json),json_query('$.a.b[0]','int'),add(1)",
	"req.hdr(x-json),json_query('$.a.b[2].c')", "req.hdr(x-json),json_query('$.t')", "req.hdr(x-json),json_query('$.f')",
	"req.hdr(x-json),json_query('$.s')", "req.hdr(x-json),json_query('$.a.b')", "req.hdr(x-json),json_query('$.my\\\\.key')",
	"req.hdr(x-jwt),jwt_header_query('$.alg')", "req.hdr(x-jwt),jwt_payload_query('$.iat','int')", "req.hdr(x-jwt),jwt_header_query",
	// dates
	"int(0),utime(%Y-%m-%d %H:%M:%S)", "int(86400),utime(%d/%b/%Y:%T %z,3600)", "int(1700000000),utime(%a %A %b %B %j %u %w %y %e)",
	"int(0),http_date", "int(10),http_date(5)", "int(1500),http_date(0,ms)", "int(1),http_date(0,ms)",
	// variables
	"str(v),set-var(txn.a),concat(-,txn.a,-)", "var(txn.nothere,dflt)", "var(txn.nothere)",
	"str(abc),set-var(txn.b),strcmp(txn.b)", "str(abd),set-var(txn.b),bytes(0,0),strcmp(txn.nothere)",
	"str(abc),set-var(txn.c),secure_memcmp(txn.c)",
	// HTTP fetches
	"req.hdr(x-a)", "req.hdr(x-a,1)", "req.hdr(x-a,2)", "req.hdr(x-a,-2)", "req.hdr(x-a,9)", "hdr(X-A)", "req.fhdr(x-a)",
	"req.fhdr(x-a,1)", "req.hdr_cnt(x-a)", "req.fhdr_cnt(x-a)", "hdr_cnt", "req.hdr_ip(x-ip)", "req.hdr_val(x-num)",
	"req.hdr(nothere)", "req.hdr_names", "req.hdr_names(:)", "req.hdrs,length", "req.hdrs_bin,length",
	"req.cook(c1)", "req.cook(c2)", "req.cook", "req.cook_cnt(c1)", "req.cook_cnt", "req.cook_val(c1)", "cook(c2)",
	"method", "method,lower", "path", "pathq", "query", "url", "base", "baseq", "base32", "url32",
	"urlp(q)", "urlp(r)", "url_param(e)", "urlp_val(q)", "urlp(nothere)", "req.ver", "req_ver",
	"capture.req.method", "capture.req.uri", "capture.req.ver", "http_auth_type", "http_auth_user", "http_auth_pass",
	"req.body_len", "req.body", "url_ip", "url_port",
	// layer 4
	"src", "dst", "dst_port", "src_is_local", "dst_is_local", "src,ipmask(16)", "src,hex", "src_port,sub(1),add(1)",
	"fc_src", "fc_dst_port",
	// maps (files written by diffMaps; "@" is their directory)
	"req.hdr(host),map(@/hosts.map)", "str(nope),map_str(@/hosts.map,dflt)", "str(/api/v2/x),map_beg(@/beg.map)",
	"str(/apix),map_beg(@/beg.map)", "str(/other),map_beg(@/beg.map)", "str(10.1.2.3),map_ip(@/ip.map)",
	"str(10.9.2.3),map_ip_int(@/ip.map),add(1)", "src,map_ip(@/ip.map,none)", "str(/u/bob),map_regm(@/reg.map)",
	"str(/u/Bob),map_reg(@/reg.map,none)", "str(x.api.example.com:8080),map_dom(@/hosts.map,no)",
	"str(a.jpg),map_end(@/end.map)", "str(xxsubxx),map_sub(@/end.map)", "str(/a/img/b),map_dir(@/end.map)",
	"int(15),map_int(@/int.map)", "int(150),map_int_int(@/int.map,0)",
	// internal
	"always_true", "always_false", "env(HOME),length,bool",
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// diffMaps writes the map files the differential expressions use.
func diffMaps(dir string) {
	for name, text := range map[string]string{
		"hosts.map": "# comment\nwww.example.com  be_www\napi.example.com be_api\n\n",
		"beg.map":   "/api be_api\n/api/v2 be_v2\n/ be_root\n",
		"ip.map":    "10.0.0.0/8 10\n10.1.0.0/16 16\n127.0.0.1 127\n",
		"reg.map":   "^/u/([a-z]+)$ user-\\1\n",
		"end.map":   ".jpg image\nsub substr\nimg dir\n",
		"int.map":   "10:20 15\n100: 3\n",
	} {
		os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644)
	}
}

var diffDir string

func diffConfig(port int, exprs []string, skip map[int]bool) string {
	dir := diffDir
	var b strings.Builder
	fmt.Fprintf(&b, "global\n  setenv HOME /root\ndefaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 5s\nfrontend fe\n  bind 127.0.0.1:%d\n", port)
	for i, e := range exprs {
		if skip[i] {
			b.WriteString("  # rejected\n")
			continue
		}
		// the configuration's double quotes expand "$NAME": escape '$'
		fmt.Fprintf(&b, "  http-request return status 200 content-type text/plain lf-string \"%%[%s]\" if { path /e%d }\n",
			strings.ReplaceAll(strings.ReplaceAll(e, "@", dir), "$", `\$`), i)
	}
	return b.String()
}

// diffLine maps a config line back to the expression index.
const diffFirstLine = 10

var cfgLineRE = regexp.MustCompile(`\[[^:\]]+:(\d+)\]`)

func TestDifferentialHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("haproxy 2.6 not installed")
	}
	if testing.Short() {
		t.Skip("starts haproxy")
	}
	dir := t.TempDir()
	diffMaps(dir)
	diffDir = dir
	cfg := filepath.Join(dir, "h.cfg")
	port := freePort(t)
	skip := map[int]string{}
	skipped := map[int]bool{}
	for try := 0; try < len(diffExprs); try++ {
		os.WriteFile(cfg, []byte(diffConfig(port, diffExprs, skipped)), 0o644)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := exec.CommandContext(ctx, haproxyBin, "-c", "-f", cfg).CombinedOutput()
		cancel()
		if err == nil {
			break
		}
		m := cfgLineRE.FindSubmatch(out)
		if m == nil {
			t.Fatalf("haproxy -c: %s", out)
		}
		n, _ := strconv.Atoi(string(m[1]))
		i := n - diffFirstLine
		if i < 0 || i >= len(diffExprs) {
			t.Fatalf("haproxy -c: %s", out)
		}
		skipped[i] = true
		skip[i] = strings.TrimSpace(string(out))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, haproxyBin, "-db", "-f", cfg)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("haproxy did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	same, differ := 0, 0
	for i, e := range diffExprs {
		if skipped[i] {
			// Expressions haproxy 2.6 rejects must still parse here when
			// they are 3.x additions; they are only reported.
			_, ourErr := sample.ParseFormat("%[" + e + "]")
			t.Logf("haproxy 2.6 rejects %q (ours: %v)", e, ourErr)
			continue
		}
		got, want, err := diffOne(addr, i, e)
		if err != nil {
			t.Errorf("%s: %v", e, err)
			continue
		}
		if got != want {
			differ++
			t.Errorf("%s:\n  luaproxy %q\n  haproxy  %q", e, got, want)
			continue
		}
		same++
	}
	t.Logf("differential: %d identical, %d different, %d rejected by haproxy 2.6", same, differ, len(skipped))
}

// diffOne asks haproxy for expression i and renders it locally on the
// same request.
func diffOne(addr string, i int, e string) (got, want string, err error) {
	uri := "/e" + strconv.Itoa(i) + diffQuery
	var req strings.Builder
	req.WriteString("GET " + uri + " HTTP/1.1\r\n")
	for _, h := range diffHeaders {
		req.WriteString(h.Name + ": " + h.Value + "\r\n")
	}
	req.WriteString("\r\n")
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req.String()); err != nil {
		return "", "", err
	}
	br := bufio.NewReader(c)
	status, err := br.ReadString('\n')
	if err != nil {
		return "", "", err
	}
	if !strings.Contains(status, " 200 ") {
		return "", "", fmt.Errorf("status %q", status)
	}
	clen := -1
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return "", "", err
		}
		l = strings.TrimRight(l, "\r\n")
		if l == "" {
			break
		}
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, "content-length") {
			clen, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	body := make([]byte, max(clen, 0))
	if _, err := io.ReadFull(br, body); err != nil {
		return "", "", err
	}
	f, err := sample.ParseFormat("%[" + strings.ReplaceAll(e, "@", diffDir) + "]")
	if err != nil {
		return "", "", fmt.Errorf("ours rejects it: %v", err)
	}
	local := netip.MustParseAddrPort(c.LocalAddr().String())
	remote := netip.MustParseAddrPort(c.RemoteAddr().String())
	m := &h1.Message{Method: "GET", URI: uri, Version: "HTTP/1.1", Headers: append([]h1.Header(nil), diffHeaders...),
		ContentLength: -1, BodyComplete: true}
	ctx := &sample.Ctx{Src: local, Dst: remote, Req: m, ReqPayload: []byte(req.String()), Final: true,
		Sess: &sample.Vars{}, Txn: &sample.Vars{}, ReqRes: &sample.Vars{}}
	return string(f.Render(ctx, nil)), string(body), nil
}

// diffACLs and diffConds check ACL matching the same way: haproxy answers
// Y when the condition holds for the fixed request.
var diffACLs = []string{
	"acl api path_beg /api /c",
	"acl api path_end .html",
	"acl xa hdr(x-a) a2",
	"acl xa_last hdr(x-a,-1) a2",
	"acl num req.hdr_val(x-num) gt 40",
	"acl rng req.hdr_val(x-num) 1:10 40:50",
	"acl lo src 127.0.0.0/8",
	"acl host_i hdr(host) -i WWW.EXAMPLE.COM",
	"acl host_dom hdr_dom(host) example",
	"acl cook req.cook(c2) -m found",
	"acl c1v3 cook(c1) v3",
	"acl c1v1 cook(c1) v1",
	"acl reg path_reg ^/c[0-9]+$",
	"acl sub url_sub two",
	"acl dir path_dir c1",
	"acl len path_len 3",
	"acl ip hdr_ip(x-ip) 10.0.0.0/8",
	"acl meth method POST PUT",
	"acl getm method GET",
	"acl urlq urlp(q) 3",
	"acl urlq1 urlp(q) 1",
	"acl ver req.ver 1.1",
	"acl xnum hdr(x-num) -m int ge 42",
	"acl beg_i hdr_beg(host) -i WWW.",
	"acl endm hdr(host) -m end .com",
	"acl blen hdr(host) -m len 15",
	"acl sub_i hdr(user-agent) -m sub -i DIFF",
	"acl xaip hdr(x-a) -m ip 10.0.0.1",
	"acl bool req.hdr_cnt(x-a),bool -m bool",
	"acl found req.hdr(nothere) -m found",
	"acl dash path -- -x",
}

var diffConds = []string{
	"api", "!api", "xa", "xa_last", "num rng", "lo !num", "!lo or num", "host_i host_dom", "cook c1v3", "c1v1",
	"reg sub", "dir", "len", "ip", "meth", "getm METH_GET", "urlq", "urlq1", "ver HTTP_1.1", "xnum beg_i endm blen",
	"sub_i", "xaip", "bool", "found", "!found", "dash", "TRUE", "FALSE || LOCALHOST", "HTTP_URL_SLASH !HTTP_URL_ABS",
	"HTTP_CONTENT", "{ path_beg /c } { src -m ip 127.0.0.1 }", "{ req.hdr(x-num) -m int 42 }",
	"{ req.hdr(nothere) -m found } or { always_true }", "{ hdr_cnt(x-a) eq 3 }", "{ hdr_cnt(x-a) lt 3 }",
	"{ url_param(r) -m str two }", "{ req.cook_cnt(c1) 2 }", "{ req.hdr(x-a) -m reg ^a[0-9]$ }",
}

func TestDifferentialConditions(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("haproxy 2.6 not installed")
	}
	if testing.Short() {
		t.Skip("starts haproxy")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.cfg")
	port := freePort(t)
	var b strings.Builder
	fmt.Fprintf(&b, "defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 5s\nfrontend fe\n  bind 127.0.0.1:%d\n", port)
	for _, a := range diffACLs {
		b.WriteString("  " + a + "\n")
	}
	// "or" binds looser than the implicit "and", so each condition stands
	// alone in a set-var rule; the answer is returned afterwards.
	for i, c := range diffConds {
		fmt.Fprintf(&b, "  http-request set-var(txn.c%d) str(Y) if %s\n", i, c)
	}
	for i := range diffConds {
		fmt.Fprintf(&b, "  http-request return status 200 content-type text/plain lf-string \"%%[var(txn.c%d,N)]\" if { path /c%d }\n", i, i)
	}
	os.WriteFile(cfg, []byte(b.String()), 0o644)
	if p := os.Getenv("DIFF_DUMP"); p != "" {
		os.WriteFile(p, []byte(b.String()), 0o644)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, haproxyBin, "-c", "-f", cfg).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %s", out)
	}
	cmd := exec.CommandContext(ctx, haproxyBin, "-db", "-f", cfg)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("haproxy did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	set := sample.NewACLSet(nil)
	for i, a := range diffACLs {
		if err := set.Add(config.Line{File: "c.cfg", Num: i + 8, Args: strings.Fields(a)}); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
	}
	same := 0
	for i, c := range diffConds {
		uri := "/c" + strconv.Itoa(i)
		body, ctx, err := diffRequest(addr, uri)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		cond, _, err := sample.ParseCond(append([]string{"if"}, strings.Fields(c)...), set, config.Line{})
		if err != nil {
			t.Errorf("%s: %v", c, err)
			continue
		}
		m, _ := cond.Eval(ctx)
		got := "N"
		if m {
			got = "Y"
		}
		if got != body {
			t.Errorf("if %s: luaproxy %s, haproxy %s", c, got, body)
			continue
		}
		same++
	}
	t.Logf("conditions: %d of %d identical", same, len(diffConds))
}

// diffRequest sends the fixed request for uri and returns haproxy's body
// and the local Ctx for the same request.
func diffRequest(addr, uri string) (string, *sample.Ctx, error) {
	var req strings.Builder
	req.WriteString("GET " + uri + diffQuery + " HTTP/1.1\r\n")
	for _, h := range diffHeaders {
		req.WriteString(h.Name + ": " + h.Value + "\r\n")
	}
	req.WriteString("\r\n")
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, req.String())
	br := bufio.NewReader(c)
	clen := 0
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return "", nil, err
		}
		l = strings.TrimRight(l, "\r\n")
		if l == "" {
			break
		}
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, "content-length") {
			clen, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	buf := make([]byte, clen)
	if _, err := io.ReadFull(br, buf); err != nil {
		return "", nil, err
	}
	body := string(buf)
	m := &h1.Message{Method: "GET", URI: uri + diffQuery, Version: "HTTP/1.1", Headers: append([]h1.Header(nil), diffHeaders...),
		ContentLength: -1, BodyComplete: true}
	ctx := &sample.Ctx{Src: netip.MustParseAddrPort(c.LocalAddr().String()), Dst: netip.MustParseAddrPort(c.RemoteAddr().String()),
		Req: m, ReqPayload: []byte(req.String()), Final: true, Txn: &sample.Vars{}}
	return body, ctx, nil
}
