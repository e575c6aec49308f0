package core

import (
	"fmt"
	"strings"
	"sync"

	"luaproxy/core/config"
	"luaproxy/core/sample"
)

// Log formats (manual 8.2): "log-format", and the formats of "option
// tcplog", "option httplog" and "option httplog clf", rendered by the
// sample package's format engine with the % variables of logvars.go.

// The default formats, as HAProxy 2.6 defines them (src/log.c).
const (
	tcpLogFormat  = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq"
	httpLogFormat = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r"
	clfLogFormat  = `%{+Q}o %{-Q}ci - - [%trg] %r %ST %B "" "" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl`
)

// logFormat is a compiled log format: text parts and separators. As in
// HAProxy, a run of spaces is one separator, written only when something
// other than a separator was written before it.
type logFormat struct {
	text string
	segs []logSeg
}

type logSeg struct {
	sep bool
	f   *sample.Format
}

// compileLogFormat parses a log-format string for proxy px (sc may be nil
// for formats without sample expressions).
func compileLogFormat(s string, sc *sample.Scope) (*logFormat, error) {
	lf := &logFormat{text: s}
	s = applyGlobalOpts(s)
	var cur strings.Builder
	flush := func() error {
		if cur.Len() == 0 {
			return nil
		}
		f, err := sample.ParseFormatIn(cur.String(), sc)
		if err != nil {
			return err
		}
		if err := f.Check(sample.FELogEnd); err != nil {
			return err
		}
		lf.segs = append(lf.segs, logSeg{f: f})
		cur.Reset()
		return nil
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '[' && i > 0 && (s[i-1] == '%' || s[i-1] == '}'):
			depth++
		case c == ']' && depth > 0:
			depth--
		case c == ' ' && depth == 0:
			if err := flush(); err != nil {
				return nil, err
			}
			if n := len(lf.segs); n == 0 || !lf.segs[n-1].sep {
				lf.segs = append(lf.segs, logSeg{sep: true})
			}
			continue
		}
		cur.WriteByte(c)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return lf, nil
}

// applyGlobalOpts expands "%{...}o" (options for every following
// variable): it is removed, and its options are prepended to those of
// each later "%X" or "%[...]".
//
// It also renames the variables whose names start with another one's
// ("%tr" and "%t"), which the sample parser would split, to their
// registered aliases (see logVarAliases).
func applyGlobalOpts(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	global := ""
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		if s[i+1] == '%' {
			b.WriteString("%%")
			i++
			continue
		}
		own := ""
		j := i + 1
		if s[j] == '{' {
			end := strings.IndexByte(s[j:], '}')
			if end < 0 {
				b.WriteString(s[i:])
				break
			}
			own = s[j+1 : j+end]
			j += end + 1
		}
		if j < len(s) && s[j] == 'o' && (j+1 >= len(s) || !isLetter(s[j+1])) {
			global = joinOpts(global, own)
			i = j
			// the separator after "%{+Q}o" goes with it
			if i+1 < len(s) && s[i+1] == ' ' {
				i++
			}
			continue
		}
		opts := joinOpts(global, own)
		b.WriteByte('%')
		if opts != "" {
			b.WriteString("{" + opts + "}")
		}
		k := j
		for k < len(s) && isLetter(s[k]) {
			k++
		}
		if alias, ok := logVarAliases[s[j:k]]; ok {
			b.WriteString(alias)
			i = k - 1
			continue
		}
		i = j - 1
	}
	return b.String()
}

// logVarAliases are the names under which the variables that the sample
// parser would split ("%trg" read as "%t" "rg") are registered: names no
// known variable is a prefix of.
var logVarAliases = map[string]string{"tr": "xtr", "trg": "xtrg", "trl": "xtrl", "Tl": "xTl"}

