//go:build lua53

package luabind

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The API manifest: every class and function of the reference
// (haproxy-lua-api.rst) against what luaproxy exposes: the names of every
// class declared with declareClass, and the keys of the global tables
// scripts reach (core, act, Regex, ...), read from a real Lua state.
//
// It prints the coverage per class (go test -v -run Manifest). It fails
// when luaproxy exposes a name that is neither in the reference nor in the
// aliases below, so a misspelt method cannot hide; missing names only
// print.

// manifestAliases are names from the first Lua API document (seeds/001),
// accepted so that scripts written against it run. Each must appear in
// that document followed by "(".
var manifestAliases = map[string][]string{
	"Channel": {"get_line", "get_in_length", "get_out_length"},
	"HTTP":    {"req_get_header", "res_get_header", "req_replace_header", "res_replace_header", "req_replace_value", "res_replace_value"},
	"TXN":     {"get_headers", "close", "res_channel"}, // txn:res_channel(): the document's example
}

// manifestCounterparts are names accepted as the obvious other half of an
// alias above, though the document does not spell them out.
var manifestCounterparts = map[string][]string{
	"TXN": {"req_channel"}, // of res_channel
	// HAProxy 2.6's own names, dropped from the 3.x reference: 2.6
	// scripts call them (hlua.c registers req_rep_value/res_rep_value).
	"HTTP": {"req_rep_value", "res_rep_value"},
	// HAProxy 2.6 registers every match method of pat_match_names with
	// and without '_' (checked against 2.6.12: Map.found=0 ... Map.regm=13);
	// the reference mentions the plain names "for compatibility".
	"Map": {"_found", "_bool", "_bin", "_len", "_regm", "found", "bool", "int", "ip", "bin", "len",
		"str", "beg", "sub", "dir", "dom", "end", "reg", "regm"},
	// http_msg.channel: used by the reference's own filter example
	// (http_msg.channel:is_resp()).
	"HTTPMessage": {"channel"},
}

// manifestNotApplicable are reference names luaproxy does not mean to
// provide, with the reason. They are left out of the coverage counts.
var manifestNotApplicable = map[string]struct {
	names  []string // nil: the whole class
	reason string
}{
	"ProxyMailers": {nil, "email alerts (mailers sections) are not part of luaproxy"},
	"CertCache":    {nil, "luaproxy terminates no TLS: there is no certificate store to update"},
	"ACME":         {nil, "luaproxy has no ACME client"},
	"AcmeEvent":    {nil, "luaproxy has no ACME client"},
	"core":         {[]string{"use_native_mailers_config"}, "email alerts (mailers sections) are not part of luaproxy"},
	"Proxy":        {[]string{"get_mailers"}, "email alerts (mailers sections) are not part of luaproxy"},
	"filter": {[]string{"new", "start_analyze", "end_analyze", "http_headers", "http_payload", "http_end", "tcp_payload"},
		"callbacks of the script's own filter class (FILTER.*), called by luaproxy, not provided by it"},
}

// manifestGlobals maps reference classes to the global tables scripts
// reach them through.
var manifestGlobals = map[string]string{
	"core": "core", "Act": "act", "Regex": "Regex", "Map": "Map", "filter": "filter",
}

// manifestSkip are reference classes whose names are not a fixed list.
var manifestSkip = map[string]string{
	"Fetches":    "one method per sample fetch of configuration.txt",
	"Converters": "one method per converter of configuration.txt",
}

func referenceDir(t *testing.T) string {
	t.Helper()
	for _, d := range []string{os.Getenv("LUAPROXY_REFERENCE"), "../../shared/reference", "../reference", "../../reference"} {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "haproxy-lua-api.rst")); err == nil {
			return d
		}
	}
	t.Skip("haproxy-lua-api.rst not found (set LUAPROXY_REFERENCE)")
	return ""
}

var (
	rstClass = regexp.MustCompile(`^\.\. js:class:: (\w+)`)
	rstFunc  = regexp.MustCompile(`^(\* )?\.\. js:function:: .*?(\w+)[.:](\w+)\s*\(`)
	rstAttr  = regexp.MustCompile(`^\.\. js:attribute:: (\w+)\.(\w+)`)
)

