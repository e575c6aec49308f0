package config

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// Limits on the input.
const (
	// MaxLineLength is the longest line accepted, in bytes, without its LF.
	MaxLineLength = 64 * 1024
	// MaxNestedConds is one more than the deepest nesting of ".if" blocks
	// (HAProxy's MAXNESTEDCONDS).
	MaxNestedConds = 128
	// maxFatal is how many fatal errors one file may have before its
	// parsing stops.
	maxFatal = 50
)

// Config is the parsed configuration: sections of tokenized statements.
type Config struct {
	Sections []*Section // in file order, across all files
	Warnings []*Error   // non-fatal messages: warnings, notices and diagnostics, in order
	Files    []string   // the files read, in order (what HAProxy exports as HAPROXY_CFGFILES)
}

// ByKind returns the sections of the given kind ("backend", ...) in order.
func (c *Config) ByKind(kind string) []*Section {
	var out []*Section
	for _, s := range c.Sections {
		if s.Kind == kind {
			out = append(out, s)
		}
	}
	return out
}

// ParseFiles reads each path in order, as "haproxy -f" does. A directory
// stands for the regular files directly in it whose names end in ".cfg" and
// do not start with a dot, in lexical order. Sections do not continue across
// files, but names (proxies, defaults sections) and the environment set by
// the global section do.
//
// The returned *Config is never nil: it holds what was read, even on error.
// The error is nil, one *Error, or an errors.Join of *Error values.
func ParseFiles(paths ...string) (*Config, error) {
	p := newParser()
	for _, path := range paths {
		if p.aborted {
			break
		}
		fi, err := os.Stat(path)
		if err != nil {
			p.abort(&Error{File: path, Msg: fmt.Sprintf("Cannot open configuration file/directory %s : %s", path, errText(err))})
			break
		}
		if !fi.IsDir() {
			p.readFile(path)
			continue
		}
		entries, err := os.ReadDir(path)
		if err != nil {
			p.abort(&Error{File: path, Msg: fmt.Sprintf("Cannot open configuration directory %s : %s", path, errText(err))})
			break
		}
		for _, ent := range entries { // ReadDir sorts by name
			name := ent.Name()
			// HAProxy compat: the first ".cfg" in the name must end it,
			// so "a.cfg.cfg" is skipped.
			if name[0] == '.' || !strings.HasSuffix(name, ".cfg") || strings.Index(name, ".cfg") != len(name)-4 {
				continue
			}
			file := path + "/" + name // HAProxy compat: "%s/%s", even after a trailing slash
			fi, err := os.Stat(file)
			if err != nil {
				p.abort(&Error{File: file, Msg: fmt.Sprintf("Cannot open configuration file %s : %s", file, errText(err))})
				break
			}
			if fi.Mode().IsRegular() {
				p.readFile(file)
			}
			if p.aborted {
				break
			}
		}
	}
	return p.cfg, joinErrors(p.errs)
}

// Parse parses one configuration file held in memory; name is used in
// messages. It is ParseFiles for a single file.
func Parse(name string, data []byte) (*Config, error) {
	p := newParser()
	p.parse(name, data)
	return p.cfg, joinErrors(p.errs)
}

