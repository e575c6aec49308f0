package core

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
)

// The runtime API (HAProxy's "stats socket" CLI): a registry of commands,
// which the engine's own commands and other packages (luabind's
// core.register_cli, the pattern package's map and ACL commands) fill, and
// the usage messages HAProxy 2.6 prints for "help" and unknown commands.

// CLILevel is the access level of a runtime API session, the "level" of
// "stats socket".
type CLILevel int

// The access levels, lowest first.
const (
	CLIUser     CLILevel = 1 + iota // "user": read-only commands
	CLIOperator                     // "operator": the default, some non-intrusive actions
	CLIAdmin                        // "admin": everything
)

var levelNames = map[CLILevel]string{CLIUser: "user", CLIOperator: "operator", CLIAdmin: "admin"}

// String returns the level's name ("admin").
func (l CLILevel) String() string {
	if n, ok := levelNames[l]; ok {
		return n
	}
	return "unknown"
}

// ParseCLILevel returns the level named name ("user", "operator", "admin").
func ParseCLILevel(name string) (CLILevel, bool) {
	for l, n := range levelNames {
		if n == name {
			return l, true
		}
	}
	return 0, false
}

// CLIHandler runs one command. It writes its answer to r (HAProxy's text,
// trailing newline included when HAProxy prints one: the session then adds
// the empty line that ends each answer). It runs on the session's goroutine
// and may block, e.g. waiting for a Lua state.
type CLIHandler func(r *CLIRequest)

// CLICommand is one runtime API command.
type CLICommand struct {
	// Words are the keywords selecting the command ("show", "info"); the
	// words typed after them are its arguments. At most 5.
	Words []string
	// Usage is the line "help" prints, in HAProxy's layout: the syntax
	// padded to 40 columns, then ": " and a description. An empty Usage
	// hides the command from the help (as HAProxy does for
	// "experimental-mode").
	Usage string
	// Level is the lowest session level allowed to run the command; a lower
	// session gets "Permission denied".
	Level CLILevel
	// Experimental commands need "experimental-mode on" first and are
	// hidden from the help until then.
	Experimental bool
	// Fn runs the command.
	Fn CLIHandler
}

// cliMaxWords is HAProxy's CLI_PREFIX_KW_NB: the most keywords a command
// has.
const cliMaxWords = 5

var cliReg struct {
	mu   sync.RWMutex
	cmds []*CLICommand
}

// RegisterCLI adds a command to the runtime API of every engine. A command
// registered again with the same words replaces the previous one.
func RegisterCLI(c CLICommand) {
	if len(c.Words) == 0 || len(c.Words) > cliMaxWords || c.Fn == nil {
		panic(fmt.Sprintf("core: RegisterCLI: bad command %q", c.Words))
	}
	if c.Level == 0 {
		c.Level = CLIUser
	}
	cliReg.mu.Lock()
	defer cliReg.mu.Unlock()
	for i, old := range cliReg.cmds {
		if equalWords(old.Words, c.Words) {
			cliReg.cmds[i] = &c
			return
		}
	}
	cliReg.cmds = append(cliReg.cmds, &c)
}

