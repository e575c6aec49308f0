package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"luaproxy/core/config"
)

// fuzzSeeds are realistic configurations, each exercising a different part
// of the syntax.
var fuzzSeeds = []string{
	// 1. A classic HTTP load balancer.
	`global
    daemon
    maxconn 4096
    log /dev/log local0

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option httplog

frontend www
    bind :80
    default_backend app

backend app
    balance roundrobin
    server s1 10.0.0.1:8080 check
    server s2 10.0.0.2:8080 check
`,
	// 2. Lua and HTTP rules with quoting.
	`global
    lua-load /etc/haproxy/hello.lua
    tune.lua.forced-yield 1000

frontend fe
    mode http
    bind 127.0.0.1:8000
    http-request use-service lua.hello if { path /hello }
    http-request set-header X-Path "%[path]"
    http-request set-path %[path,regsub(\"(foo|bar)\",blah,g)]
    http-request set-var(txn.foo) str("\\'foo\\'")
    log-format "%{+Q}o %t"' %s'\ %{-Q}r
`,
	// 3. Environment variables.
	`global
    setenv BACKEND_PORT 9000
    presetenv LOG_HOST 127.0.0.1
    log "${LOG_HOST-127.0.0.1}:514" local0 notice

frontend fe
    bind "fd@${FD_APP1}"
    bind ":${PORT-8080}" "${BIND_OPTS[*]}"
    default_backend be

backend be
    server s1 "127.0.0.1:${BACKEND_PORT}" "${SRV_OPTS-check}"
`,
	// 4. Conditional blocks.
	`global
.if defined(HAPROXY_MWORKER)
    master-worker
.elif streq("$MODE",debug) || version_before(2.4)
    nbthread 1
.else
    nbthread 4
.endif
.if feature(LUA) && !feature(QUIC)
  .if version_atleast(2.4-dev19)
    profiling.memory on
  .endif
.endif
.warning "check me"
.notice "hello"
.diag "only with -dD"
`,
	// 5. Named defaults and inheritance.
	`defaults tcp_defaults
    mode tcp
    timeout client 1m

defaults http_defaults from tcp_defaults
    mode http

defaults from http_defaults

frontend f1 from tcp_defaults
    bind :3306

backend b1
    server db 10.0.0.9:3306

listen l1 from http_defaults
    bind :8080
    server web 10.0.0.10:80
`,
	// 6. Errors on purpose.
	`daemon
backend a/b
backend dup
backend dup
frontend f :80
listen l 1.2.3.4:80
frontend
`,
	// 7. Unterminated constructs.
	"global\n  log \"unterminated\n  name '${X\n.if 1\n.elif foo(\n",
	// 8. Peers, userlists, resolvers and other sections.
	`peers mypeers
    peer haproxy1 192.168.0.1:1024
    peer haproxy2 192.168.0.2:1024

userlist admins
    group admin users alice
    user alice password $6$k6y3o.eP$JlKBx9za9667qe4xHSwRv/

resolvers dns
    nameserver ns1 10.0.0.53:53
    hold valid 10s

cache mycache
    total-max-size 64
    max-age 240

http-errors site
    errorfile 503 /etc/haproxy/errors/503.http

ring buf
    size 32764
`,
	// 9. Escapes and odd bytes.
	"global\n  a \\x41\\x4a\\t\\n\\r \\# \\\\ \\' \\\" b\\ c\r\n  stray\x00nul\n  last",
	// 10. ACLs, maps and stick tables.
	`frontend fe
    bind :443 ssl crt /etc/ssl/site.pem alpn h2,http/1.1
    acl is_api path_beg /api
    acl bad_ua hdr_sub(user-agent) -i curl wget
    stick-table type ip size 100k expire 30s store http_req_rate(10s)
    http-request track-sc0 src
    http-request deny if { sc_http_req_rate(0) gt 100 }
    use_backend %[req.hdr(host),lower,map(/etc/haproxy/hosts.map,be_default)]
    http-request redirect location /goaway if bad_ua !is_api
`,
	// 11. Pseudo-variables and word expansion.
	`global
    setenv OPTS "check inter 2s"
backend "be_${.LINE}"
    server "srv_${.LINE}" 127.0.0.1:80 "${OPTS[*]}"
    http-response set-header X-Where "${.FILE}:${.LINE} in ${.SECTION}"
`,
	// 12. Deep nesting and long lines.
	strings.Repeat(".if 1\n", 20) + "global\n  " + strings.Repeat("word ", 70) + "\n" + strings.Repeat(".endif\n", 20),
}

// FuzzParse checks that no input makes Parse panic, and that what it
// returns is consistent.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse("fuzz.cfg", data)
		if cfg == nil {
			t.Fatal("nil *Config")
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, s := range cfg.Sections {
			if len(s.Head.Args) == 0 || s.Head.Args[0] != s.Kind {
				t.Fatalf("section %q with head %q", s.Kind, s.Head.Args)
			}
			for _, l := range s.Lines {
				if len(l.Args) == 0 || l.Args[0] == "" || len(l.Args) > config.MaxLineArgs {
					t.Fatalf("bad statement %v: %q", l, l.Args)
				}
				if l.Num < 1 || l.Num > lines || l.File != "fuzz.cfg" {
					t.Fatalf("bad location %v", l)
				}
			}
			_ = s.Defaults()
		}
		if err != nil {
			list := []error{err}
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				list = j.Unwrap()
			}
			for _, e := range list {
				var ce *config.Error
				if !errors.As(e, &ce) || ce.Warning || ce.Msg == "" {
					t.Fatalf("bad error %#v", e)
				}
			}
		}
		for _, w := range cfg.Warnings {
			if !w.Warning || w.Msg == "" {
				t.Fatalf("bad warning %#v", w)
			}
		}
	})
}

// FuzzEvalCondition checks that no expression makes the evaluator panic.
func FuzzEvalCondition(f *testing.F) {
	for _, s := range []string{
		"1", "!0", "defined(HOME) && !feature(QUIC)", `streq("a,b",'a,b') || strneq(a,b)`,
		"(1 || 0) && version_atleast(2.4-dev19)", "version_before(2.6.1-123)", "defined(A",
		"((((1))))", "0x1F && 017", `streq(\"x\",y\)`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		_, err := config.EvalCondition(expr)
		var ce *config.CondError
		if err != nil && (!errors.As(err, &ce) || ce.Pos < 1 || ce.Pos > len(expr)+1) {
			t.Fatalf("EvalCondition(%q): bad error %#v", expr, err)
		}
	})
}

// FuzzUnits checks ParseTime and ParseSize on any input.
func FuzzUnits(f *testing.F) {
	for _, s := range []string{"0", "10s", "1500us", "49d", "4294967296", "16k", "3G", "1.5s", "99999999999999999999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := config.ParseTime(s, time.Millisecond); err == nil && (d < 0 || d%time.Millisecond != 0) {
			t.Fatalf("ParseTime(%q) = %v", s, d)
		}
		if n, err := config.ParseSize(s); err == nil && (n < 0 || n >= 1<<32) {
			t.Fatalf("ParseSize(%q) = %v", s, n)
		}
	})
}
