//go:build lua53

package luabind

import "testing"

// Expected values were printed by HAProxy 2.6.12, except where noted:
// HAProxy resolves names (its "no DNS" flag is passed as "resolve"), so it
// parses "localhost" and "1.2.3" (glibc's gethostbyname reads it as
// 1.2.0.3); luaproxy parses numeric addresses only.
func parseAddrCases() []luaCase {
	parses := map[string]bool{
		"127.0.0.1/8": true, "10.0.0.1": true, "::1": true, "aaaa::1234/32": true,
		"bad": false, "1.2.3.4/33": false, "1.2.3.4/255.0.0.0": true, " 1.2.3.4": false,
		"::ffff:1.2.3.4": true, "1.2.3.4/0": true, "": false, "10.0.0.1/8 ": false,
		"1.2.3.4:80": false, "[::1]": false, "::1/129": false, "1.2.3.4/255.0.255.0": true,
		"1.2.3.4/ 8": true, "1.2.3.4/+8": true, "1.2.3.4/-1": false, "::1/": false,
		"fe80::1%eth0": false,
		"1.2.3":        false, "localhost": false, "01.2.3.4": false, // HAProxy: true (name resolution)
	}
	var cases []luaCase
	for s, ok := range parses {
		want := "false"
		if ok {
			want = "true"
		}
		cases = append(cases, luaCase{`core.parse_addr("` + s + `") ~= nil`, want})
	}
	cases = append(cases,
		luaCase{`try(core.parse_addr, nil)`, `boolean:false, "bad argument #1 to '?' (string expected, got nil)"`},
		luaCase{`try(core.parse_addr)`, `boolean:false, "bad argument #1 to '?' (string expected, got no value)"`},
	)
	return cases
}

func TestCoreParseAddr(t *testing.T) {
	for _, ctx := range []context{ctxBody, ctxAction, ctxConverter} {
		t.Run(ctx.String(), func(t *testing.T) { runCases(t, ctx, parseAddrCases()) })
	}
}

func matchAddrCases() []luaCase {
	cases := []luaCase{
		{`try(function() return core.match_addr(core.parse_addr("127.0.0.1/32"), core.parse_addr("127.0.0.0/8")) end)`, `boolean:true, boolean:true`},
		{`try(core.match_addr, "1.2.3.4", "1.2.3.4")`, `boolean:true, boolean:false`},
		{`try(core.match_addr, nil, nil)`, `boolean:true, boolean:false`},
		{`try(core.match_addr, core.parse_addr("1.2.3.4"))`, `boolean:true, boolean:false`},
		{`try(core.match_addr, {}, core.parse_addr("1.2.3.4"))`, `boolean:true, boolean:false`},
		{`try(core.match_addr, core.concat(), core.parse_addr("1.2.3.4"))`, `boolean:true, boolean:false`},
	}
	for _, p := range []struct {
		a, b string
		want bool
	}{
		{"127.0.0.0/8", "127.0.0.1", true},
		{"10.0.0.1", "10.0.0.2", false},
		{"10.0.0.1/24", "10.0.0.2/24", true},
		{"10.0.0.1/255.255.255.0", "10.0.0.2", false}, // 10.0.0.1&/32 != 10.0.0.2&/24
		{"10.0.0.0/255.255.255.0", "10.0.0.2", true},
		{"::1", "::1/128", true},
		{"aaaa::1234/32", "aaaa::1", false}, // each side is masked by the other's mask
		{"aaaa::1234/32", "aaaa::/32", true},
		{"aaaa::1234/32", "aaab::1", false},
		{"1.2.3.4", "::ffff:1.2.3.4", false},
		{"1.2.3.4/0", "5.6.7.8", false},
		{"1.2.3.4/0", "5.6.7.8/0", true},
	} {
		want := "false"
		if p.want {
			want = "true"
		}
		cases = append(cases, luaCase{`core.match_addr(core.parse_addr("` + p.a + `"), core.parse_addr("` + p.b + `"))`, want})
		cases = append(cases, luaCase{`core.match_addr(core.parse_addr("` + p.b + `"), core.parse_addr("` + p.a + `"))`, want})
	}
	return cases
}

func TestCoreMatchAddr(t *testing.T) {
	for _, ctx := range []context{ctxInit, ctxAction, ctxFetch} {
		t.Run(ctx.String(), func(t *testing.T) { runCases(t, ctx, matchAddrCases()) })
	}
}
