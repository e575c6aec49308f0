//go:build lua53

package luabind

import (
	"strings"
	"testing"
)

// rx builds "Regex.new(pat, cs)" then "re:match(subject)" as a try().
func rx(pat string, cs bool, subject string) string {
	c := "false"
	if cs {
		c = "true"
	}
	return `try(function() local st, re = Regex.new(` + pat + `, ` + c + `) if not st then return "compile: " .. re end return re:match(` + subject + `) end)`
}

// The expected values were printed by HAProxy 2.6.12 (PCRE2 10.42, JIT)
// for the same expressions, except where a comment says otherwise.
var regexCases = []luaCase{
	{`try(function() return type(Regex), type(Regex.new), type(Regex.exec), type(Regex.match), getmetatable(Regex) ~= nil end)`,
		`boolean:true, "table", "function", "function", "function", boolean:true`},
	{`try(function() local ks = {} for k in pairs(Regex) do ks[#ks+1]=k end return table.concat(ks, ",") end)`, `boolean:true, "new"`},
	{`try(function() local st, re = Regex.new("needle (..) (...)", true) return st, type(re), getmetatable(re) == getmetatable(Regex) end)`,
		`boolean:true, boolean:true, "table", boolean:true`},
	// compilation errors: PCRE2 adds ", erroffset=N" after the message
	{`try(Regex.new, "a(b", true)`, `boolean:true, boolean:false, "regex 'a(b' is invalid (error=missing closing parenthesis, erroffset=3)"`},
	{`try(Regex.new, "*a", true)`, `boolean:true, boolean:false, "regex '*a' is invalid (error=quantifier does not follow a repeatable item, erroffset=0)"`},
	{`try(Regex.new, "[a", true)`, `boolean:true, boolean:false, "regex '[a' is invalid (error=missing terminating ] for character class, erroffset=2)"`},
	{`try(Regex.new, "(?<n>a)(?<n>b)", true)`, `boolean:true, boolean:false, "regex '(?<n>a)(?<n>b)' is invalid (error=two named subpatterns have the same name (PCRE2_DUPNAMES not set), erroffset=12)"`},
	{`try(Regex.new, "a\\", true)`, `boolean:true, boolean:false, "regex 'a\\' is invalid (error=\\ at end of pattern, erroffset=2)"`},
	{`try(Regex.new, "a\\y", true)`, `boolean:true, boolean:false, "regex 'a\\y' is invalid (error=unrecognized character follows \\, erroffset=2)"`},
	{`try(Regex.new, "a)", true)`, `boolean:true, boolean:false, "regex 'a)' is invalid (error=unmatched closing parenthesis, erroffset=1)"`},
	// argument errors (HAProxy says "(null)" where a reason is given here)
	{`try(Regex.new, "a")`, `boolean:false, "bad argument #2 to '?' ((null))"`},
	{`try(Regex.new, "a", 1)`, `boolean:false, "bad argument #2 to '?' ((null))"`},
	{`try(Regex.new, nil, true)`, `boolean:false, "bad argument #1 to '?' (string expected, got nil)"`},
	{`try(function() local st = Regex.new(12, true) return st end)`, `boolean:true, boolean:true`},
	// exec and match: the reference's example
	{`try(function() local _, re = Regex.new("needle (..) (...)", true) return re:exec("Looking for a needle in the haystack") end)`, `boolean:true, boolean:true`},
	{`try(function() local _, re = Regex.new("needle (..) (...)", true) return re:exec("Lokking for a cat in the haystack") end)`, `boolean:true, boolean:false`},
	{rx(`"needle (..) (...)"`, true, `"Looking for a needle in the haystack"`), `boolean:true, boolean:true, {1="needle in the",2="in",3="the"}`},
	{rx(`"needle (..) (...)"`, true, `"nothing"`), `boolean:true, boolean:false, {}`},
	{`try(function() local _, re = Regex.new("x", true) return re:exec(nil) end)`, `boolean:false, "test:1: bad argument #1 to 'exec' (string expected, got nil)"`},
	{`try(function() local _, re = Regex.new("x", true) return re:exec(12) end)`, `boolean:true, boolean:false`},
	{`try(function() return Regex.exec({}, "x") end)`, `boolean:false, "test:1: bad argument #1 to 'exec' ((null))"`},
	// the match list stops at the first group that did not participate
	{rx(`"(a)?(b)(c)?"`, true, `"b"`), `boolean:true, boolean:true, {1="b"}`},
	{rx(`"(a)?(b)(c)?"`, true, `"bc"`), `boolean:true, boolean:true, {1="bc"}`},
	{rx(`"(a)|(b)"`, true, `"b"`), `boolean:true, boolean:true, {1="b"}`},
	{rx(`"x*"`, true, `"abc"`), `boolean:true, boolean:true, {1=""}`},
	// at most 20 strings
	{rx(`"(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)(m)(n)(o)(p)(q)(r)(s)(t)(u)(v)"`, true, `"abcdefghijklmnopqrstuv"`),
		`boolean:true, boolean:true, {1="abcdefghijklmnopqrstuv",10="i",11="j",12="k",13="l",14="m",15="n",16="o",17="p",18="q",19="r",2="a",20="s",3="b",4="c",5="d",6="e",7="f",8="g",9="h"}`},
	// PCRE semantics
	{rx(`"HELLO"`, false, `"say hello"`), `boolean:true, boolean:true, {1="hello"}`},
	{rx(`"[a-z]+"`, false, `"ABC"`), `boolean:true, boolean:true, {1="ABC"}`},
	{rx(`"(\\w)\\1"`, true, `"abccd"`), `boolean:true, boolean:true, {1="cc",2="c"}`},
	{rx(`"foo(?=bar)"`, true, `"foobaz foobar"`), `boolean:true, boolean:true, {1="foo"}`},
	{rx(`"(?<=a)b"`, true, `"ab"`), `boolean:true, boolean:true, {1="b"}`},
	{rx(`"^a.c$"`, true, `"a\nc"`), `boolean:true, boolean:false, {}`},
	{rx(`"^a.c$"`, true, `"x\nabc"`), `boolean:true, boolean:false, {}`},
	{rx(`"a$"`, true, `"a\n"`), `boolean:true, boolean:true, {1="a"}`},
	{rx(`"a\\Z"`, true, `"a\n"`), `boolean:true, boolean:true, {1="a"}`},
	{rx(`"a$b"`, true, `"a$b"`), `boolean:true, boolean:false, {}`},
	{rx(`"[$]"`, true, `"$"`), `boolean:true, boolean:true, {1="$"}`},
	{rx(`"(?m)a$"`, true, `"a\nb"`), `boolean:true, boolean:true, {1="a"}`},
	{rx(`"(?m)^b"`, true, `"a\nb"`), `boolean:true, boolean:true, {1="b"}`},
	{rx(`"\\Aab\\z"`, true, `"ab"`), `boolean:true, boolean:true, {1="ab"}`},
	{rx(`"(?<year>\\d{4})-(\\d\\d)"`, true, `"on 2024-05"`), `boolean:true, boolean:true, {1="2024-05",2="2024",3="05"}`},
	{rx(`"(?<n>a)(b)"`, true, `"ab"`), `boolean:true, boolean:true, {1="ab",2="a",3="b"}`},
	{rx(`"(?<n>a)(b)\\1"`, true, `"aba"`), `boolean:true, boolean:true, {1="aba",2="a",3="b"}`},
	{rx(`"(?<n>a)(b)\\2"`, true, `"abb"`), `boolean:true, boolean:true, {1="abb",2="a",3="b"}`},
	{rx(`"(?<n>a)\\k<n>"`, true, `"aa"`), `boolean:true, boolean:true, {1="aa",2="a"}`},
	{rx(`"(?P<n>a)(?P=n)"`, true, `"aa"`), `boolean:true, boolean:true, {1="aa",2="a"}`},
	{rx(`"a*+b"`, true, `"aab"`), `boolean:true, boolean:true, {1="aab"}`},
	{rx(`"a++a"`, true, `"aaa"`), `boolean:true, boolean:false, {}`},
	{rx(`"(?>a+)b"`, true, `"aab"`), `boolean:true, boolean:true, {1="aab"}`},
	{rx(`"\\Qa.b\\E"`, true, `"xa.by"`), `boolean:true, boolean:true, {1="a.b"}`},
	{rx(`"\\Qa.b\\E"`, true, `"xaxby"`), `boolean:true, boolean:false, {}`},
	{rx(`"(a)?(?(1)b|c)"`, true, `"ab"`), `boolean:true, boolean:true, {1="ab",2="a"}`},
	{rx(`"(?x) a b # comment"`, true, `"ab"`), `boolean:true, boolean:true, {1="ab"}`},
	{rx(`"a(?i)b"`, true, `"aB"`), `boolean:true, boolean:true, {1="aB"}`},
	{rx(`"(?i)abc"`, true, `"ABC"`), `boolean:true, boolean:true, {1="ABC"}`},
	{rx(`"a{,3}"`, true, `"a{,3}"`), `boolean:true, boolean:true, {1="a{,3}"}`},
	{rx(`"a{2}"`, true, `"xaa"`), `boolean:true, boolean:true, {1="aa"}`},
	{rx(`"a|"`, true, `"xyz"`), `boolean:true, boolean:true, {1=""}`},
	{rx(`"\\x41"`, true, `"A"`), `boolean:true, boolean:true, {1="A"}`},
	{rx(`"\\101"`, true, `"A"`), `boolean:true, boolean:true, {1="A"}`},
	{rx(`"\\cA"`, true, `"\1"`), `boolean:true, boolean:true, {1="\1"}`},
	{rx(`"\\e"`, true, `"\27"`), `boolean:true, boolean:true, {1="\27"}`},
	{rx(`"a\\hb"`, true, `"a b"`), `boolean:true, boolean:true, {1="a b"}`},
	{rx(`"a\\Rb"`, true, `"a\r\nb"`), `boolean:true, boolean:true, {1="a\13\
b"}`},
	{rx(`"\\Ga"`, true, `"ba"`), `boolean:true, boolean:false, {}`},
	{rx(`"\\bfoo\\b"`, true, `"a foo b"`), `boolean:true, boolean:true, {1="foo"}`},
	{rx(`"[[:alpha:]]+"`, true, `"12ab3"`), `boolean:true, boolean:true, {1="ab"}`},
	{rx(`"[a-c[:digit:]]+"`, true, `"a1b2!"`), `boolean:true, boolean:true, {1="a1b2"}`},
	{rx(`"[[:^digit:]]+"`, true, `"12ab3"`), `boolean:true, boolean:true, {1="ab"}`},
	{rx(`"[]a]+"`, true, `"]a"`), `boolean:true, boolean:true, {1="]a"}`},
	{rx(`"[^]a]+"`, true, `"]xa"`), `boolean:true, boolean:true, {1="x"}`},
	{rx(`"\\p{L}+"`, true, `"12abc"`), `boolean:true, boolean:true, {1="abc"}`},
	// bytes, not characters: PCRE2 runs without UTF
	{rx(`"é+"`, true, `"caféé!"`), `boolean:true, boolean:true, {1="é"}`},
	{rx(`"\\w+"`, true, `"caf\xe9!"`), `boolean:true, boolean:true, {1="caf"}`},
	{rx(`"a\\sb"`, true, `"a\xa0b"`), `boolean:true, boolean:false, {}`},
	{rx(`"\\d+"`, true, `"x\xb2y12"`), `boolean:true, boolean:true, {1="12"}`},
	{rx(`"\xc9"`, false, `"\xe9"`), `boolean:true, boolean:false, {}`},
	{rx(`"É"`, false, `"é"`), `boolean:true, boolean:false, {}`},
	{rx(`"[\\x80-\\xff]+"`, true, `"ab\xc3\xa9c"`), `boolean:true, boolean:true, {1="é"}`},
	{rx(`"a-b#c d}"`, true, `"xa-b#c d}"`), `boolean:true, boolean:true, {1="a-b#c d}"}`},
	{rx(`"[a\\-z]+"`, true, `"b-az"`), `boolean:true, boolean:true, {1="-az"}`},
	{rx(`"a.b"`, true, `"a\0b"`), `boolean:true, boolean:true, {1="a\0b"}`},
	{rx(`"\\d+"`, true, `"a\0 12"`), `boolean:true, boolean:true, {1="12"}`},
	// HAProxy gives up on subjects that do not fit its buffers (tune.bufsize)
	{`try(function() local _, re = Regex.new("\\d+", true) return re:exec(string.rep("x", 16382) .. "1"), re:exec(string.rep("x", 16383) .. "1") end)`,
		`boolean:true, boolean:true, boolean:false`},
	// PCRE features regexp2 cannot run: a compilation error, never a silent mismatch
	// (HAProxy compiles these)
	{`try(function() local st, err = Regex.new("a\\Kb", true) return st end)`, `boolean:true, boolean:false`},
	{`try(function() local st, err = Regex.new("\\((?:[^()]|(?R))*\\)", true) return st end)`, `boolean:true, boolean:false`},
	{`try(function() local st, err = Regex.new("(*UCP)\\w", true) return st end)`, `boolean:true, boolean:false`},
}

