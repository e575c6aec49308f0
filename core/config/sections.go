package config

// SectionKinds lists the keywords that start a section. They are section
// keywords everywhere (manual 2.1): a line starting with one of them ends the
// current section. Only global, defaults, frontend, backend and listen
// headers are checked here; the other kinds are kept as-is for the engine.
// Settable, not while a parse is running.
var SectionKinds = map[string]bool{
	"global":      true,
	"defaults":    true,
	"frontend":    true,
	"backend":     true,
	"listen":      true,
	"userlist":    true,
	"peers":       true,
	"resolvers":   true,
	"program":     true,
	"http-errors": true,
	"ring":        true,
	"mailers":     true,
	"cache":       true,
	"log-forward": true,
	"fcgi-app":    true,
}

// Section is one "global", "defaults", "frontend", "backend", "listen" or
// other section (see SectionKinds) with its statements.
type Section struct {
	Kind  string // "global", "defaults", "frontend", "backend", "listen", ...
	Name  string // may be "" (global, unnamed defaults)
	From  string // "defaults" section named by "from <name>" on the header line, "" if none
	Head  Line   // the header line itself
	Lines []Line // statements in order

	// defaults is the defaults section this one inherits from, explicitly
	// or implicitly; see Defaults.
	defaults *Section
}

// Defaults returns the defaults section s inherits its settings from, or nil
// if none: the one named by "from <name>" on its header line, otherwise, for
// frontend, backend and listen sections, the last defaults section read
// before it, in any earlier file. A defaults section without "from" inherits
// from nothing, and so do the other kinds of sections.
func (s *Section) Defaults() *Section {
	return s.defaults
}

// proxy capabilities, to tell which names may collide.
const (
	capFE = 1 << iota
	capBE
	capDefaults
)

var proxyCaps = map[string]int{
	"frontend": capFE,
	"backend":  capBE,
	"listen":   capFE | capBE,
	"defaults": capDefaults,
}

// proxyIndex tracks the proxies and defaults sections read so far, by name.
type proxyIndex struct {
	proxies  map[string][]*Section
	defaults map[string][]*Section
	last     *Section          // last defaults section, inherited implicitly
	explicit map[*Section]bool // defaults referenced by "from"
	implicit map[*Section]bool // defaults inherited without "from"
	global   bool              // a section other than global was seen
}

// openSection starts a new section at its header line l.
func (p *parser) openSection(f *fileState, l Line) {
	args := l.EffectiveArgs()
	s := &Section{Kind: args[0], Head: l}
	if len(args) > 1 {
		s.Name = args[1]
	}
	f.cur = s
	f.section = args[0]
	if s.Name != "" {
		f.section = s.Name
	}
	p.cfg.Sections = append(p.cfg.Sections, s)

	if s.Kind == "global" {
		if p.proxies.global {
			p.warn(&Error{File: l.File, Line: l.Num, Warning: true, Level: LevelDiag,
				Msg: "global section detected after a non-global one, the prevalence of their statements is unspecified"})
		}
		if len(args) > 1 {
			p.fail(f, l.Errorf("'%s' cannot handle unexpected argument '%s'.", args[0], args[1]))
		}
		return
	}
	p.proxies.global = true
	if proxyCaps[s.Kind] != 0 {
		p.openProxy(f, s, args)
	}
}

