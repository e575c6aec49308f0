package core

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"luaproxy/core/config"
)

// LogTarget is one "log" destination: stdout/stderr, or a syslog server
// over UDP (ip:port) or a unix datagram socket.
type LogTarget struct {
	// Addr is "stdout", "stderr", "udp" or "unix" destination address.
	Kind, Addr string
	// Format is rfc3164 (default), raw, short, priority, timed, iso or rfc5424.
	Format   string
	Facility int
	// MaxLevel drops messages less important than it (default debug);
	// MinLevel raises more important ones down to it.
	MaxLevel, MinLevel int
	// Len truncates messages (default 1024).
	Len int

	mu   sync.Mutex
	w    io.Writer // stdout/stderr
	conn net.Conn  // syslog
}

var facilities = []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}

func levelIndex(name string) int {
	for i, n := range LevelNames {
		if n == name {
			return i
		}
	}
	return -1
}

// parseLogTarget parses the words after "log": <target> [len N]
// [format F] [sample R:S] <facility> [max level [min level]].
func parseLogTarget(l config.Line, args []string) (*LogTarget, error) {
	if len(args) < 2 {
		return nil, l.Errorf("'log' expects either <address[:port]> and <facility> or 'global' as arguments.")
	}
	t := &LogTarget{Format: "rfc3164", MaxLevel: LogDebug, MinLevel: LogEmerg, Len: 1024}
	switch addr := args[0]; {
	case addr == "stdout" || addr == "stderr":
		t.Kind = addr
		if addr == "stdout" {
			t.w = os.Stdout
		} else {
			t.w = os.Stderr
		}
	case strings.HasPrefix(addr, "/") || strings.HasPrefix(addr, "unix@"):
		t.Kind, t.Addr = "unix", strings.TrimPrefix(addr, "unix@")
	default:
		a := strings.TrimPrefix(strings.TrimPrefix(addr, "udp@"), "udp4@")
		if _, _, err := net.SplitHostPort(a); err != nil {
			a = net.JoinHostPort(strings.Trim(a, "[]"), "514")
		}
		t.Kind, t.Addr = "udp", a
	}
	rest := args[1:]
	for len(rest) >= 2 {
		switch rest[0] {
		case "len":
			n, err := strconv.Atoi(rest[1])
			if err != nil || n < 80 || n > 65535 {
				return nil, l.Errorf("'log' : invalid 'len' value '%s'.", rest[1])
			}
			t.Len = n
		case "format":
			switch rest[1] {
			case "rfc3164", "raw", "short", "priority", "timed", "iso", "rfc5424", "local":
				t.Format = rest[1]
			default:
				return nil, l.Errorf("'log' : unknown log format '%s'", rest[1])
			}
		case "sample":
			// sampling is accepted and not applied
		default:
			goto facility
		}
		rest = rest[2:]
	}
facility:
	if len(rest) == 0 {
		return nil, l.Errorf("'log' expects <facility> as argument.")
	}
	t.Facility = -1
	for i, f := range facilities {
		if f == rest[0] {
			t.Facility = i
		}
	}
	if t.Facility < 0 {
		return nil, l.Errorf("unknown log facility '%s'", rest[0])
	}
	if len(rest) > 1 {
		if t.MaxLevel = levelIndex(rest[1]); t.MaxLevel < 0 {
			return nil, l.Errorf("unknown optional log level '%s'", rest[1])
		}
	}
	if len(rest) > 2 {
		if t.MinLevel = levelIndex(rest[2]); t.MinLevel < 0 {
			return nil, l.Errorf("unknown optional minimum log level '%s'", rest[2])
		}
	}
	if len(rest) > 3 {
		return nil, l.Errorf("'log' : unexpected argument '%s'", rest[3])
	}
	return t, nil
}

// Send writes one message at a level, in the target's format. Errors are
// dropped, as syslog over UDP does.
func (t *LogTarget) Send(level int, pid int, now time.Time, msg string) {
	if level > t.MaxLevel {
		return
	}
	if level < t.MinLevel {
		level = t.MinLevel
	}
	pri := t.Facility*8 + level
	var b []byte
	switch t.Format {
	case "raw":
	case "short":
		b = fmt.Appendf(b, "<%d>", pri)
	case "priority":
		b = fmt.Appendf(b, "<%d>", pri)
	case "timed", "iso":
		b = fmt.Appendf(b, "<%d>%s ", pri, now.Format(time.RFC3339))
	case "rfc5424":
		host, _ := os.Hostname()
		b = fmt.Appendf(b, "<%d>1 %s %s haproxy %d - - ", pri, now.Format("2006-01-02T15:04:05.000000-07:00"), host, pid)
	default: // rfc3164
		b = fmt.Appendf(b, "<%d>%s haproxy[%d]: ", pri, now.Format(time.Stamp), pid)
	}
	b = append(b, msg...)
	if len(b) > t.Len-1 {
		b = b[:t.Len-1]
	}
	b = append(b, '\n')
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.w != nil {
		_, _ = t.w.Write(b)
		return
	}
	if t.conn == nil {
		network := "udp"
		if t.Kind == "unix" {
			network = "unixgram"
		}
		c, err := net.Dial(network, t.Addr)
		if err != nil {
			return
		}
		t.conn = c
	}
	_, _ = t.conn.Write(b)
}

// sendLog sends a process message (server state changes, ...) to the
// global log targets.
func (e *Engine) sendLog(level int, msg string) {
	now := time.Now()
	for _, t := range e.Logs {
		t.Send(level, e.pid, now, msg)
	}
}

// SendErr reports an error of a script or a rule at run time as
// HAProxy's SEND_ERR does: an alert on stderr, and the same message at
// level err to px's log targets (the global ones when px is nil), where
// operators watching their syslog see it.
func (e *Engine) SendErr(px *Proxy, msg string) {
	e.Log.Alert("%s", msg)
	if px == nil {
		e.sendLog(LogErr, msg)
		return
	}
	px.SendLog(e, LogErr, msg)
}

// SendLog sends msg at level to the proxy's log targets (the global ones
// for "log global"); with no target, nothing is sent.
func (px *Proxy) SendLog(e *Engine, level int, msg string) {
	now := time.Now()
	for _, t := range px.Logs {
		t.Send(level, e.pid, now, msg)
	}
}

// parseProxyLog parses "log global", "log <target> ..." and "no log".
func (e *Engine) parseProxyLog(px *Proxy, l config.Line) error {
	if len(l.Args) == 2 && l.Args[1] == "global" {
		px.logGlobal = true
		return nil
	}
	t, err := parseLogTarget(l, l.Args[1:])
	if err != nil {
		return err
	}
	px.Logs = append(px.Logs, t)
	return nil
}
