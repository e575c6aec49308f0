package core

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCLIMaps runs the map and ACL commands in the order of a session
// against HAProxy 2.6.12, whose answers are the expected ones (entry
// addresses and reference ids aside).
func TestCLIMaps(t *testing.T) {
	dir := t.TempDir()
	mapf, aclf := filepath.Join(dir, "m.map"), filepath.Join(dir, "a.acl")
	if err := os.WriteFile(mapf, []byte("k1 v1\nk2 v2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(aclf, []byte("a1\nb2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e, _, sdir := startCLIEngine(t, `
global
    stats socket @SOCK@ level admin
defaults
    mode http
frontend fe
    bind 127.0.0.1:0
    acl a path -f `+aclf+`
    http-request set-header x %[path,map(`+mapf+`,def)]
    http-request return status 200 content-type text/plain lf-string "%[path,map(`+mapf+`,def)]"
    http-request deny if a
`)
	sock := filepath.Join(sdir, "admin.sock")
	addrRe := regexp.MustCompile(`0x[0-9a-f]+`)
	idRe := regexp.MustCompile(`(?m)^\d+ \(`)
	for _, c := range []struct{ cmd, want string }{
		{"show map " + mapf, "0x k1 v1\n0x k2 v2\n"},
		{"show acl " + aclf, "0x a1\n0x b2\n"},
		{"get map " + mapf + " k1", `type=str, case=sensitive, found=yes, idx=tree, key="k1", value="v1", type="str"` + "\n"},
		{"get map " + mapf + " zz", "type=str, case=sensitive, found=no\n"},
		{"get acl " + aclf + " a1", `type=str, case=sensitive, match=yes, idx=tree, pattern="a1"` + "\n"},
		{"add map " + mapf + " k3 v3", ""},
		{"set map " + mapf + " k1 new", ""},
		{"set map " + mapf + " nokey x", "entry not found.\n"},
		{"del map " + mapf + " k2", ""},
		{"del map " + mapf + " k2", "Key not found.\n"},
		{"show map " + mapf, "0x k1 new\n0x k3 v3\n"},
		{"add acl " + aclf + " c3", ""},
		{"del acl " + aclf + " a1", ""},
		{"show acl " + aclf, "0x b2\n0x c3\n"},
		{"show map nosuch", "Unknown map identifier. Please use #<id> or <file>.\n"},
		{"add map nosuch k v", "Unknown map identifier. Please use #<id> or <file>.\n"},
		{"add map " + mapf, "'add map' expects three parameters (map identifier, key and value) or one parameter (map identifier) and a payload\n"},
		{"add acl " + aclf, "'add acl' expects two parameters: ACL identifier and pattern.\n"},
		{"set map " + mapf + " k1", "'set map' expects three parameters: map identifier, key and value.\n"},
		{"del map " + mapf, "This command expects two parameters: map identifier and key.\n"},
		{"clear map", "Missing map identifier.\n"},
		{"get map", "Missing map identifier and/or key.\n"},
		{"show acl nosuch", "Unknown ACL identifier. Please use #<id> or <file>.\n"},
		{"add acl " + mapf + " zz", "This ACL is shared with a map containing samples. You must use the command 'add map' to add values.\n"},
		{"commit map " + mapf, "Missing version number.\n"},
		{"commit map @5 " + mapf, "Version number out of range.\n"},
		{"add map @9 " + mapf + " a b", "Version number in the future, please use 'prepare map' before.\n"},
		{"prepare map " + mapf, "New version created: 1\n"},
		{"add map @1 " + mapf + " z9 v9", ""},
		{"show map @1 " + mapf, "0x z9 v9\n"},
		{"show map " + mapf, "0x k1 new\n0x k3 v3\n"},
		{"commit map @1 " + mapf, ""},
		{"show map " + mapf, "0x z9 v9\n"},
		{"add map " + mapf + " <<\np1 q1\np2 q2\n", ""},
		{"show map " + mapf, "0x z9 v9\n0x p1 q1\n0x p2 q2\n"},
		{"clear map " + mapf, ""},
		{"show map " + mapf, ""},
	} {
		got := cliExchange(t, sock, c.cmd+"\n")
		got = addrRe.ReplaceAllString(strings.TrimSuffix(got, "\n"), "0x")
		if got != c.want {
			t.Errorf("%q:\n got %q\nwant %q", c.cmd, got, c.want)
		}
	}
	got := cliExchange(t, sock, "show map\n")
	// the map registry is the process's: other tests' maps (-count=N) are
	// listed too
	want := "N (" + mapf + ") pattern loaded from file '" + mapf + "'. curr_ver=1 next_ver=1 entry_cnt=0\n"
	if g := idRe.ReplaceAllString(got, "N ("); !strings.HasPrefix(g, "# id (file) description\n") || !strings.Contains(g, want) || !strings.HasSuffix(g, "\n\n") {
		t.Errorf("show map:\n got %q\nwant a line %q", g, want)
	}

	// the converters see the runtime changes
	cliExchange(t, sock, "add map "+mapf+" /live yes\n")
	if r := get(t, e.Addrs()[0].String(), "/live"); !strings.HasSuffix(r, "\r\n\r\nyes") {
		t.Errorf("map converter after add map: %q", r)
	}
}