// openProxy checks the header of a frontend, backend, listen or defaults
// section and resolves its defaults section, as HAProxy's cfg_parse_listen().
func (p *parser) openProxy(f *fileState, s *Section, args []string) {
	l := s.Head
	caps := proxyCaps[s.Kind]
	from := 2 // index of the "from" keyword, if any

	if caps&capDefaults != 0 {
		if len(args) == 3 && args[1] == "from" {
			// "defaults from <name>": an unnamed defaults section.
			s.Name, from = "", 1
		}
		if bad := extraArg(args, from); bad != "" {
			// HAProxy ignores them silently; a warning is kinder.
			p.warn(l.Warnf("'%s' cannot handle unexpected argument '%s'.", args[0], bad))
		}
	} else {
		if len(args) < 2 {
			p.abort(l.Errorf("'%s' expects an <id> argument", args[0]))
			return
		}
		if c, bad := invalidChar(s.Name); bad {
			p.fail(f, l.Errorf("character '%c' is not permitted in '%s' name '%s'.", c, args[0], s.Name))
		}
		for _, other := range p.proxies.proxies[s.Name] {
			if proxyCaps[other.Kind]&caps != 0 {
				p.fail(f, l.Errorf("%s '%s' has the same name as %s '%s' declared at %s.",
					s.Kind, s.Name, other.Kind, other.Name, other.Head))
				break
			}
		}
		p.proxies.add(&p.proxies.proxies, s)
		if bad := extraArg(args, from); bad != "" {
			if args[2] != "from" && caps&capFE != 0 {
				// HAProxy compat: the 1.x "listen <name> <address>" form.
				p.fail(f, l.Errorf("please use the 'bind' keyword for listening addresses."))
			} else {
				p.fail(f, l.Errorf("'%s' cannot handle unexpected argument '%s'.", args[0], bad))
			}
		}
	}

	switch {
	case len(args) > from+1 && args[from] == "from":
		s.From = args[from+1]
		s.defaults = p.findDefaults(f, s, s.From)
		if s.defaults != nil {
			p.proxies.mark(s.defaults, true)
		}
	case caps&capDefaults == 0:
		s.defaults = p.proxies.last
		if s.defaults != nil {
			p.proxies.mark(s.defaults, false)
		}
	}
	if s.defaults != nil && p.proxies.explicit[s.defaults] && p.proxies.implicit[s.defaults] {
		d := s.defaults
		p.warn(l.Warnf("defaults section '%s' (declared at %s) is explicitly referenced by another proxy and implicitly used here."+
			" To avoid any ambiguity don't mix both usage. Add a last defaults section not explicitly used or always use explicit references.",
			d.Name, d.Head))
	}

	if caps&capDefaults != 0 {
		p.proxies.add(&p.proxies.defaults, s)
		p.proxies.last = s
	}
}

// findDefaults resolves "from <name>" on the header of s. An unknown name
// aborts parsing, as in HAProxy.
func (p *parser) findDefaults(f *fileState, s *Section, name string) *Section {
	l := s.Head
	found := p.proxies.defaults[name]
	if len(found) == 0 {
		p.abort(l.Errorf("defaults section '%s' not found for %s '%s'.", name, s.Kind, s.Name))
		return nil
	}
	d := found[0]
	if len(found) > 1 {
		p.fail(f, l.Errorf("ambiguous defaults section name '%s' referenced by %s '%s' exists at least at %s and %s.",
			name, s.Kind, s.Name, d.Head, found[1].Head))
	}
	if c, bad := invalidChar(name); bad {
		p.fail(f, l.Errorf("character '%c' is not permitted in defaults section name '%s' when designated by its name (section found at %s).",
			c, name, d.Head))
	}
	return d
}

// extraArg returns the first word of a header that is neither the name nor
// "from <defaults>" (expected at args[from]), or "" if there is none.
func extraArg(args []string, from int) string {
	switch {
	case len(args) <= from:
		return ""
	case args[from] != "from":
		return args[from]
	case len(args) == from+1:
		return args[from] // "from" without a name
	case len(args) > from+2:
		return args[from+2]
	}
	return ""
}

// add indexes s by name in *m.
func (x *proxyIndex) add(m *map[string][]*Section, s *Section) {
	if *m == nil {
		*m = make(map[string][]*Section)
	}
	(*m)[s.Name] = append((*m)[s.Name], s)
}

// mark records that d is inherited from, explicitly or not.
func (x *proxyIndex) mark(d *Section, explicit bool) {
	m := &x.implicit
	if explicit {
		m = &x.explicit
	}
	if *m == nil {
		*m = make(map[*Section]bool)
	}
	(*m)[d] = true
}

// invalidChar returns the first character of name that HAProxy does not
// accept in object names: only letters, digits, '.', ':', '_' and '-' are.
func invalidChar(name string) (byte, bool) {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isAlpha(c) && !isDigit(c) && c != '.' && c != ':' && c != '_' && c != '-' {
			return c, true
		}
	}
	return 0, false
}