func equalWords(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func cliCommands() []*CLICommand {
	cliReg.mu.RLock()
	defer cliReg.mu.RUnlock()
	return cliReg.cmds
}

// findCLI returns the command whose words start args, the longest when
// several do (HAProxy takes the first registered; the longest lets a
// module add "show foo bar" next to "show foo").
func findCLI(args []string) *CLICommand {
	var best *CLICommand
	for _, c := range cliCommands() {
		if len(c.Words) > len(args) || !equalWords(c.Words, args[:len(c.Words)]) {
			continue
		}
		if best == nil || len(c.Words) > len(best.Words) {
			best = c
		}
	}
	return best
}

// CLIRequest is one command being run: its words and payload, and where
// its answer goes.
type CLIRequest struct {
	// Engine is the engine whose socket received the command.
	Engine *Engine
	// Args are all the words of the command line, keywords included,
	// unescaped.
	Args []string
	// Payload is the text after a command line ending with "<<", up to the
	// empty line that closes it, lines joined with "\n"; "" when none.
	Payload string

	sess *cliSession
	w    io.Writer
}

// Arg returns word i of the command line, "" past the end (HAProxy's
// parsers see empty words there).
func (r *CLIRequest) Arg(i int) string {
	if i < len(r.Args) {
		return r.Args[i]
	}
	return ""
}

// Write appends p to the answer.
func (r *CLIRequest) Write(p []byte) (int, error) { return r.w.Write(p) }

// Print appends s to the answer.
func (r *CLIRequest) Print(s string) { _, _ = io.WriteString(r.w, s) }

// Printf appends a formatted text to the answer.
func (r *CLIRequest) Printf(format string, a ...any) { _, _ = fmt.Fprintf(r.w, format, a...) }

// Level returns the session's current level.
func (r *CLIRequest) Level() CLILevel {
	if r.sess == nil {
		return CLIAdmin
	}
	return r.sess.level
}

// cliPermissionDenied is HAProxy's cli_permission_denied_msg.
const cliPermissionDenied = "Permission denied\n"

// HAProxy compat: the usage lines of the three commands "help" always
// lists last, and the header lines of its usage messages.
const (
	cliUsageTail = "  help [<command>]                        : list matching or all commands\n" +
		"  prompt                                  : toggle interactive mode with prompt\n" +
		"  quit                                    : disconnect\n"
	cliUsageHelp    = "The following commands are valid at this level:\n"
	cliUsageEmpty   = "Unknown command. Please enter one of the following commands only:\n"
	cliUsageUnknown = "Unknown command, but maybe one of the following ones is a better match:\n"
)

// cliVisible reports whether a command shows in usage messages of a
// session.
func cliVisible(c *CLICommand, s *cliSession) bool {
	return !c.Experimental || (s != nil && s.experimental)
}

// cliUsage builds HAProxy 2.6's usage message (cli_gen_usage_msg) for the
// words args: "help [words]" lists the commands starting with the words,
// an unknown command lists those sharing its longest known prefix and, for
// the next word, the 5 closest by word fingerprint.
func cliUsage(args []string, s *cliSession) string {
	return cliUsageFor(cliCommands(), args, s)
}

// cliUsageFor is cliUsage over the commands cmds, in registration order.
func cliUsageFor(cmds []*CLICommand, args []string, s *cliSession) string {
	isHelp := len(args) > 0 && args[0] == "help"
	if isHelp {
		args = args[1:]
	}
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}

	// the number of leading words that some command matches exactly
	length := 0
	for _, c := range cmds {
		if !cliVisible(c, s) {
			continue
		}
		for i := 0; i < cliMaxWords && i < len(c.Words) && arg(i) != "" && c.Words[i] == arg(i); i++ {
			length = max(length, i+1)
		}
	}

	var b strings.Builder
	switch {
	case isHelp:
		b.WriteString(cliUsageHelp)
	case length == 0 && arg(0) == "":
		b.WriteString(cliUsageEmpty)
	default:
		b.WriteString(cliUsageUnknown)
	}

	prefixMatches := func(c *CLICommand) bool {
		i := 0
		for ; i < length; i++ {
			if i >= len(c.Words) || arg(i) == "" || c.Words[i] != arg(i) {
				break
			}
		}
		return i == length
	}

	type match struct {
		c    *CLICommand
		dist int
	}
	const maxMatches = 5 // CLI_MAX_MATCHES
	matches := make([]match, maxMatches)
	for i := range matches {
		matches[i].dist = math.MaxInt
	}
	if arg(length) != "" {
		for _, c := range cmds {
			if !cliVisible(c, s) || c.Usage == "" || !prefixMatches(c) {
				continue
			}
			var wsig, ksig wordPrint
			totlen := 0
			for i := length; i < cliMaxWords && arg(i) != ""; i++ {
				wsig.add(arg(i))
				totlen += len(arg(i))
			}
			for i := length; i < cliMaxWords && i < len(c.Words); i++ {
				ksig.add(c.Words[i])
				totlen += len(c.Words[i])
			}
			dist := wsig.distance(&ksig)
			if dist < 5*totlen/2 && dist < matches[maxMatches-1].dist {
				matches[maxMatches-1] = match{c, dist}
				for i := maxMatches - 1; i > 0 && matches[i].dist < matches[i-1].dist; i-- {
					matches[i], matches[i-1] = matches[i-1], matches[i]
				}
			}
		}
	}

	var entries []*CLICommand
	if matches[0].c != nil {
		for _, m := range matches {
			if m.c == nil || m.dist > 5*matches[0].dist/2 {
				break
			}
			entries = append(entries, m.c)
		}
	} else {
		for _, c := range cmds {
			if cliVisible(c, s) && c.Usage != "" && prefixMatches(c) {
				entries = append(entries, c)
			}
		}
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].Usage < entries[j].Usage })
	for _, c := range entries {
		b.WriteString("  ")
		b.WriteString(c.Usage)
		b.WriteByte('\n')
	}
	b.WriteString(cliUsageTail)
	return b.String()
}

// wordPrint is HAProxy's word fingerprint (update_word_fingerprint): the
// counts of transitions between character classes (1-26 letters, 27
// digit, 28 other, begin and end), at 32*from+to, and in row 0 the classes
// present.
type wordPrint [32 * 32]uint8

func (fp *wordPrint) add(word string) {
	const edge = 28 // other characters, the beginning and the end
	from := edge
	for i := 0; i < len(word); i++ {
		c := word[i]
		var to int
		switch {
		case c >= 'a' && c <= 'z':
			to = int(c-'a') + 1
		case c >= 'A' && c <= 'Z':
			to = int(c-'A') + 1
		case c >= '0' && c <= '9':
			to = 27
		default:
			to = edge
		}
		fp[to] = 1
		fp[32*from+to]++
		from = to
	}
	fp[32*from+edge]++
}

// distance is HAProxy's word_fingerprint_distance: the sum of the
// differences.
func (fp *wordPrint) distance(o *wordPrint) int {
	d := 0
	for i := range fp {
		k := int(fp[i]) - int(o[i])
		if k < 0 {
			k = -k
		}
		d += k
	}
	return d
}
