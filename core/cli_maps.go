package core

import (
	"sort"
	"strconv"
	"strings"
	"sync"

	"luaproxy/core/pattern"
)

// The runtime API's map and ACL commands (management guide 9.3): show,
// get, add, set, del, clear, prepare and commit, acting on the pattern
// references the map converters, ACLs and Lua share.

func init() {
	for _, c := range []CLICommand{
		{Words: []string{"show", "map"}, Level: CLIOperator, Fn: cliShowPat(true),
			Usage: "show map [@ver] [map]                   : report available maps or dump a map's contents"},
		{Words: []string{"show", "acl"}, Level: CLIOperator, Fn: cliShowPat(false),
			Usage: "show acl [@<ver>] <acl>]                : report available acls or dump an acl's contents"},
		{Words: []string{"get", "map"}, Level: CLIOperator, Fn: cliGetPat(true),
			Usage: "get map <acl> <value>                   : report the keys and values matching a sample for a map"},
		{Words: []string{"get", "acl"}, Level: CLIOperator, Fn: cliGetPat(false),
			Usage: "get acl <acl> <value>                   : report the patterns matching a sample for an ACL"},
		{Words: []string{"add", "map"}, Level: CLIAdmin, Fn: cliAddPat(true),
			Usage: "add map [@<ver>] <map> <key> <val>      : add a map entry (payload supported instead of key/val)"},
		{Words: []string{"add", "acl"}, Level: CLIAdmin, Fn: cliAddPat(false),
			Usage: "add acl [@<ver>] <acl> <pattern>        : add an acl entry"},
		{Words: []string{"set", "map"}, Level: CLIAdmin, Fn: cliSetMap,
			Usage: "set map <map> [<key>|#<ref>] <value>    : modify a map entry"},
		{Words: []string{"del", "map"}, Level: CLIAdmin, Fn: cliDelPat(true),
			Usage: "del map <map> [<key>|#<ref>]            : delete map entries matching <key>"},
		{Words: []string{"del", "acl"}, Level: CLIAdmin, Fn: cliDelPat(false),
			Usage: "del acl <acl> [<key>|#<ref>]            : delete acl entries matching <key>"},
		{Words: []string{"clear", "map"}, Level: CLIAdmin, Fn: cliClearPat(true),
			Usage: "clear map [@<ver>] <map>                : clear the contents of this map"},
		{Words: []string{"clear", "acl"}, Level: CLIAdmin, Fn: cliClearPat(false),
			Usage: "clear acl [@<ver>] <acl>                : clear the contents of this acl"},
		{Words: []string{"prepare", "map"}, Level: CLIAdmin, Fn: cliPreparePat(true),
			Usage: "prepare map <acl>                       : prepare a new version for atomic map replacement"},
		{Words: []string{"prepare", "acl"}, Level: CLIAdmin, Fn: cliPreparePat(false),
			Usage: "prepare acl <acl>                       : prepare a new version for atomic ACL replacement"},
		{Words: []string{"commit", "map"}, Level: CLIAdmin, Fn: cliCommitPat(true),
			Usage: "commit map @<ver> <map>                 : commit the map at this version"},
		{Words: []string{"commit", "acl"}, Level: CLIAdmin, Fn: cliCommitPat(false),
			Usage: "commit acl @<ver> <acl>                 : commit the ACL at this version"},
	} {
		RegisterCLI(c)
	}
}

// patVersions emulates HAProxy's pattern reference versions ("prepare",
// "@<ver>", "commit") above core/pattern, which keeps one live version:
// the versions being prepared are held here until committed.
type patVersions struct {
	curr, next int
	pending    map[int][]pattern.Entry
}

var patState = struct {
	sync.Mutex
	vers map[*pattern.Ref]*patVersions
	ids  map[*pattern.Ref]int
	n    int
}{vers: map[*pattern.Ref]*patVersions{}, ids: map[*pattern.Ref]int{}}

func versionsOf(r *pattern.Ref) *patVersions {
	v := patState.vers[r]
	if v == nil {
		v = &patVersions{pending: map[int][]pattern.Entry{}}
		patState.vers[r] = v
	}
	return v
}

