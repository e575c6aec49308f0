package core

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startCLIEngine starts cfg, where "@SOCK@" stands for a unix socket path in
// a temporary directory (the admin socket) and "@USOCK@"/"@OSOCK@" for
// user and operator ones; it returns the engine, its log and the socket
// directory.
func startCLIEngine(t *testing.T, cfg string) (*Engine, *syncBuf, string) {
	t.Helper()
	dir := t.TempDir()
	cfg = strings.NewReplacer("@SOCK@", filepath.Join(dir, "admin.sock"),
		"@USOCK@", filepath.Join(dir, "user.sock"), "@OSOCK@", filepath.Join(dir, "oper.sock")).Replace(cfg)
	e, log := startEngine(t, cfg)
	return e, log, dir
}

// cliExchange sends input on the unix socket at path, closes its writing
// side (as "nc -N" and "socat" do) and returns everything the socket
// answers until it closes.
func cliExchange(t *testing.T, path, input string) string {
	t.Helper()
	c, err := net.DialTimeout("unix", path, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, input); err != nil {
		t.Fatal(err)
	}
	_ = c.(*net.UnixConn).CloseWrite()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", input, err)
	}
	return string(b)
}

const cliBaseConfig = `
global
    stats socket @SOCK@ level admin
    stats socket @USOCK@ level user
    stats socket @OSOCK@
defaults
    mode tcp
    timeout connect 1s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 127.0.0.1:9 weight 1
    server s2 127.0.0.1:9 weight 5
    server s3 127.0.0.1:9 backup
backend st
    balance static-rr
    server a 127.0.0.1:9 weight 3
`

func init() {
	// A command that echoes its payload, for the protocol tests.
	RegisterCLI(CLICommand{Words: []string{"test-payload"}, Level: CLIUser, Fn: func(r *CLIRequest) {
		r.Printf("payload=%q args=%q\n", r.Payload, r.Args[1:])
	}})
}

