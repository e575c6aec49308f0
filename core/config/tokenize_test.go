package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"luaproxy/core/config"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		name string
		line string
		want []string
	}{
		{"words", "bind :80", []string{"bind", ":80"}},
		{"blanks and comment", " \t mode \t  http   # the mode", []string{"mode", "http"}},
		{"comment glued to word", "global#this is the global section", []string{"global"}},
		{"comment only", "   # nothing", nil},
		{"empty", "", nil},
		{"tab separates", "a\tb", []string{"a", "b"}},

		// The equivalent forms from manual 2.2.
		{"escaped spaces", `log-format %{+Q}o\ %t\ %s\ %{-Q}r`, []string{"log-format", "%{+Q}o %t %s %{-Q}r"}},
		{"weak quotes", `log-format "%{+Q}o %t %s %{-Q}r"`, []string{"log-format", "%{+Q}o %t %s %{-Q}r"}},
		{"strong quotes", `log-format '%{+Q}o %t %s %{-Q}r'`, []string{"log-format", "%{+Q}o %t %s %{-Q}r"}},
		{"mixed quotes", `log-format "%{+Q}o %t"' %s %{-Q}r'`, []string{"log-format", "%{+Q}o %t %s %{-Q}r"}},
		{"mixed quotes and escape", `log-format "%{+Q}o %t"' %s'\ %{-Q}r`, []string{"log-format", "%{+Q}o %t %s %{-Q}r"}},

		{"escapes", `a \# \\ \' \" \r\n\t \x41\x2a\x2A`, []string{"a", "#", `\`, "'", `"`, "\r\n\t", "A**"}},
		{"unknown escape kept", `regsub(a,\1)`, []string{`regsub(a,\1)`}},
		{"backslash tab is not an escape", "a\\\tb", []string{`a\`, "b"}},
		{"trailing backslash", `a\`, []string{`a\`}},
		{"dollar escape unquoted", `a\$b`, []string{`a\$b`}},
		{"dollar escape quoted", `"a\$b"`, []string{"a$b"}},
		{"escapes in double quotes", `"\"\'\\\#\x20"`, []string{`"'\# `}},
		{"strong quotes are literal", `'$HOME \n \'`, []string{`$HOME \n \`}},
		{"hash and quote in double quotes", `"a#b it's"`, []string{"a#b it's"}},
		{"double quote in single quotes", `'say "hi"'`, []string{`say "hi"`}},
		{"unquoted dollar is literal", `$HOME ${HOME}`, []string{"$HOME", "${HOME}"}},
		{"empty words kept", `a "" b ''`, []string{"a", "", "b", ""}},
		{"empty quotes glued", `a ""b c''`, []string{"a", "b", "c"}},
		{"CR ends the line", "a b\rc d", []string{"a", "b"}},
		{"CR after a blank does not", "a \rb", []string{"a", "b"}},

		// Second-level quoting examples of manual 2.2.
		{"regsub escaped quotes", `http-request set-path %[path,regsub(\"(foo|bar)\",blah,g)]`,
			[]string{"http-request", "set-path", `%[path,regsub("(foo|bar)",blah,g)]`}},
		{"regsub single quotes", `http-request set-path '%[path,regsub("^/(here)(/|$)","my/\1",g)]'`,
			[]string{"http-request", "set-path", `%[path,regsub("^/(here)(/|$)","my/\1",g)]`}},
		{"single quote twice 1", `str("\\'foo\\'")`, []string{`str(\'foo\')`}},
		{"single quote twice 2", `str(\"\'foo\'\")`, []string{`str("'foo'")`}},
		{"single quote twice 3", `str(\\\'foo\\\')`, []string{`str(\'foo\')`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.Tokenize(tt.line)
			if err != nil {
				t.Fatalf("Tokenize(%q): %v", tt.line, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Tokenize(%q) = %q, want %q", tt.line, got, tt.want)
			}
		})
	}
}

func TestTokenizeEnv(t *testing.T) {
	t.Setenv("FOO", "bar")
	t.Setenv("EMPTY", "")
	t.Setenv("LIST", "a b  c")
	t.Setenv("SPACED", " x ")

	tests := []struct {
		name string
		line string
		want []string
	}{
		{"plain", `k "$FOO"`, []string{"k", "bar"}},
		{"braces", `k "${FOO}"`, []string{"k", "bar"}},
		{"glued", `k "${FOO}x" "$FOO.x" pre"$FOO"`, []string{"k", "barx", "bar.x", "prebar"}},
		{"name ends at non-alnum", `k "$FOO-x"`, []string{"k", "bar-x"}},
		{"not in single quotes", `k '$FOO'`, []string{"k", "$FOO"}},
		{"not unquoted", `k $FOO`, []string{"k", "$FOO"}},
		{"unset is empty", `k "$NOPE_UNSET" x`, []string{"k", "", "x"}},
		{"unset glued", `k a"${NOPE_UNSET}"b`, []string{"k", "ab"}},
		{"default for unset", `log "${NOPE_UNSET-127.0.0.1}:514" local0`, []string{"log", "127.0.0.1:514", "local0"}},
		{"default ignored when set", `k "${FOO-def}"`, []string{"k", "bar"}},
		{"default ignored when empty", `k "${EMPTY-def}"`, []string{"k", ""}},
		{"default is verbatim", `k "${NOPE_UNSET-a b\n}"`, []string{"k", `a b\n`}},
		{"word expansion", `k "${LIST[*]}"`, []string{"k", "a", "b", "c"}},
		{"word expansion glued", `k "x${LIST[*]}y"`, []string{"k", "xa", "b", "cy"}},
		{"word expansion leading space", `k "${SPACED[*]}"`, []string{"k", "", "x", ""}},
		{"no expansion without [*]", `k "${LIST}"`, []string{"k", "a b  c"}},
		{"escaped dollar", `k "\$FOO"`, []string{"k", "$FOO"}},
		{"pseudo variable outside a file", `k "${.LINE}"`, []string{"k", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.Tokenize(tt.line)
			if err != nil {
				t.Fatalf("Tokenize(%q): %v", tt.line, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Tokenize(%q) = %q, want %q", tt.line, got, tt.want)
			}
		})
	}
}

func TestTokenizeErrors(t *testing.T) {
	tests := []struct {
		name string
		line string
		msg  string
	}{
		{"unmatched double quote", `bind "abc`, "unmatched quote at position 6"},
		{"unmatched single quote", `  bind 'abc`, "unmatched quote at position 8"},
		{"last opened quote is reported", `a "b" 'c`, "unmatched quote at position 7"},
		{"quote cut by CR", "a \"b\rc\"", "unmatched quote at position 3"},
		{"unmatched brace", `x "${FOO"`, "unmatched brace in environment variable name at position 5"},
		{"unmatched brace with default", `x "${FOO-abc"`, "unmatched brace in environment variable name at position 5"},
		{"digit starts name", `x "$1"`, "forbidden first char in environment variable name at position 5"},
		{"lone dollar", `x "cost $"`, "forbidden first char in environment variable name at position 10"},
		{"unknown pseudo variable", `x "${.FOO}"`, "forbidden first char in environment variable name at position 6"},
		{"bad hex", `x \x4`, "truncated or invalid hexadecimal sequence at position 3"},
		{"bad hex digit", `x "\xg0"`, "truncated or invalid hexadecimal sequence at position 4"},
		{"bad word expansion", `x "${A[x]}"`, "truncated or invalid word expansion sequence at position 7"},
		{"too many words", strings.Repeat("ab ", 65), "too many words, truncating after word 64, position 190: <ab>."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.Tokenize(tt.line)
			if err == nil {
				t.Fatalf("Tokenize(%q) = %q, want error %q", tt.line, got, tt.msg)
			}
			if err.Error() != tt.msg {
				t.Errorf("Tokenize(%q) error = %q, want %q", tt.line, err, tt.msg)
			}
			var te *config.TokenError
			if !errors.As(err, &te) || te.Pos <= 0 {
				t.Errorf("error %#v is not a *TokenError with a position", err)
			}
		})
	}
}

func TestTokenizeMaxWords(t *testing.T) {
	line := strings.TrimSpace(strings.Repeat("ab ", config.MaxLineArgs))
	got, err := config.Tokenize(line)
	if err != nil || len(got) != config.MaxLineArgs {
		t.Fatalf("Tokenize(64 words) = %d words, %v", len(got), err)
	}
}