// patRefs returns the references of a kind (maps, or ACLs) with their
// unique ids, in id order. Ids are given the first time a reference is
// listed: anonymous ones ("#<n>") in creation order after the files,
// sorted by name (HAProxy numbers them all in configuration order).
func patRefs(maps bool) ([]*pattern.Ref, []int) {
	all := pattern.Refs()
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	anon := func(s string) (int, bool) {
		if !strings.HasPrefix(s, "#") {
			return 0, false
		}
		n, err := strconv.Atoi(s[1:])
		return n, err == nil
	}
	sort.Slice(names, func(i, j int) bool {
		ai, aok := anon(names[i])
		aj, bok := anon(names[j])
		if aok != bok {
			return !aok
		}
		if aok {
			return ai < aj
		}
		return names[i] < names[j]
	})
	patState.Lock()
	defer patState.Unlock()
	for _, n := range names {
		r := all[n]
		if _, ok := patState.ids[r]; !ok {
			patState.ids[r] = patState.n
			patState.n++
		}
	}
	var refs []*pattern.Ref
	for _, n := range names {
		if r := all[n]; r.IsMap == maps {
			refs = append(refs, r)
		}
	}
	sort.SliceStable(refs, func(i, j int) bool { return patState.ids[refs[i]] < patState.ids[refs[j]] })
	ids := make([]int, len(refs))
	for i, r := range refs {
		ids[i] = patState.ids[r]
	}
	return refs, ids
}

// findPatRef resolves "#<id>" or a file name to a reference.
func findPatRef(name string, maps bool) *pattern.Ref {
	if strings.HasPrefix(name, "#") {
		id, err := strconv.Atoi(name[1:])
		if err != nil {
			return nil
		}
		refs, ids := patRefs(maps)
		for i, r := range refs {
			if ids[i] == id {
				return r
			}
		}
		// listed with the other kind
		refs, ids = patRefs(!maps)
		for i, r := range refs {
			if ids[i] == id {
				return r
			}
		}
		return nil
	}
	r, ok := pattern.Lookup(name)
	if !ok {
		return nil
	}
	return r
}

func patUnknown(maps bool) string {
	if maps {
		return "Unknown map identifier. Please use #<id> or <file>.\n"
	}
	return "Unknown ACL identifier. Please use #<id> or <file>.\n"
}

// patArgs splits the words after "<verb> map|acl" into an optional
// "@<ver>" and the rest.
func patArgs(r *CLIRequest) (ver int, hasVer bool, rest []string, err string) {
	rest = r.Args[2:]
	if len(rest) > 0 && strings.HasPrefix(rest[0], "@") {
		v, e := strconv.Atoi(rest[0][1:])
		if e != nil || v < 0 {
			return 0, false, nil, "Invalid version number.\n"
		}
		return v, true, rest[1:], ""
	}
	return 0, false, rest, ""
}

// entriesAt returns the entries of version ver of ref (the live ones for
// the current version); ok false when ver is in the future.
func entriesAt(ref *pattern.Ref, ver int, hasVer bool) ([]pattern.Entry, bool) {
	patState.Lock()
	v := versionsOf(ref)
	if hasVer && ver != v.curr {
		defer patState.Unlock()
		if ver > v.next {
			return nil, false
		}
		return append([]pattern.Entry(nil), v.pending[ver]...), true
	}
	patState.Unlock()
	return ref.Entries(), true
}

func cliShowPat(maps bool) CLIHandler {
	return func(r *CLIRequest) {
		ver, hasVer, rest, e := patArgs(r)
		if e != "" {
			r.Print(e)
			return
		}
		if len(rest) == 0 || rest[0] == "" {
			r.Print("# id (file) description\n")
			refs, ids := patRefs(maps)
			for i, ref := range refs {
				file := ref.Name
				if strings.HasPrefix(file, "#") {
					file = ""
				}
				desc := ref.Display
				if desc == "" && file != "" {
					desc = "pattern loaded from file '" + file + "'"
				}
				patState.Lock()
				v := versionsOf(ref)
				curr, next := v.curr, v.next
				patState.Unlock()
				r.Printf("%d (%s) %s. curr_ver=%d next_ver=%d entry_cnt=%d\n", ids[i], file, desc, curr, next, ref.Len())
			}
			return
		}
		ref := findPatRef(rest[0], maps)
		if ref == nil {
			r.Print(patUnknown(maps))
			return
		}
		entries, _ := entriesAt(ref, ver, hasVer)
		for _, en := range entries {
			if maps {
				r.Printf("%#x %s %s\n", en.ID, en.Key, en.Value)
			} else {
				r.Printf("%#x %s\n", en.ID, en.Key)
			}
		}
	}
}