func joinOpts(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "," + b
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// render appends the log line of ctx to dst.
func (lf *logFormat) render(ctx *sample.Ctx, dst []byte) []byte {
	lastSpace := true
	for _, sg := range lf.segs {
		if sg.sep {
			if !lastSpace {
				dst = append(dst, ' ')
				lastSpace = true
			}
			continue
		}
		n := len(dst)
		dst = sg.f.RenderMode(ctx, dst, sample.ModeLog)
		if len(dst) > n {
			lastSpace = false
		}
	}
	return dst
}

var defaultFormats struct {
	once           sync.Once
	tcp, http, clf *logFormat
}

func builtinFormat(which string) *logFormat {
	defaultFormats.once.Do(func() {
		mk := func(s string) *logFormat {
			lf, err := compileLogFormat(s, nil)
			if err != nil {
				panic(fmt.Sprintf("core: built-in log format %q: %v", s, err))
			}
			return lf
		}
		defaultFormats.tcp = mk(tcpLogFormat)
		defaultFormats.http = mk(httpLogFormat)
		defaultFormats.clf = mk(clfLogFormat)
	})
	switch which {
	case "tcp":
		return defaultFormats.tcp
	case "clf":
		return defaultFormats.clf
	}
	return defaultFormats.http
}

// parseLogFormat parses the "log-format <fmt>" keyword.
func (e *Engine) parseLogFormat(px *Proxy, l config.Line) error {
	if len(l.Args) != 2 {
		return l.Errorf("'log-format' expects one argument (the format string); use quotes to write spaces")
	}
	x := pxExtOf(px)
	x.logFormat, x.logFormatLine, x.hasLogFormat = l.Args[1], l, true
	if px.Kind == "defaults" {
		// checked now; compiled again in each proxy using it
		if _, err := compileLogFormat(l.Args[1], nil); err != nil {
			return l.Errorf("failed to parse log-format : %v.", err)
		}
		return nil
	}
	lf, err := compileLogFormat(l.Args[1], e.scopeOf(px))
	if err != nil {
		return l.Errorf("failed to parse log-format : %v.", err)
	}
	x.lf = lf
	return nil
}

// logFormatOf returns the format of px's log lines: its log-format, else
// the one its options select; nil means the legacy "Connect from" line.
func (e *Engine) logFormatOf(px *Proxy) *logFormat {
	x := pxExtOf(px)
	if x.hasLogFormat {
		return x.lf
	}
	o := px.Options
	switch {
	case o.HTTPLog && o.CLF:
		return builtinFormat("clf")
	case o.HTTPLog && px.Mode == "http":
		return builtinFormat("http")
	case o.TCPLog || o.HTTPLog:
		return builtinFormat("tcp")
	}
	return nil
}

// httpOnlyLogVars are the log-format variables HAProxy 2.6 refuses in a
// TCP proxy.
var httpOnlyLogVars = map[string]bool{
	"Ti": true, "TR": true, "Tq": true, "Tr": true, "Ta": true, "CC": true, "CS": true,
	"HM": true, "HP": true, "HPO": true, "HQ": true, "HU": true, "HV": true, "r": true,
}

// checkLogFormatMode fails, as HAProxy does once the configuration is
// read, when the log-format of a TCP frontend uses an HTTP-only variable.
func checkLogFormatMode(px *Proxy) error {
	x := pxExtOf(px)
	if !x.hasLogFormat || px.Mode != "tcp" || px.Cap&CapFE == 0 {
		return nil
	}
	s := x.logFormat
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 >= len(s) {
			continue
		}
		j := i + 1
		if s[j] == '%' {
			i = j
			continue
		}
		if s[j] == '{' {
			end := strings.IndexByte(s[j:], '}')
			if end < 0 {
				return nil
			}
			j += end + 1
		}
		k := j
		for k < len(s) && isLetter(s[k]) {
			k++
		}
		if name := s[j:k]; httpOnlyLogVars[name] {
			l := x.logFormatLine
			return fmt.Errorf("Parsing [%s:%d]: failed to parse log-format : format variable '%s' is reserved for HTTP mode.", l.File, l.Num, name)
		}
		i = k - 1
	}
	return nil
}
