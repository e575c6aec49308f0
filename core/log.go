package core

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Log levels, in syslog order (HAProxy's names).
const (
	LogEmerg = iota
	LogAlert
	LogCrit
	LogErr
	LogWarning
	LogNotice
	LogInfo
	LogDebug
)

// LevelNames are HAProxy's names of the log levels, indexed by level.
var LevelNames = [...]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// Logger writes the process's own messages on stderr in HAProxy's shapes.
// It is safe for concurrent use.
type Logger struct {
	mu  sync.Mutex
	w   io.Writer
	pid int
	// Quiet drops notices and below (HAProxy's -q), and the scripts'
	// messages (Level).
	Quiet bool
	// Debug lets scripts' debug-level messages through (HAProxy's -d);
	// without it Level drops them, as HAProxy does.
	Debug bool
	// Now is the clock (tests replace it).
	Now func() time.Time
}

// NewLogger returns a logger writing to w (os.Stderr when nil).
func NewLogger(w io.Writer) *Logger {
	if w == nil {
		w = os.Stderr
	}
	return &Logger{w: w, pid: os.Getpid(), Now: time.Now}
}

func (l *Logger) write(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = io.WriteString(l.w, s)
}

// process writes "[ALERT]    (pid) : msg" as HAProxy's ha_alert() does: the
// bracketed tag is padded to 11 columns.
func (l *Logger) process(tag, msg string) {
	msg = strings.TrimRight(msg, "\n")
	l.write(fmt.Sprintf("%-11s(%d) : %s\n", "["+tag+"]", l.pid, msg))
}

// Alert logs a fatal or serious condition.
func (l *Logger) Alert(format string, a ...any) { l.process("ALERT", fmt.Sprintf(format, a...)) }

// Warning logs a warning.
func (l *Logger) Warning(format string, a ...any) { l.process("WARNING", fmt.Sprintf(format, a...)) }

// Notice logs a notice (dropped when Quiet).
func (l *Logger) Notice(format string, a ...any) {
	if !l.Quiet {
		l.process("NOTICE", fmt.Sprintf(format, a...))
	}
}

// Level writes a message sent to stderr by a script (core.log and friends
// when no logger applies): "[alert] 324/214829 (pid) : msg", with the day of
// the year counted from 0, as HAProxy prints it.
func (l *Logger) Level(level int, msg string) {
	if level < 0 {
		return // core.silent
	}
	if level == LogDebug && !l.Debug {
		return
	}
	if level >= len(LevelNames) {
		level = LogDebug
	}
	if l.Quiet || level == LogDebug && !l.Debug {
		return // as HAProxy's hlua_sendlog: debug only under -d
	}
	t := l.Now()
	l.write(fmt.Sprintf("[%s] %03d/%02d%02d%02d (%d) : %s\n", LevelNames[level], t.YearDay()-1,
		t.Hour(), t.Minute(), t.Second(), l.pid, strings.TrimRight(msg, "\n")))
}
