package sample_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"luaproxy/core/config"
	"luaproxy/core/sample"
)

func aclSet(t *testing.T, lines ...string) *sample.ACLSet {
	t.Helper()
	set := sample.NewACLSet(&sample.Scope{Proxy: "fe"})
	for i, l := range lines {
		if err := set.Add(config.Line{File: "t.cfg", Num: i + 1, Args: strings.Fields(l)}); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
	}
	return set
}

func cond(t *testing.T, set *sample.ACLSet, text string) *sample.Cond {
	t.Helper()
	c, n, err := sample.ParseCond(strings.Fields(text), set, config.Line{File: "t.cfg", Num: 9})
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	if n != len(strings.Fields(text)) {
		t.Fatalf("%s: consumed %d words", text, n)
	}
	return c
}

func TestConditions(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "paths.lst")
	os.WriteFile(list, []byte("# static\n/static\n/img\n"), 0o644)
	set := aclSet(t,
		"acl is_api path_beg /api /v2",
		"acl is_api path_end .html", // OR-ed with the previous line
		"acl xa hdr(x-a) a2",        // any occurrence
		"acl xa_last hdr(x-a,-1) a2",
		"acl num req.hdr_val(x-num) gt 40",
		"acl num_range req.hdr_val(x-num) 1:10 40:50",
		"acl local src 192.168.0.0/16",
		"acl host_i hdr(host) -i WWW.EXAMPLE.COM",
		"acl host_dom hdr_dom(host) example",
		"acl static path_beg -f "+list,
		"acl cook req.cook(c2) -m found",
		"acl reg path_reg ^/p/[a-z]+\\.html$",
		"acl sub url_sub two",
		"acl dir path_dir p",
		"acl len path_len 9",
		"acl ip hdr_ip(x-ip) 10.0.0.0/8",
		"acl meth method POST PUT",
		"acl auth http_auth_type Basic",
		"acl bool req.hdr_cnt(x-a),bool -m bool",
		"acl dash path -- -x",
	)
	ctx := testCtx()
	for text, want := range map[string]bool{
		"if is_api":                 true,
		"unless is_api":             false,
		"if xa":                     true,
		"if xa_last":                false,
		"if num num_range":          true,
		"if local !num":             false,
		"if !local or num":          true,
		"if host_i host_dom":        true,
		"if static":                 false,
		"if cook reg sub dir len":   true,
		"if ip":                     true,
		"if meth":                   false,
		"if METH_GET HTTP_1.1 TRUE": true,
		"if FALSE || LOCALHOST":     false,
		"if auth bool":              true,
		"if { path_beg /p } { src -m ip 192.168.1.10 }":       true,
		"if { req.hdr(x-num) -m int 42 }":                     true,
		"if { req.hdr(host) -m end .com }":                    true,
		"if { req.hdr(host) -m len 15 }":                      true,
		"if { bin(0102) -m bin 0102 }":                        true,
		"if { req.hdr(nothere) -m found } or { always_true }": true,
		"if ! dash":                       true,
		"if HTTP_URL_SLASH !HTTP_URL_ABS": true,
		"if HTTP_CONTENT":                 false,
	} {
		t.Run(text, func(t *testing.T) {
			got, may := cond(t, set, text).Eval(ctx)
			if got != want || may {
				t.Fatalf("got %v (mayChange %v), want %v", got, may, want)
			}
		})
	}
}

func TestConditionMayChange(t *testing.T) {
	set := aclSet(t, "acl big req.len gt 100", "acl pl req.payload(0,4) -m bin 47455420")
	ctx := &sample.Ctx{ReqPayload: []byte("GE")}
	if m, may := cond(t, set, "if pl").Eval(ctx); m || !may {
		t.Fatalf("short payload: %v %v, want a miss that may change", m, may)
	}
	ctx.ReqPayload = []byte("GET /")
	if m, may := cond(t, set, "if pl").Eval(ctx); !m || may {
		t.Fatalf("full payload: %v %v", m, may)
	}
	// A failing term decides even when another may change.
	ctx = &sample.Ctx{ReqPayload: []byte("GE")}
	if m, may := cond(t, set, "if pl FALSE").Eval(ctx); m || may {
		t.Fatalf("AND with FALSE: %v %v", m, may)
	}
	ctx.Final = true
	if m, may := cond(t, set, "if pl").Eval(ctx); m || may {
		t.Fatalf("final: %v %v", m, may)
	}
}

func TestACLErrors(t *testing.T) {
	for line, want := range map[string]string{
		"acl x foo":                    "error detected while parsing ACL 'x' : unknown fetch method 'foo' in ACL expression 'foo'.",
		"acl x str(a),foo -m found":    "error detected while parsing ACL 'x' : unknown converter 'foo' in ACL expression 'str(a),foo'.",
		"acl x hdr(x) -m foo":          "error detected while parsing ACL 'x' : unknown matching method 'foo' when parsing ACL expression.",
		"acl x str(a) -m int abc":      "error detected while parsing ACL 'x' : 'abc' is not a number.",
		"acl x src abc":                "error detected while parsing ACL 'x' : 'abc' is not a valid IPv4 or IPv6 address.",
		"acl x int(1) 1:a":             "error detected while parsing ACL 'x' : '1:a' is not a valid number range.",
		"acl x hdr(x) -f /nonexistent": "error detected while parsing ACL 'x' : failed to open pattern file </nonexistent>.",
		"acl x var(txn.a) foo":         "error detected while parsing ACL 'x' : matching method must be specified first (using '-m') when using a sample fetch of this type ('var').",
		"acl x path -x":                "error detected while parsing ACL 'x' : '-x' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'.",
		"acl x path_reg (":             "error detected while parsing ACL 'x' : regex '(' is invalid",
	} {
		set := sample.NewACLSet(nil)
		err := set.Add(config.Line{Args: strings.Fields(line)})
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant %s", line, err, want)
		}
	}
	set := sample.NewACLSet(nil)
	if _, _, err := sample.ParseCond([]string{"if", "z"}, set, config.Line{}); err == nil || err.Error() != "no such ACL : 'z'" {
		t.Errorf("unknown ACL: %v", err)
	}
	if _, _, err := sample.ParseCond([]string{"if", "{", "always_true"}, set, config.Line{}); err == nil || err.Error() != "missing closing '}' in condition" {
		t.Errorf("missing brace: %v", err)
	}
	// Availability is a warning in HAProxy.
	set = aclSet(t, "acl b res.hdr(x) -m found")
	c := cond(t, set, "if b")
	if w := c.Check(sample.FEHRQHdr); w != "acl 'b' will never match because it only involves keywords that are incompatible with 'frontend http-request header rule'" {
		t.Errorf("Check = %q", w)
	}
	c = cond(t, set, "if { res.hdr(x) -m found }")
	if w := c.Check(sample.FEHRQHdr); w != "anonymous acl will never match because it uses keyword 'res.hdr' which is incompatible with 'frontend http-request header rule'" {
		t.Errorf("Check = %q", w)
	}
}