// parseReference returns the reference's names by class (classes as the
// reference declares them; "patref.add_bulk" is Patref's).
func parseReference(t *testing.T, text string) map[string]map[string]bool {
	ref := map[string]map[string]bool{}
	canon := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if m := rstClass.FindStringSubmatch(line); m != nil {
			ref[m[1]] = map[string]bool{}
			canon[strings.ToLower(m[1])] = m[1]
		}
	}
	add := func(class, name string) {
		if c, ok := canon[strings.ToLower(class)]; ok {
			class = c
		}
		if ref[class] == nil {
			ref[class] = map[string]bool{} // Listener, EventSub: no js:class line
		}
		ref[class][name] = true
	}
	for _, line := range strings.Split(text, "\n") {
		if m := rstFunc.FindStringSubmatch(line); m != nil {
			add(m[2], m[3])
		} else if m := rstAttr.FindStringSubmatch(line); m != nil {
			add(m[1], m[2])
		}
	}
	if len(ref["TXN"]) < 20 || len(ref["core"]) < 40 {
		t.Fatalf("reference parse looks wrong: TXN %d names, core %d", len(ref["TXN"]), len(ref["core"]))
	}
	return ref
}

// exposed returns luaproxy's names by class: descriptors, then globals.
func exposed(t *testing.T) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	add := func(class, name string) {
		if out[class] == nil {
			out[class] = map[string]bool{}
		}
		out[class][name] = true
	}
	for _, cl := range apiClasses {
		if out[cl.name] == nil {
			out[cl.name] = map[string]bool{}
		}
		for _, n := range cl.names() {
			add(cl.name, n)
		}
	}
	ts := newTestState(t)
	for class, global := range manifestGlobals {
		got, err := ts.run(ctxBody, `local t = _G["`+global+`"] if type(t) ~= "table" then return "" end
			local ks = {} for k in pairs(t) do if type(k) == "string" then ks[#ks+1] = k end end
			return table.concat(ks, " ")`)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range strings.Fields(got) {
			add(class, n)
		}
	}
	return out
}

func TestAPIManifest(t *testing.T) {
	dir := referenceDir(t)
	rst, err := os.ReadFile(filepath.Join(dir, "haproxy-lua-api.rst"))
	if err != nil {
		t.Fatal(err)
	}
	seeds, _ := filepath.Glob(filepath.Join(dir, "seeds", "001_*.txt"))
	if len(seeds) != 1 {
		t.Fatalf("seeds/001_*.txt: found %d files", len(seeds))
	}
	seed, err := os.ReadFile(seeds[0])
	if err != nil {
		t.Fatal(err)
	}
	for class, names := range manifestAliases {
		for _, n := range names {
			if !strings.Contains(string(seed), n+"(") {
				t.Errorf("alias %s.%s does not appear in %s", class, n, filepath.Base(seeds[0]))
			}
		}
	}

	ref := parseReference(t, string(rst))
	lp := exposed(t)

	var classes []string
	for c := range ref {
		classes = append(classes, c)
	}
	for c := range lp {
		if ref[c] == nil {
			classes = append(classes, c)
		}
	}
	sort.Strings(classes)
	var total, covered int
	for _, class := range classes {
		if why, ok := manifestSkip[class]; ok {
			t.Logf("%-20s not compared: %s", class, why)
			continue
		}
		na := manifestNotApplicable[class]
		isNA := func(n string) bool {
			if _, whole := manifestNotApplicable[class]; whole && na.names == nil {
				return true
			}
			for _, x := range na.names {
				if x == n {
					return true
				}
			}
			return false
		}
		var have, missing, skipped []string
		for n := range ref[class] {
			switch {
			case isNA(n):
				skipped = append(skipped, n)
			case lp[class][n]:
				have = append(have, n)
			default:
				missing = append(missing, n)
			}
		}
		aliases := map[string]bool{}
		for _, a := range append(manifestAliases[class], manifestCounterparts[class]...) {
			aliases[a] = true
		}
		for n := range lp[class] {
			if !ref[class][n] && !aliases[n] {
				t.Errorf("%s.%s is exposed to scripts but is neither in the reference nor a documented alias", class, n)
			}
		}
		sort.Strings(missing)
		sort.Strings(skipped)
		n := len(have) + len(missing)
		total += n
		covered += len(have)
		line := ""
		if len(missing) > 0 {
			line = " missing: " + strings.Join(missing, " ")
		}
		if len(skipped) > 0 {
			line += " (n/a: " + strings.Join(skipped, " ") + ": " + na.reason + ")"
		}
		if ref[class] == nil {
			line = " (luaproxy-only object, no names)"
		}
		t.Logf("%-20s %3d/%-3d%s", class, len(have), n, line)
	}
	t.Logf("%-20s %3d/%-3d", "total", covered, total)
}
