package config

import (
	"errors"
	"fmt"
	"strconv"
)

// Message levels, as HAProxy prints them between brackets ("[WARNING]").
const (
	LevelAlert   = "ALERT"   // fatal: the configuration is not usable
	LevelWarning = "WARNING" // counts for "zero-warning"
	LevelNotice  = "NOTICE"  // informative (.notice)
	LevelDiag    = "DIAG"    // shown only in diagnostic mode, -dD (.diag)
)

// Error is one message located in a configuration file. Fatal errors are
// returned by ParseFiles and Parse; the other levels are collected in
// Config.Warnings.
type Error struct {
	File    string // file name as given; "" for messages about no file
	Line    int    // 1-based line number; 0 when the message is about the whole file
	Msg     string // message text, without the location prefix
	Warning bool   // false for fatal errors (LevelAlert), true otherwise

	// Level is one of LevelAlert, LevelWarning, LevelNotice or LevelDiag.
	// "" reads as LevelWarning when Warning is set and LevelAlert otherwise.
	Level string

	// Tight drops the space before the colon after the location
	// ("parsing [f:1]: msg"), as HAProxy prints a few messages (an
	// unknown rule action, extra words after one).
	Tight bool
}

// Error formats e like HAProxy: "parsing [file:line] : message". Messages
// not tied to a line (Line == 0, e.g. a file that cannot be opened) are
// returned as Msg alone, as HAProxy prints them.
func (e *Error) Error() string {
	if e.Line <= 0 {
		return e.Msg
	}
	sep := "] : "
	if e.Tight {
		sep = "]: "
	}
	return "parsing [" + e.File + ":" + strconv.Itoa(e.Line) + sep + e.Msg
}

// Line is one configuration statement, tokenized.
type Line struct {
	File string   // file name as given
	Num  int      // 1-based line number
	Args []string // Args[0] is the keyword (e.g. "bind", "tcp-request"); quoting/escaping/env vars resolved
}

// Errorf returns a fatal error located at l.
func (l Line) Errorf(format string, a ...any) *Error {
	return &Error{File: l.File, Line: l.Num, Msg: fmt.Sprintf(format, a...), Level: LevelAlert}
}

// TightErrorf is Errorf for the messages HAProxy prints without a space
// before the colon ("parsing [f:1]: msg").
func (l Line) TightErrorf(format string, a ...any) *Error {
	e := l.Errorf(format, a...)
	e.Tight = true
	return e
}

// Warnf returns a warning (an Error with Warning set) located at l.
func (l Line) Warnf(format string, a ...any) *Error {
	return &Error{File: l.File, Line: l.Num, Msg: fmt.Sprintf(format, a...), Warning: true, Level: LevelWarning}
}

// String returns the location of l as "file:num".
func (l Line) String() string {
	return l.File + ":" + strconv.Itoa(l.Num)
}

// EffectiveArgs returns Args up to, not including, the first empty word.
//
// Args keeps every word the user wrote, empty ones included (a quoted empty
// string, or a variable that expands to nothing). HAProxy 2.6 keyword parsers see
// words as NUL-terminated C strings, so for them an empty word ends the
// statement: `server s1 1.2.3.4:80 "$OPTS" weight 10` with OPTS unset loses
// "weight 10". Use EffectiveArgs where that exact behaviour matters; this
// package uses it for section headers and directives.
func (l Line) EffectiveArgs() []string {
	for i, a := range l.Args {
		if a == "" {
			return l.Args[:i]
		}
	}
	return l.Args
}

// joinErrors turns a list of fatal errors into one error: nil, the *Error
// itself, or an errors.Join of them.
func joinErrors(errs []*Error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	list := make([]error, len(errs))
	for i, e := range errs {
		list[i] = e
	}
	return errors.Join(list...)
}
