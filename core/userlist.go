package core

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"strings"

	"github.com/GehirnInc/crypt"
	_ "github.com/GehirnInc/crypt/md5_crypt"    // "$1$"
	_ "github.com/GehirnInc/crypt/sha256_crypt" // "$5$"
	_ "github.com/GehirnInc/crypt/sha512_crypt" // "$6$"
	"golang.org/x/crypto/bcrypt"

	"luaproxy/core/config"
	"luaproxy/core/sample"
	"luaproxy/netio/h1"
)

// Userlists (manual 3.4): "userlist <name>" sections of "group" and "user"
// lines, checked by http_auth(<userlist>), http_auth_group(<userlist>)
// and "http-request auth".

// Userlist is one "userlist" section. It is read-only once loaded and safe
// for concurrent use.
type Userlist struct {
	Name string
	Line config.Line // the section's header
	// users and groups are by name; order keeps the file's order of the
	// users (lookups are by map).
	users  map[string]*User
	groups map[string]bool
	order  []*User
}

// User is one "user" line of a userlist.
type User struct {
	Name string
	// Password is the crypt(3) hash of "password", or the clear text of
	// "insecure-password" (Insecure set); "" with neither, which no
	// password matches.
	Password string
	Insecure bool
	// Groups are the user's groups, from its "groups" option and from
	// the "users" options of "group" lines.
	Groups map[string]bool
	line   config.Line
}

// Userlist returns the userlist section named name, nil if none.
func (e *Engine) Userlist(name string) *Userlist { return e.userlists[name] }

// Lookup returns the user named name, nil if none.
func (ul *Userlist) Lookup(name string) *User {
	if ul == nil {
		return nil
	}
	return ul.users[name]
}

// Check tells whether user exists with password pass (sample.Userlist).
func (ul *Userlist) Check(user, pass string) bool {
	u := ul.Lookup(user)
	return u != nil && u.CheckPassword(pass)
}

// InGroup tells whether user belongs to group (sample.Userlist).
func (ul *Userlist) InGroup(user, group string) bool {
	u := ul.Lookup(user)
	return u != nil && u.Groups[group]
}

// CheckPassword tells whether pass is the user's password. Hashes are
// verified as crypt(3) does for MD5 ("$1$"), SHA-256 ("$5$"), SHA-512
// ("$6$") and bcrypt ("$2b$", "$2a$", "$2y$"); any other hash (DES,
// yescrypt) matches no password.
func (u *User) CheckPassword(pass string) bool {
	if u.Insecure {
		return subtle.ConstantTimeCompare([]byte(u.Password), []byte(pass)) == 1
	}
	if isBcrypt(u.Password) {
		return bcrypt.CompareHashAndPassword([]byte(u.Password), []byte(pass)) == nil
	}
	c, ok := hashCrypt(u.Password)
	if !ok {
		return false
	}
	return c.New().Verify(u.Password, []byte(pass)) == nil
}

// hashCrypt returns the crypt function of a "$id$..." hash.
func hashCrypt(hash string) (crypt.Crypt, bool) {
	switch {
	case strings.HasPrefix(hash, "$1$"):
		return crypt.MD5, true
	case strings.HasPrefix(hash, "$5$"):
		return crypt.SHA256, true
	case strings.HasPrefix(hash, "$6$"):
		return crypt.SHA512, true
	}
	return 0, false
}

// isBcrypt tells a bcrypt hash ("$2a$", "$2b$", "$2y$"), which libxcrypt's
// crypt(3) checks too.
func isBcrypt(hash string) bool {
	return len(hash) > 4 && hash[:2] == "$2" && strings.ContainsRune("aby", rune(hash[2])) && hash[3] == '$'
}

// tightWarn is Warnf for the warnings HAProxy prints without a space
// before the colon ("parsing [f:1]: msg").
func tightWarn(l config.Line, format string, a ...any) *config.Error {
	w := l.Warnf(format, a...)
	w.Tight = true
	return w
}

