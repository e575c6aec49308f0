package sample_test

import (
	"strings"
	"testing"

	"luaproxy/core/config"
	"luaproxy/core/sample"
)

func benchExpr(b *testing.B, expr string) {
	e, err := sample.ParseExpr(expr, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := testCtx()
	if _, ok := e.Eval(ctx); !ok {
		b.Fatalf("%s: no sample", expr)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Eval(ctx)
	}
}

// BenchmarkFetch measures fetch dispatch: a registry-resolved fetch with
// arguments, no converter.
func BenchmarkFetch(b *testing.B) {
	b.Run("int", func(b *testing.B) { benchExpr(b, "int(1)") })
	b.Run("req.hdr", func(b *testing.B) { benchExpr(b, "req.hdr(host)") })
	b.Run("src", func(b *testing.B) { benchExpr(b, "src") })
}

// BenchmarkConverterChain3 measures a fetch followed by three converters.
func BenchmarkConverterChain3(b *testing.B) {
	b.Run("int", func(b *testing.B) { benchExpr(b, "req.hdr_val(x-num),add(1),mul(3),and(255)") })
	b.Run("str", func(b *testing.B) { benchExpr(b, "req.hdr(host),lower,field(2,.),length") })
}

// BenchmarkACL10 measures a condition on one ACL with 10 patterns.
func BenchmarkACL10(b *testing.B) {
	for _, c := range []struct{ name, line string }{
		{"str", "acl a req.hdr(host) h1 h2 h3 h4 h5 h6 h7 h8 h9 www.example.com"},
		{"beg", "acl a path_beg /a /b /c /d /e /f /g /h /i /p/"},
		{"ip", "acl a src 10.0.0.0/8 10.1.0.0/16 172.16.0.0/12 1.2.3.4 5.6.7.8 9.9.9.9 8.8.8.8 1.1.1.1 2.2.2.2 192.168.0.0/16"},
		{"reg", "acl a path_reg ^/a ^/b ^/c ^/d ^/e ^/f ^/g ^/h ^/i ^/p/"},
	} {
		b.Run(c.name, func(b *testing.B) {
			set := sample.NewACLSet(nil)
			if err := set.Add(config.Line{Args: strings.Fields(c.line)}); err != nil {
				b.Fatal(err)
			}
			cond, _, err := sample.ParseCond([]string{"if", "a"}, set, config.Line{})
			if err != nil {
				b.Fatal(err)
			}
			ctx := testCtx()
			if m, _ := cond.Eval(ctx); !m {
				b.Fatal("no match")
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				cond.Eval(ctx)
			}
		})
	}
}

func FuzzParseExpr(f *testing.F) {
	for _, c := range exprCases {
		f.Add(c.expr)
	}
	for _, e := range diffExprs {
		f.Add(e)
	}
	for _, c := range parseErrors {
		f.Add(c.expr)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Contains(s, "map") || strings.Contains(s, "-f") {
			return // no file system access from the fuzzer
		}
		e, err := sample.ParseExpr(s, nil)
		if err == nil {
			e.Eval(testCtx())
			if e.Text != s {
				t.Fatalf("Text %q != input %q", e.Text, s)
			}
		}
		if f, err := sample.ParseFormat(s); err == nil {
			f.Render(testCtx(), nil)
			f.RenderMode(testCtx(), nil, sample.ModeLog)
		}
		if strings.Count(s, " ") < 20 {
			words := append([]string{"if"}, strings.Fields(s)...)
			if c, _, err := sample.ParseCond(words, sample.NewACLSet(nil), config.Line{}); err == nil {
				c.Eval(testCtx())
			}
		}
	})
}
