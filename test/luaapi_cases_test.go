//go:build lua53

package test

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/txtar"
)

// Lua API cases: scripts written as users write them, with the
// configuration that loads them and what a client sends and gets, in
// txtar files under testdata/luaapi. Each case runs under luaproxy and,
// where it is installed, under HAProxy 2.6: both must give what the file
// says. A case file holds:
//
//	comment          what the case shows; a line "haproxy: <why>" runs
//	                 it on luaproxy only (a deliberate difference)
//	-- haproxy.cfg -- the configuration: {dir} is the directory of the
//	                 case's other files, and the first "127.0.0.1:0"
//	                 bind is the frontend the requests go to
//	-- <file> --     a file of {dir} (Lua scripts, maps)
//	-- request[.k] -- an HTTP request sent on a new connection, its
//	                 lines ending in "\r\n" on the wire (chunked bodies
//	                 included); with a Content-Length, the section's
//	                 last "\n" ends the body and is not sent
//	-- response[.k] -- its response: the status line, every header
//	                 (in any order, names in any case), an empty line,
//	                 the body (the section's last "\n" is not part of it)
//	-- request.tcp[.k] / -- response.tcp[.k] -- bytes sent as they are
//	                 (then the sending side is closed), and everything
//	                 received until the proxy closes
//	-- log --        lines that must appear in the proxy's output
//	                 (stderr), each a substring, {dir} as above
//
// go test ./test -run TestLuaAPICases -args -cases.update rewrites the
// response sections with what HAProxy answers (it must be installed):
// review the diff before committing it.
var updateCases = flag.Bool("cases.update", false, "rewrite the Lua API cases' responses with HAProxy's")

// contentLengthLine finds a Content-Length in a case's request head.
var contentLengthLine = regexp.MustCompile(`(?im)^content-length:`)

func TestLuaAPICases(t *testing.T) {
	paths, err := filepath.Glob("testdata/luaapi/*.txtar")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, path := range paths {
		c := loadCase(t, path)
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			if *updateCases {
				c.update(t, path)
				return
			}
			t.Run("luaproxy", func(t *testing.T) {
				p := startProxy(t, c.cfg, c.files)
				c.check(t, p.addr(0), p.dir, p.log)
			})
			t.Run("haproxy", func(t *testing.T) {
				if c.onlyLuaproxy != "" {
					t.Skip("deliberate difference: " + c.onlyLuaproxy)
				}
				addr, dir, log := runHAProxyCase(t, c.cfg, c.files)
				c.check(t, addr, dir, log)
			})
		})
	}
}

// luaCase is a parsed case file.
type luaCase struct {
	ar           *txtar.Archive
	cfg          string
	files        map[string]string
	steps        []caseStep
	logs         []string
	onlyLuaproxy string
}

// caseStep is one request and the response it must get.
type caseStep struct {
	key      string // the sections' suffix: "", ".2", ".tcp", ".tcp.2"
	tcp      bool
	request  string
	response string
}

func loadCase(t *testing.T, path string) *luaCase {
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := &luaCase{ar: ar, files: map[string]string{}}
	for _, l := range strings.Split(string(ar.Comment), "\n") {
		if why, ok := strings.CutPrefix(strings.TrimSpace(l), "haproxy:"); ok {
			c.onlyLuaproxy = strings.TrimSpace(why)
		}
	}
	responses := map[string]string{}
	for _, f := range ar.Files {
		data := string(f.Data)
		switch {
		case f.Name == "haproxy.cfg":
			c.cfg = data
		case f.Name == "log":
			for _, l := range strings.Split(strings.TrimRight(data, "\n"), "\n") {
				if l != "" {
					c.logs = append(c.logs, l)
				}
			}
		case strings.HasPrefix(f.Name, "request"):
			key := strings.TrimPrefix(f.Name, "request")
			tcp := strings.HasPrefix(key, ".tcp")
			if !tcp {
				head, body, _ := strings.Cut(data, "\n\n")
				if body != "" && contentLengthLine.MatchString(head) {
					body = strings.TrimSuffix(body, "\n")
				}
				data = strings.ReplaceAll(head+"\n\n"+body, "\n", "\r\n")
			}
			c.steps = append(c.steps, caseStep{key: key, tcp: tcp, request: data})
		case strings.HasPrefix(f.Name, "response"):
			responses[strings.TrimPrefix(f.Name, "response")] = data
		default:
			c.files[f.Name] = data
		}
	}
	if c.cfg == "" || len(c.steps) == 0 {
		t.Fatalf("%s: a case needs a haproxy.cfg and a request", path)
	}
	for i := range c.steps {
		c.steps[i].response = responses[c.steps[i].key]
	}
	return c
}