func TestRegex(t *testing.T) {
	for _, ctx := range []context{ctxBody, ctxAction, ctxConverter} {
		t.Run(ctx.String(), func(t *testing.T) { runCases(t, ctx, regexCases) })
	}
}

// A regex compiled in the body is used by later invocations, and is freed
// with its Lua object.
func TestRegexLifetime(t *testing.T) {
	ts := newTestState(t)
	ts.want(ctxBody, `st, hostre = Regex.new("^www\\.(.*)$", false) return tostring(st)`, "true")
	for i := 0; i < 3; i++ {
		ts.want(ctxAction, `local ok, m = hostre:match("WWW.example.com") return m[2]`, "example.com")
	}
	before := ts.ls.LiveHandles()
	ts.want(ctxBody, `for i = 1, 100 do Regex.new("a" .. i, true) end hostre = nil collectgarbage() collectgarbage() return "ok"`, "ok")
	if after := ts.ls.LiveHandles(); after >= before {
		t.Fatalf("live handles %d -> %d: regex objects are not released", before, after)
	}
}

func TestTranslatePCRE(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`a$`, `a(?=\n?\z)`},
		{`(?m)a$`, `(?m)a$`},
		{`(?<n>a)\k<n>`, `(a)(?:\1)`},
		{`a*+`, `(?>a*)`},
		{`(ab)++`, `(?>(ab)+)`},
		{`[ab]?+c`, `(?>[ab]?)c`},
		{`\Qa.b\E`, `a\.b`},
		{`a{x`, `a\{x`},
		{`\x{41}`, `A`},
		{"\xe9", "\ue0e9"},
		{`[\xe9]`, "[\ue0e9]"},
		{`(?i:a)b`, `(?i:a)b`},
		{`(?-i)a`, `(?-i)a`},
	} {
		got, err := translatePCRE([]byte(tc.in))
		if err != nil || got != tc.want {
			t.Errorf("%q: got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func FuzzRegexCompile(f *testing.F) {
	for _, tc := range regexCases {
		f.Add(tc.lua)
	}
	f.Add(`(?<a>x)(?(a)y|z)\g{-1}\g1\g{a}[\Q]\E]`)
	f.Fuzz(func(t *testing.T, pat string) {
		re, err := compileRegex([]byte(pat), true)
		if err != nil {
			if strings.Contains(regexp2Message(err), "\n") {
				t.Fatalf("multi-line error for %q", pat)
			}
			return
		}
		_, _ = re.FindRunesMatch(subjectRunes([]byte(pat)))
	})
}

func BenchmarkRegexExec(b *testing.B) {
	ts := newTestState(b)
	ts.want(ctxBody, `_, re = Regex.new("^([A-Z]+) (/[^ ?]*)(?:\\?(\\S*))? HTTP/(\\d\\.\\d)$", true) return "ok"`, "ok")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ts.want(ctxAction, `local n = 0 for i = 1, 100 do if re:exec("GET /search?q=lua HTTP/1.1") then n = n + 1 end end return n`, "100")
	}
}
