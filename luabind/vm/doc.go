// Package vm is the boundary between Go and PUC Lua 5.3: the only package
// that imports "C". It creates states with a byte-counting allocator, runs
// invocations in coroutines under a forced-yield count hook, and lets Lua
// call Go through one C trampoline.
//
// # Who may touch a state
//
// A State and all its coroutines are used by one goroutine at a time: hold
// State.Lock around everything done from the host (NewCo, pushes, Resume,
// reading results, Close). Go functions called from Lua run with the lock
// already held by their caller. No Go code may block while it holds the
// lock: a function that must wait returns Call.Yield(wait, k), the host
// releases the lock, runs wait, re-takes the lock and resumes; k then runs
// as the function's continuation. A function whose results Go can make
// once it waited (a line, nothing after a sleep) returns
// Call.YieldResolved(wait, resolve) instead: after wait the host calls
// Co.Resolve, which pushes the results (or says to wait again), and the
// resume hands them to Lua as the call's results, with no call back into
// Go.
//
// # How errors cross
//
// A longjmp never crosses a Go frame and a Go panic never crosses a C frame.
// Lua calls Go through a C trampoline (lrt.c: a light C function per Go
// function id, or a closure holding the id), which marshals the arguments
// into a C frame and calls goCall. Go returns a verdict: n results, raise, or yield.
// Results and error values are not pushed by Go: they are appended as ops to
// a C buffer and pushed by C after Go returns, so an allocation failure or
// an erroring __gc finalizer during a push raises on C frames only. Go
// panics are recovered into Lua errors ("go panic: ..."). The host's own
// entries (loading, pushing arguments, tracebacks, collection) run in C
// under lua_pcall with the memory cap lifted.
//
// # Deferred calls
//
// A class method that only writes (txn.http:req_set_header) may carry a
// Deferral: when a call of it passes every check C can make (the root
// thread of an invocation that allowed it with Co.AllowDeferred, the
// allowed object, string arguments), C queues it instead of calling Go,
// and the state applies the queue in order before any Go code could see
// the effect: after each resume, before each Go function Lua calls, after
// a collection. Any other call goes to Go as usual, with Go's errors. A
// deferred call may return its last argument's length (AppletTCP.send);
// its strings may reach Go without a copy (Deferral.Transient).
//
// # Lent tables
//
// The root thread of an invocation lends, per class, the table of a view
// (txn.f, txn.http: View) and of an object pushed once per invocation
// (a TXN, an applet: Class.Lent) to its next invocation: the same table,
// emptied of the fields a script set or the class cached, with the new
// handle in [0]. A request's objects then cost no Lua allocation and
// leave no garbage. A second one of a class in an invocation, or one
// made on a script's coroutine, is a new table.
//
// # Yields
//
// The count hook (pure C) yields only on the invocation's root coroutine and
// only where lua_isyieldable; elsewhere it only checks the Lua-time budget.
// A budget overrun kills by yielding with reason "timeout" (pcall cannot
// catch a yield), raising "execution timeout" only where it cannot yield.
// A script's own coroutine.resume never sees a forced yield.
//
// # Types
//
//	Lua             Go (Call readers)              Go (Pusher)
//	nil / none      IsNoneOrNil                    PushNil
//	boolean         Bool                           PushBool
//	number int      Integer (Lua's coercions)      PushInteger
//	number float    Number                         PushNumber
//	string          String (copy*), Bytes (view)   PushString, PushBytes
//	table           Value (map[any]any)            NewTable, Field, SetIndex
//	HAProxy object  Class.Check                    Class.Push
//	any value       Ref (registry anchor)          PushRef
//	Go function     -                              PushFunction
//
// * Short strings come from a per-state cache of copies, so a string passed
// on every call is copied once.
//
// Numbers convert to strings as Lua does ("%.14g", "1.0" for integral
// floats); strings convert to numbers as lua_stringtonumber does.
package vm