// check sends the case's requests to addr and compares the responses and
// the logs; dir is the directory the proxy read the case's files from.
func (c *luaCase) check(t *testing.T, addr, dir string, log *syncBuffer) {
	for _, st := range c.steps {
		got := strings.ReplaceAll(st.send(t, addr), dir, "{dir}")
		if st.tcp {
			if got != st.response {
				t.Errorf("request%s:\n got: %q\nwant: %q", st.key, got, st.response)
			}
			continue
		}
		if d := diffHTTP(got, st.response); d != "" {
			t.Errorf("request%s: %s\n got:\n%s\nwant:\n%s", st.key, d, got, st.response)
		}
	}
	for _, want := range c.logs {
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(strings.ReplaceAll(log.String(), dir, "{dir}"), want) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if out := strings.ReplaceAll(log.String(), dir, "{dir}"); !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
}

// update rewrites the case's responses with HAProxy's.
func (c *luaCase) update(t *testing.T, path string) {
	addr, dir, _ := runHAProxyCase(t, c.cfg, c.files)
	got := map[string]string{}
	for _, st := range c.steps {
		got[st.key] = strings.ReplaceAll(st.send(t, addr), dir, "{dir}")
	}
	var files []txtar.File
	for _, f := range c.ar.Files {
		if strings.HasPrefix(f.Name, "response") {
			continue
		}
		files = append(files, f)
		if key, ok := strings.CutPrefix(f.Name, "request"); ok {
			files = append(files, txtar.File{Name: "response" + key, Data: []byte(got[key])})
		}
	}
	c.ar.Files = files
	if err := os.WriteFile(path, txtar.Format(c.ar), 0o644); err != nil {
		t.Fatal(err)
	}
}

// send runs the step on a new connection and returns the response in the
// case file's form.
func (st caseStep) send(t *testing.T, addr string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, st.request); err != nil {
		t.Fatal(err)
	}
	if st.tcp {
		_ = conn.(*net.TCPConn).CloseWrite()
		b, _ := io.ReadAll(conn)
		return string(b)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return "no response: " + err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		body = append(body, "\n<body error: "+err.Error()+">"...)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", resp.Proto, resp.Status)
	var hdrs []string
	for name, vs := range resp.Header {
		for _, v := range vs {
			hdrs = append(hdrs, strings.ToLower(name)+": "+v)
		}
	}
	if len(resp.TransferEncoding) > 0 {
		hdrs = append(hdrs, "transfer-encoding: "+strings.Join(resp.TransferEncoding, ", "))
	}
	if resp.ContentLength >= 0 && resp.Header.Get("Content-Length") == "" && len(resp.TransferEncoding) == 0 && resp.Request == nil {
		// net/http moves a response's content-length out of the header
		hdrs = append(hdrs, fmt.Sprintf("content-length: %d", resp.ContentLength))
	}
	sort.Strings(hdrs)
	for _, h := range hdrs {
		b.WriteString(h + "\n")
	}
	b.WriteString("\n")
	b.Write(body)
	b.WriteString("\n")
	return b.String()
}

// diffHTTP compares a response with the expected one (both in the case
// file's form) and says how they differ ("" if they do not).
func diffHTTP(got, want string) string {
	split := func(s string) (string, []string, string) {
		head, body, _ := strings.Cut(s, "\n\n")
		lines := strings.Split(head, "\n")
		hdrs := append([]string(nil), lines[1:]...)
		for i, h := range hdrs {
			if name, v, ok := strings.Cut(h, ":"); ok {
				hdrs[i] = strings.ToLower(name) + ":" + v
			}
		}
		sort.Strings(hdrs)
		return lines[0], hdrs, body
	}
	gl, gh, gb := split(got)
	wl, wh, wb := split(want)
	switch {
	case gl != wl:
		return fmt.Sprintf("status line %q, want %q", gl, wl)
	case strings.Join(gh, "\n") != strings.Join(wh, "\n"):
		return fmt.Sprintf("headers %q, want %q", gh, wh)
	case !bytes.Equal([]byte(gb), []byte(wb)):
		return fmt.Sprintf("body %q, want %q", gb, wb)
	}
	return ""
}

// runHAProxyCase runs HAProxy on a case (skipping the test when it is not
// installed) and returns its frontend's address, the directory of the
// case's files and its output.
func runHAProxyCase(t *testing.T, cfg string, files map[string]string) (string, string, *syncBuffer) {
	t.Helper()
	return runHAProxyIn(t, cfg, files)
}