// errText returns the system's reason for a failed file operation, like
// strerror().
func errText(err error) string {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// parser holds the state that spans files.
type parser struct {
	cfg     *Config
	errs    []*Error
	aborted bool // a fatal error that stops everything (HAProxy's ERR_ABORT)
	env     envOverlay
	proxies proxyIndex
}

func newParser() *parser {
	return &parser{cfg: &Config{}}
}

func (p *parser) readFile(name string) {
	data, err := os.ReadFile(name)
	if err != nil {
		p.abort(&Error{File: name, Msg: fmt.Sprintf("Could not open configuration file %s : %s", name, errText(err))})
		return
	}
	p.parse(name, data)
}

// abort records a fatal error after which nothing more is read.
func (p *parser) abort(e *Error) {
	p.errs = append(p.errs, e)
	p.aborted = true
}

func (p *parser) warn(e *Error) {
	p.cfg.Warnings = append(p.cfg.Warnings, e)
}

// fileState is the state of one file being read: sections and conditional
// blocks end with the file.
type fileState struct {
	name    string
	lineNum int
	cur     *Section // section receiving statements, nil before the first
	section string   // value of ${.SECTION}
	conds   []condState
	fatal   int // fatal errors in this file
	stop    bool
}

// fail records a fatal error; parsing goes on with the next line.
func (p *parser) fail(f *fileState, e *Error) {
	p.errs = append(p.errs, e)
	f.fatal++
}

// parse reads one file's content.
func (p *parser) parse(name string, data []byte) {
	p.cfg.Files = append(p.cfg.Files, name)
	f := &fileState{name: name}
	for len(data) > 0 && !f.stop && !p.aborted {
		seg := data
		hasLF := false
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			seg, data, hasLF = data[:i], data[i+1:], true
		} else {
			data = nil
		}
		f.lineNum++
		if f.fatal >= maxFatal {
			p.errs = append(p.errs, p.at(f).Errorf("too many fatal errors (%d), stopping now.", f.fatal))
			break
		}
		if len(seg) > MaxLineLength {
			p.fail(f, p.at(f).Errorf("line too long (%d bytes), the limit is %d.", len(seg), MaxLineLength))
			continue
		}
		nul := bytes.IndexByte(seg, 0)
		if nul >= 0 {
			seg = seg[:nul] // HAProxy compat: the line ends at the NUL...
		}
		p.line(f, string(seg))
		switch {
		case nul >= 0 && len(data) > 0:
			// ...and is reported when the next line is read.
			p.fail(f, p.at(f).Errorf("Stray NUL character at position %d.", nul+1))
			f.stop = true
		case nul >= 0 || !hasLF:
			// HAProxy compat: a last line without LF is fatal since 2.3.
			p.fail(f, p.at(f).Errorf("Missing LF on last line, file might have been truncated at position %d.", len(seg)+1))
		}
	}
	if len(f.conds) > 0 && !p.aborted {
		p.abort(p.at(f).Errorf("non-terminated '.if' block."))
	}
}

// at returns a Line locating messages at the current line of f.
func (p *parser) at(f *fileState) Line {
	return Line{File: f.name, Num: f.lineNum}
}

// line processes one line of text, without its LF.
func (p *parser) line(f *fileState, raw string) {
	words, terr := splitWords(raw, skipSpaces(raw, 0), p.env.lookup, f.pseudo)
	if terr != nil {
		p.fail(f, p.at(f).Errorf("%s", terr.Msg))
		return
	}
	// HAProxy compat: a line whose first word is empty, even "", is blank.
	if len(words) == 0 || words[0] == "" {
		return
	}
	l := Line{File: f.name, Num: f.lineNum, Args: words}
	if words[0][0] == '.' && p.condDirective(f, l) {
		return
	}
	if f.masked() {
		return
	}
	if words[0][0] == '.' {
		p.directive(f, l)
		return
	}
	if SectionKinds[words[0]] {
		p.openSection(f, l)
		return
	}
	if f.cur == nil {
		p.fail(f, l.Errorf("unknown keyword '%s' out of section.", words[0]))
		return
	}
	f.cur.Lines = append(f.cur.Lines, l)
	if f.cur.Kind == "global" {
		p.env.apply(l.EffectiveArgs())
	}
}

// pseudo resolves the pseudo-variables ${.FILE}, ${.LINE} and ${.SECTION}.
func (f *fileState) pseudo(name string) (string, bool) {
	switch name {
	case ".FILE":
		return f.name, true
	case ".LINE":
		return strconv.Itoa(f.lineNum), true
	case ".SECTION":
		// Unset before the first section, like HAProxy's NULL.
		return f.section, f.section != ""
	}
	return "", false
}

// directive handles the message directives: .diag, .notice, .warning and
// .alert, and rejects unknown ones.
func (p *parser) directive(f *fileState, l Line) {
	args := l.EffectiveArgs()
	level := ""
	switch args[0] {
	case ".alert":
		level = LevelAlert
	case ".warning":
		level = LevelWarning
	case ".notice":
		level = LevelNotice
	case ".diag":
		level = LevelDiag
	default:
		p.fail(f, l.Errorf("unknown directive '%s'.", args[0]))
		f.stop = true
		return
	}
	if len(args) > 2 {
		p.fail(f, l.Errorf("Unexpected argument '%s' for '%s'. Use quotes if the message should contain spaces.", args[2], args[0]))
		return
	}
	msg := ""
	if len(args) > 1 {
		msg = args[1]
	}
	e := l.Errorf("'%s'.", msg)
	if level == LevelAlert {
		p.abort(e)
		return
	}
	e.Warning, e.Level = true, level
	p.warn(e)
}