// keyedPatRef returns the reference named by a "<cmd> map|acl <ref> <key>"
// command, or nil after printing HAProxy's answer: missingMap or
// missingACL when an argument is missing, else the unknown-reference one.
func keyedPatRef(r *CLIRequest, maps bool, missingMap, missingACL string) *pattern.Ref {
	if r.Arg(2) == "" || r.Arg(3) == "" {
		if maps {
			r.Print(missingMap)
		} else {
			r.Print(missingACL)
		}
		return nil
	}
	ref := findPatRef(r.Arg(2), maps)
	if ref == nil {
		r.Print(patUnknown(maps))
	}
	return ref
}

func cliGetPat(maps bool) CLIHandler {
	return func(r *CLIRequest) {
		ref := keyedPatRef(r, maps, "Missing map identifier and/or key.\n", "Missing ACL identifier and/or key.\n")
		if ref == nil {
			return
		}
		// HAProxy prints one line per index built on the reference; the
		// exact string index is the one reported here.
		found := ref.Find(r.Arg(3))
		word := "match"
		if maps {
			word = "found"
		}
		if len(found) == 0 {
			r.Printf("type=str, case=sensitive, %s=no\n", word)
			return
		}
		en := found[0]
		if !maps {
			r.Printf("type=str, case=sensitive, match=yes, idx=tree, pattern=%q\n", en.Key)
			return
		}
		val := "none"
		if ref.IsMap {
			val = strconv.Quote(en.Value)
		}
		r.Printf("type=str, case=sensitive, found=yes, idx=tree, key=%q, value=%s", en.Key, val)
		if ref.IsMap {
			r.Print(`, type="str"`)
		}
		r.Print("\n")
	}
}

func cliAddPat(maps bool) CLIHandler {
	return func(r *CLIRequest) {
		ver, hasVer, rest, e := patArgs(r)
		if e != "" {
			r.Print(e)
			return
		}
		var pairs [][2]string
		switch {
		case maps && len(rest) == 3:
			pairs = [][2]string{{rest[1], rest[2]}}
		case !maps && len(rest) == 2:
			pairs = [][2]string{{rest[1], ""}}
		case len(rest) == 1 && r.Payload != "":
			for _, line := range strings.Split(r.Payload, "\n") {
				line = strings.TrimSpace(line)
				if line == "" {
					continue
				}
				k, v := line, ""
				if maps {
					if i := strings.IndexAny(line, " \t"); i >= 0 {
						k, v = line[:i], strings.TrimSpace(line[i:])
					}
				}
				pairs = append(pairs, [2]string{k, v})
			}
		default:
			if maps {
				r.Print("'add map' expects three parameters (map identifier, key and value) or one parameter (map identifier) and a payload\n")
			} else {
				r.Print("'add acl' expects two parameters: ACL identifier and pattern.\n")
			}
			return
		}
		ref := findPatRef(rest[0], maps)
		if ref == nil {
			r.Print(patUnknown(maps))
			return
		}
		if !maps && ref.IsMap {
			r.Print("This ACL is shared with a map containing samples. You must use the command 'add map' to add values.\n")
			return
		}
		patState.Lock()
		v := versionsOf(ref)
		if hasVer && ver != v.curr {
			defer patState.Unlock()
			if ver > v.next {
				r.Printf("Version number in the future, please use 'prepare %s' before.\n", kindWord(maps))
				return
			}
			for _, p := range pairs {
				v.pending[ver] = append(v.pending[ver], pattern.Entry{Key: p[0], Value: p[1], ID: uint64(len(v.pending[ver]) + 1)})
			}
			return
		}
		patState.Unlock()
		for _, p := range pairs {
			if err := ref.Add(p[0], p[1]); err != nil {
				r.Printf("%v.\n", err)
				return
			}
		}
	}
}

