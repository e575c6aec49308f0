//go:build lua53

package vm

import (
	"errors"
	"fmt"
)

// Outcome is how a resume of a coroutine ended.
type Outcome int

const (
	// OK: the function returned; its results are on the coroutine's stack.
	OK Outcome = iota
	// Yield: the coroutine is suspended; see Co.Reason and Co.Wait.
	Yield
	// Timeout: the Lua-time budget is exhausted; the coroutine was killed.
	Timeout
	// BurstTimeout: one resume ran longer than the burst budget; killed.
	BurstTimeout
	// NoMemory: the memory cap was hit outside any pcall.
	NoMemory
	// YieldNotAllowed: the coroutine yielded where the host cannot wait
	// (fetches, converters); it was killed.
	YieldNotAllowed
	// Failed: a runtime error; Co.Err has the message and traceback.
	Failed
)

var outcomeNames = [...]string{"ok", "yield", "execution timeout", "burst timeout", "not enough memory", "yield not allowed", "runtime error"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// Reason says why a coroutine yielded.
type Reason int

const (
	// ReasonLua: the script called coroutine.yield() from the invocation's
	// own coroutine; resume it when convenient.
	ReasonLua Reason = iota
	// ReasonForced: the count hook interrupted it; let other work run first.
	ReasonForced
	reasonTimeout
	// ReasonGo: a Go function yielded; run Co.Wait, then resume.
	ReasonGo
	reasonBurst
)

// Error is a Lua error seen by the host.
type Error struct {
	Outcome   Outcome
	Message   string // the error value as a string
	Traceback string // "stack traceback:\n\t..." when available
	// Where is HAProxy's one-line trace ("file:1: in global 'error', ..."),
	// used in its "runtime error: <msg> from <where>" log lines.
	Where string
}

func (e *Error) Error() string { return e.Message }

// Is lets errors.Is(err, ErrTimeout) and friends match by outcome.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) {
		return t.Message == "" && t.Outcome == e.Outcome
	}
	return false
}

// Sentinels for errors.Is.
var (
	ErrTimeout         = &Error{Outcome: Timeout}
	ErrNoMemory        = &Error{Outcome: NoMemory}
	ErrYieldNotAllowed = &Error{Outcome: YieldNotAllowed}
)

// argError is raised through luaL_argerror so the message reads like Lua's
// own: "bad argument #2 to 'append' (string expected, got nil)".
type argError struct {
	arg int
	msg string
}

func (e *argError) Error() string { return fmt.Sprintf("bad argument #%d (%s)", e.arg, e.msg) }

// rawError raises a value as is, without position information.
type rawError struct{ msg string }

func (e *rawError) Error() string { return e.msg }

// RawError returns an error raised as the string msg, with no "file:line:"
// prefix (errors are otherwise prefixed like luaL_error does).
func RawError(msg string) error { return &rawError{msg} }