// parseUserlist parses a "userlist" section. HAProxy compat: a second
// section of the same name is ignored with a warning; group and user
// names are checked once the section is read (checkUserlist).
func (e *Engine) parseUserlist(sec *config.Section) {
	if sec.Name == "" {
		e.addErr(sec.Head.TightErrorf("'userlist' expects <name> as arguments."))
		return
	}
	if e.userlists[sec.Name] != nil {
		e.warn(tightWarn(sec.Head, "ignoring duplicated userlist '%s'.", sec.Name))
		return
	}
	ul := &Userlist{Name: sec.Name, Line: sec.Head, users: map[string]*User{}, groups: map[string]bool{}}
	type groupUsers struct {
		group string
		users []string
	}
	var members []groupUsers
	for _, l := range sec.Lines {
		args := l.EffectiveArgs()
		switch args[0] {
		case "group":
			if len(args) < 2 || args[1] == "" {
				e.addErr(l.TightErrorf("'group' expects <name> as arguments."))
				continue
			}
			if ul.groups[args[1]] {
				e.warn(tightWarn(l, "ignoring duplicated group '%s' in userlist '%s'.", args[1], ul.Name))
				continue
			}
			var users []string
			for i := 2; i < len(args); i++ {
				if args[i] != "users" || i+1 >= len(args) {
					e.addErr(l.TightErrorf("'group' only supports 'users' option."))
					users = nil
					break
				}
				i++
				users = append(users, strings.Split(args[i], ",")...)
			}
			ul.groups[args[1]] = true
			members = append(members, groupUsers{args[1], users})
		case "user":
			if len(args) < 2 || args[1] == "" {
				e.addErr(l.TightErrorf("'user' expects <name> as arguments."))
				continue
			}
			if ul.users[args[1]] != nil {
				e.warn(tightWarn(l, "ignoring duplicated user '%s' in userlist '%s'.", args[1], ul.Name))
				continue
			}
			u := &User{Name: args[1], Groups: map[string]bool{}, line: l}
			var groups []string
			bad := false
			for i := 2; i < len(args) && !bad; i += 2 {
				v := ""
				if i+1 < len(args) {
					v = args[i+1]
				}
				switch args[i] {
				case "password":
					u.Password, u.Insecure = v, false
				case "insecure-password":
					u.Password, u.Insecure = v, true
				case "groups":
					if v != "" {
						groups = append(groups, strings.Split(v, ",")...)
					}
				default:
					e.addErr(l.TightErrorf("'user' only supports 'password', 'insecure-password' and 'groups' options."))
					bad = true
				}
			}
			if bad {
				continue
			}
			if !u.Insecure && u.Password != "" {
				if _, ok := hashCrypt(u.Password); !ok && !isBcrypt(u.Password) {
					e.warn(l.Warnf("luaproxy cannot check the password hash of user '%s' in userlist '%s' (only MD5 '$1$', SHA-256 '$5$', SHA-512 '$6$' and bcrypt '$2b$' crypt hashes are supported): it will never match.", u.Name, ul.Name))
				}
			}
			for _, g := range groups {
				u.Groups[g] = true
			}
			ul.users[u.Name] = u
			ul.order = append(ul.order, u)
		default:
			e.addErr(l.TightErrorf("unknown keyword '%s' in 'users' section", args[0]))
		}
	}
	// HAProxy compat: the names are checked after the whole section, the
	// users' groups first.
	for _, u := range ul.order {
		for g := range u.Groups {
			if !ul.groups[g] {
				e.addErr(fmt.Errorf("userlist '%s': no such group '%s' specified in user '%s'", ul.Name, g, u.Name))
			}
		}
	}
	for _, m := range members {
		for _, name := range m.users {
			u := ul.users[name]
			if u == nil {
				e.addErr(fmt.Errorf("userlist '%s': no such user '%s' specified in group '%s'", ul.Name, name, m.group))
				continue
			}
			u.Groups[m.group] = true
		}
	}
	e.userlists[ul.Name] = ul
}

// resolveUserlists resolves the userlist arguments of fetches on line l
// (userlist sections are all read before proxies), reporting a missing
// one as HAProxy does: as an ACL keyword's in a condition or "acl" line,
// else as a sample fetch's in the keyword's expression.
func (e *Engine) resolveUserlists(px *Proxy, l config.Line) error {
	return px.scope.ResolveType(sample.ArgUserlist, func(a *sample.Arg) error {
		if ul := e.userlists[a.Str]; ul != nil {
			a.Ref = ul
			return nil
		}
		where := "sample fetch keyword '" + a.Keyword + "' in " + l.Args[0] + " expression"
		inCond := l.Args[0] == "acl"
		for i, w := range l.Args {
			if (w == "if" || w == "unless") && i > 0 {
				for _, c := range l.Args[i+1:] {
					inCond = inCond || strings.Contains(c, a.Keyword+"(")
				}
			}
		}
		if inCond {
			where = "ACL keyword '" + a.Keyword + "'"
		}
		return l.TightErrorf("unable to find userlist '%s' referenced in arg %d of %s in proxy '%s'.", a.Str, a.Pos, where, px.Name)
	})
}

// parseAuth parses "http-request auth [realm <realm>]": the request is
// answered with the proxy's 401 message and a Basic challenge for the
// realm, the name of the proxy whose rule it is by default.
func parseAuth(px *Proxy, rs RuleSet, w []string, l config.Line) (httpAction, int, error) {
	realm, n := px.Name, 1
	if len(w) > 1 && w[1] == "realm" {
		if len(w) < 3 || w[2] == "" {
			return nil, 0, ruleErrorf(px, rs, "auth", l, "missing realm value.\n")
		}
		realm, n = w[2], 3
	}
	challenge := h1.Header{Name: "www-authenticate", Value: `Basic realm="` + realm + `"`}
	return func(s *Stream, tx *HTTPTxn, res bool) (Verdict, *Reply) {
		r := s.ErrorReply(401)
		r.Headers = append(r.Headers, challenge)
		if r.Raw != nil {
			r.Raw = rawAddHeader(r.Raw, challenge)
		}
		return Done, r
	}, n, nil
}

// rawAddHeader returns the raw HTTP message raw with h added after its
// headers.
func rawAddHeader(raw []byte, h h1.Header) []byte {
	i, eol := bytes.Index(raw, []byte("\r\n\r\n")), "\r\n"
	if j := bytes.Index(raw, []byte("\n\n")); i < 0 || j >= 0 && j < i {
		i, eol = j, "\n"
	}
	if i < 0 {
		return raw
	}
	out := make([]byte, 0, len(raw)+len(h.Name)+len(h.Value)+4)
	out = append(out, raw[:i+len(eol)]...)
	out = append(out, h.Name+": "+h.Value+eol...)
	return append(out, raw[i+len(eol):]...)
}