func kindWord(maps bool) string {
	if maps {
		return "map"
	}
	return "acl"
}

func cliSetMap(r *CLIRequest) {
	if r.Arg(2) == "" || r.Arg(3) == "" || r.Arg(4) == "" {
		r.Print("'set map' expects three parameters: map identifier, key and value.\n")
		return
	}
	ref := findPatRef(r.Arg(2), true)
	if ref == nil {
		r.Print(patUnknown(true))
		return
	}
	key, val := r.Arg(3), r.Arg(4)
	if strings.HasPrefix(key, "#") {
		id, err := strconv.ParseUint(key[1:], 0, 64)
		var found *pattern.Entry
		if err == nil {
			for _, en := range ref.Entries() {
				if en.ID == id {
					found = &en
					break
				}
			}
		}
		if found == nil {
			r.Print("entry not found.\n")
			return
		}
		key = found.Key
	}
	n, err := ref.Set(key, val)
	if err != nil {
		r.Printf("%v.\n", err)
		return
	}
	if n == 0 {
		r.Print("entry not found.\n")
	}
}

func cliDelPat(maps bool) CLIHandler {
	return func(r *CLIRequest) {
		ref := keyedPatRef(r, maps, "This command expects two parameters: map identifier and key.\n",
			"This command expects two parameters: ACL identifier and key.\n")
		if ref == nil {
			return
		}
		key := r.Arg(3)
		if strings.HasPrefix(key, "#") {
			id, err := strconv.ParseUint(key[1:], 0, 64)
			if err != nil || !ref.DelID(id) {
				r.Print("Key not found.\n")
			}
			return
		}
		if ref.Del(key) == 0 {
			r.Print("Key not found.\n")
		}
	}
}

func cliClearPat(maps bool) CLIHandler {
	return func(r *CLIRequest) {
		ver, hasVer, rest, e := patArgs(r)
		if e != "" {
			r.Print(e)
			return
		}
		if len(rest) == 0 || rest[0] == "" {
			if maps {
				r.Print("Missing map identifier.\n")
			} else {
				r.Print("Missing ACL identifier.\n")
			}
			return
		}
		ref := findPatRef(rest[0], maps)
		if ref == nil {
			r.Print(patUnknown(maps))
			return
		}
		patState.Lock()
		v := versionsOf(ref)
		if hasVer && ver != v.curr {
			defer patState.Unlock()
			if ver > v.next {
				r.Printf("Version number in the future, please use 'prepare %s' before.\n", kindWord(maps))
				return
			}
			delete(v.pending, ver)
			return
		}
		patState.Unlock()
		ref.Clear()
	}
}

func cliPreparePat(maps bool) CLIHandler {
	return func(r *CLIRequest) {
		ref := findPatRef(r.Arg(2), maps)
		if r.Arg(2) == "" || ref == nil {
			r.Print(patUnknown(maps))
			return
		}
		patState.Lock()
		defer patState.Unlock()
		v := versionsOf(ref)
		v.next++
		v.pending[v.next] = nil
		r.Printf("New version created: %d\n", v.next)
	}
}

// cliCommitPat replaces the live entries with those of a prepared
// version, in one step.
func cliCommitPat(maps bool) CLIHandler {
	return func(r *CLIRequest) {
		ver, hasVer, rest, e := patArgs(r)
		if e != "" {
			r.Print(e)
			return
		}
		if len(rest) == 0 || rest[0] == "" {
			r.Print(patUnknown(maps))
			return
		}
		ref := findPatRef(rest[0], maps)
		if ref == nil {
			r.Print(patUnknown(maps))
			return
		}
		if !hasVer {
			r.Print("Missing version number.\n")
			return
		}
		patState.Lock()
		v := versionsOf(ref)
		if ver <= v.curr || ver > v.next {
			patState.Unlock()
			r.Print("Version number out of range.\n")
			return
		}
		entries := v.pending[ver]
		for k := range v.pending {
			if k <= ver {
				delete(v.pending, k)
			}
		}
		v.curr = ver
		patState.Unlock()
		if err := ref.Replace(entries); err != nil {
			r.Printf("%v.\n", err)
		}
	}
}