// The CLI protocol, as HAProxy 2.6 answers on its stats socket (outputs
// observed with "echo ... | nc -N -U"): one line of ';'-separated
// commands, each answer followed by an empty line, the interactive prompt
// mode, quit, escapes, payloads.
func TestCLIProtocol(t *testing.T) {
	_, _, dir := startCLIEngine(t, cliBaseConfig)
	sock := filepath.Join(dir, "admin.sock")
	cases := []struct{ name, in, want string }{
		{"one command", "show version\n", Version + "\n\n"},
		{"no final newline", "show version", Version + "\n\n"},
		{"CRLF", "show cli level\r\n", "admin\n\n"},
		{"semicolons", "show version;show cli level\n", Version + "\n\nadmin\n\n"},
		{"blank around words", "  show   cli\tlevel  \n", "admin\n\n"},
		{"two lines", "show version\nshow cli level\n", Version + "\n\nadmin\n\n"},
		{"quit stops", "show version;quit;show version\n", Version + "\n\n"},
		{"quit alone", "quit\n", ""},
		// HAProxy compat: "prompt" answers nothing, then each answer is
		// followed by "\n> ".
		{"prompt", "prompt\nshow cli level\nquit\n", "\n> admin\n\n> "},
		{"prompt toggles", "prompt\nprompt\nshow cli level\n", "\n> \nadmin\n\n"},
		{"escaped semicolon", `test-payload a\;b c\ d e\\f` + "\n", `payload="" args=["a;b" "c d" "e\\f"]` + "\n\n"},
		{"payload", "test-payload x <<\nline 1\nline;2\n\nshow cli level\n",
			"payload=\"line 1\\nline;2\" args=[\"x\"]\n\nadmin\n\n"},
		{"payload prompts", "prompt\ntest-payload <<\na\n\nquit\n", "\n> + + payload=\"a\" args=[]\n\n> "},
		{"no more after level lowered", "operator;show cli level;user;show cli level;operator\n",
			"\noperator\n\n\nuser\n\nPermission denied\n\n"},
		{"experimental mode", "experimental-mode;experimental-mode on;experimental-mode;experimental-mode off;experimental-mode\n",
			"experimental-mode is OFF\n\n\nexperimental-mode is ON\n\n\nexperimental-mode is OFF\n\n"},
		{"set timeout", "set timeout cli 5;set timeout cli;set timeout cli x;set timeout foo 1\n",
			"\nExpects an integer value.\n\nInvalid timeout value.\n\n'set timeout' only supports 'cli'.\n\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := cliExchange(t, sock, tc.in); got != tc.want {
				t.Errorf("answer to %q:\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
	// An empty command (here after a trailing ';') lists every command.
	got := cliExchange(t, sock, "show version;\n")
	if !strings.HasPrefix(got, Version+"\n\n"+cliUsageEmpty) || !strings.HasSuffix(got, cliUsageTail+"\n") {
		t.Errorf("empty command: %q", got)
	}
}

// Levels: "Permission denied" below a command's level, as HAProxy 2.6
// answers on user and operator sockets.
func TestCLILevels(t *testing.T) {
	_, _, dir := startCLIEngine(t, cliBaseConfig)
	user, oper := filepath.Join(dir, "user.sock"), filepath.Join(dir, "oper.sock")
	cases := []struct{ sock, in, want string }{
		{user, "show cli level\n", "user\n\n"},
		{oper, "show cli level\n", "operator\n\n"},
		{user, "get weight be/s2\n", "5 (initial 5)\n\n"},
		{user, "show backend\n", "# name\nbe\nst\n\n"},
		{user, "set server be/s1 state maint\n", cliPermissionDenied + "\n"},
		{user, "disable server be/s1\n", cliPermissionDenied + "\n"},
		{user, "add server be/x 1.2.3.4:5\n", cliPermissionDenied + "\n"},
		{user, "del server be/s1\n", cliPermissionDenied + "\n"},
		{user, "experimental-mode on\n", cliPermissionDenied + "\n"},
		{user, "get var proc.foo\n", cliPermissionDenied + "\n"},
		{user, "operator\n", cliPermissionDenied + "\n"},
		{oper, "set server be/s1 weight 2\n", cliPermissionDenied + "\n"},
		{oper, "set weight be/s1 2\n", cliPermissionDenied + "\n"},
		{oper, "set maxconn server be/s1 3\n", cliPermissionDenied + "\n"},
		{oper, "shutdown sessions server be/s1\n", cliPermissionDenied + "\n"},
		{oper, "disable frontend fe\n", cliPermissionDenied + "\n"},
		{oper, "get var proc.nope\n", "Variable not found.\n\n"},
		{oper, "user;show cli level\n", "\nuser\n\n"},
	}
	for _, tc := range cases {
		if got := cliExchange(t, tc.sock, tc.in); got != tc.want {
			t.Errorf("%s: answer to %q:\n got %q\nwant %q", filepath.Base(tc.sock), tc.in, got, tc.want)
		}
	}
}

// helpCommands reads HAProxy 2.6's "help" output (testdata) as commands,
// their keywords taken from the usage line.
func helpCommands(t *testing.T) ([]*CLICommand, map[string]bool) {
	t.Helper()
	b, err := os.ReadFile("testdata/haproxy26_help.txt")
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	var cmds []*CLICommand
	for _, l := range strings.Split(string(b), "\n") {
		u, ok := strings.CutPrefix(l, "  ")
		if !ok {
			continue
		}
		lines[u] = true
		var words []string
		for _, w := range strings.Fields(u[:40]) {
			if strings.ContainsAny(w[:1], "<[{(:") {
				break
			}
			words = append(words, w)
		}
		if words[0] == "help" || words[0] == "prompt" || words[0] == "quit" {
			continue
		}
		cmds = append(cmds, &CLICommand{Words: words, Usage: u})
	}
	return cmds, lines
}

// Usage messages: every command luaproxy has prints HAProxy 2.6's usage
// line, and over HAProxy's own command list the suggestions for unknown
// commands are HAProxy's (the answers below were observed on 2.6.12;
// cases whose result depends on HAProxy's registration order are left
// out).
func TestCLIUsageMatchesHAProxy(t *testing.T) {
	cmds, lines := helpCommands(t)
	for _, c := range cliCommands() {
		if c.Usage != "" && !lines[c.Usage] && c.Words[0] != "test-payload" {
			t.Errorf("usage of %q is not HAProxy 2.6's: %q", c.Words, c.Usage)
		}
	}
	usage := func(names ...string) string {
		var b strings.Builder
		for _, n := range names {
			for _, c := range cmds {
				if strings.Join(c.Words, " ") == n {
					b.WriteString("  " + c.Usage + "\n")
				}
			}
		}
		return b.String()
	}
	cases := []struct {
		in     string
		header string
		want   string
	}{
		{"foo", cliUsageUnknown, usage("add acl", "show fd", "show info", "trace", "user")},
		{"help foo", cliUsageHelp, usage("add acl", "show fd", "show info", "trace", "user")},
		{"get foo", cliUsageUnknown, usage("get acl", "get map", "get var", "get weight")},
		{"help get", cliUsageHelp, usage("get acl", "get map", "get var", "get weight")},
		{"show sta", cliUsageUnknown, usage("show stat")},
		{"show inf", cliUsageUnknown, usage("show fd", "show info")},
		{"show acls", cliUsageUnknown, usage("show acl")},
		{"show ss", cliUsageUnknown, usage("show sess")},
		{"show sssl", cliUsageUnknown, usage("show acl", "show fd", "show sess", "show ssl cert", "show stat")},
		{"show servers stat", cliUsageUnknown, usage("show servers state")},
		{"show servers", cliUsageUnknown, usage("show servers conn", "show servers state")},
		{"set sever", cliUsageUnknown, usage("set server")},
		{"set weigh", cliUsageUnknown, usage("set weight")},
		{"get wieght", cliUsageUnknown, usage("get weight")},
		{"shw info", cliUsageUnknown, usage("show info")},
		{"ad server", cliUsageUnknown, usage("add server")},
		{"enable fronted x", cliUsageUnknown, usage("enable frontend")},
		{"shutdown", cliUsageUnknown, usage("shutdown frontend", "shutdown session", "shutdown sessions server")},
		{"clear", cliUsageUnknown, usage("clear acl", "clear counters", "clear map", "clear table")},
	}
	for _, tc := range cases {
		got := cliUsageFor(cmds, strings.Fields(tc.in), nil)
		if want := tc.header + tc.want + cliUsageTail; got != want {
			t.Errorf("usage for %q:\n got %q\nwant %q", tc.in, got, want)
		}
	}
	// "help" alone lists everything, sorted, the three session commands last.
	b, _ := os.ReadFile("testdata/haproxy26_help.txt")
	if got := cliUsageFor(cmds, []string{"help"}, nil) + "\n"; got != string(b) {
		t.Errorf("help differs from HAProxy 2.6's:\n%s", got)
	}
}

// The stats socket keywords: HAProxy's errors for bad ones.
func TestStatsSocketConfig(t *testing.T) {
	cases := []struct{ line, want string }{
		{"stats socket", "'stats socket' in global section expects an address or a path to a UNIX socket"},
		{"stats socket /tmp/x.sock level bogus", "'stats socket' : ''level' only supports 'user', 'operator', and 'admin' (got 'bogus')'"},
		{"stats socket /tmp/x.sock foo", "'stats socket' : unknown keyword 'foo'."},
		{"stats socket /tmp/x.sock expose-fd nope", "'stats socket' : ''expose-fd' only supports 'listeners' (got 'nope')'"},
		{"stats timeout 0", "'stats timeout' expects a positive value"},
		{"stats maxconn x", "'stats maxconn' expects a positive value"},
		{"stats foo", "'stats' only supports 'socket', 'maxconn', 'bind-process' and 'timeout' (got 'foo')"},
	}
	for _, tc := range cases {
		c, err := configParse("global\n    " + tc.line + "\n")
		if err != nil {
			t.Fatal(err)
		}
		err = New(NewLogger(io.Discard)).Load(c)
		if err == nil || !strings.Contains(err.Error(), "parsing [t.cfg:2] : "+tc.want) {
			t.Errorf("%q: got %v, want %q", tc.line, err, tc.want)
		}
	}
	c, _ := configParse("global\n    stats socket /tmp/x.sock mode 600 level admin user root group root expose-fd listeners\n    stats timeout 2m\n    stats maxconn 3\n")
	e := New(NewLogger(io.Discard))
	if err := e.Load(c); err != nil {
		t.Fatal(err)
	}
	ss := e.StatsSockets()
	if len(ss) != 1 || ss[0].Level != CLIAdmin || ss[0].Mode != 0o600 || !ss[0].ExposeFD || e.cli.timeout != 2*time.Minute || e.cli.maxconn != 3 {
		t.Errorf("parsed %+v, timeout %v, maxconn %d", ss[0], e.cli.timeout, e.cli.maxconn)
	}
}

// The socket's permissions follow "mode", and a second engine takes the
// path over (a reload), as HAProxy's rename does.
func TestStatsSocketModeAndTakeover(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.sock")
	cfg := "global\n    stats socket " + path + " mode 600 level admin\n"
	e1, _ := startEngine(t, cfg)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v", fi, err)
	}
	e2, _ := startEngine(t, cfg)
	_ = e1
	if got := cliExchange(t, path, "show info\n"); !strings.Contains(got, "Name: luaproxy\n") {
		t.Fatalf("show info: %q", got)
	}
	e1.Stop()
	e1.Wait()
	if got := cliExchange(t, path, "show cli level\n"); got != "admin\n\n" {
		t.Fatalf("after the first engine stopped: %q", got)
	}
	_ = e2
}

// "stats maxconn": sessions past the limit wait for a slot; a stop does
// not wait for them.
func TestStatsMaxconn(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.sock")
	e, _ := loadEngine(t, "global\n    stats socket "+path+" level admin\n    stats maxconn 1\n")
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	first, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	_ = first.SetDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 64)
	io.WriteString(first, "prompt\n")
	if n, err := io.ReadAtLeast(first, buf, 3); err != nil || string(buf[:n]) != "\n> " {
		t.Fatalf("prompt: %q %v", buf[:n], err)
	}
	second := make(chan string, 1)
	go func() {
		c, err := net.Dial("unix", path)
		if err != nil {
			second <- err.Error()
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		io.WriteString(c, "show cli level\n")
		b, _ := io.ReadAll(c)
		second <- string(b)
	}()
	select {
	case got := <-second:
		t.Fatalf("a second session was served past stats maxconn 1: %q", got)
	case <-time.After(100 * time.Millisecond):
	}
	io.WriteString(first, "quit\n")
	if got := <-second; got != "admin\n\n" {
		t.Fatalf("second session: %q", got)
	}
	// a session holds the only slot while the engine stops
	third, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	io.WriteString(third, "prompt\n")
	_ = third.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.ReadAtLeast(third, buf, 3); err != nil {
		t.Fatal(err)
	}
	e.Stop()
	e.Wait()
}
