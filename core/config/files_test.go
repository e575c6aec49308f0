package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"luaproxy/core/config"
)

// writeFiles creates files (name -> content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"main.cfg":             "global\n  setenv PORT 8080\ndefaults base\n  mode http\n",
		"conf.d/20-fe.cfg":     "frontend fe from base\n  bind \":$PORT\"\n",
		"conf.d/10-be.cfg":     "backend be\n  server s1 127.0.0.1:80\n",
		"conf.d/notes.txt":     "not a config\n",
		"conf.d/.hidden.cfg":   "garbage\n",
		"conf.d/x.cfg.cfg":     "garbage\n", // HAProxy compat: skipped
		"conf.d/sub.cfg/a.cfg": "garbage\n",
		"last.cfg":             "listen stats\n  bind :9000\n",
	})
	main, confd, last := filepath.Join(dir, "main.cfg"), filepath.Join(dir, "conf.d"), filepath.Join(dir, "last.cfg")

	cfg, err := config.ParseFiles(main, confd, last)
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{main, confd + "/10-be.cfg", confd + "/20-fe.cfg", last}
	if !reflect.DeepEqual(cfg.Files, wantFiles) {
		t.Errorf("Files:\n got %q\nwant %q", cfg.Files, wantFiles)
	}
	var got []string
	for _, s := range cfg.Sections {
		got = append(got, s.Kind+" "+s.Name+" @"+s.Head.String())
	}
	want := []string{
		"global  @" + main + ":1",
		"defaults base @" + main + ":3",
		"backend be @" + confd + "/10-be.cfg:1",
		"frontend fe @" + confd + "/20-fe.cfg:1",
		"listen stats @" + last + ":1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sections:\n got %q\nwant %q", got, want)
	}
	fe := cfg.ByKind("frontend")[0]
	if fe.Lines[0].Args[1] != ":8080" {
		t.Errorf("environment set in another file not seen: %q", fe.Lines[0].Args)
	}
	if d := cfg.ByKind("backend")[0].Defaults(); d == nil || d.Name != "base" {
		t.Errorf("implicit defaults across files = %v", d)
	}

	// A trailing slash is kept as given, like HAProxy's "%s/%s".
	cfg, err = config.ParseFiles(main, confd+"/")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Files[1] != confd+"//10-be.cfg" {
		t.Errorf("Files[1] = %q", cfg.Files[1])
	}
}

func TestParseFilesErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.cfg": "global\n  daemon\n",
		"b.cfg": "  maxconn 10\nbackend b\n",
		"c.cfg": "backend b\n",
		"d.cfg": "global\n.alert \"stop\"\n",
		"e.cfg": "frontend never\n",
	})
	path := func(name string) string { return filepath.Join(dir, name) }

	tests := []struct {
		name  string
		paths []string
		errs  []string
		files int // how many files were read
	}{
		{"sections end with the file", []string{path("a.cfg"), path("b.cfg")},
			[]string{"parsing [" + path("b.cfg") + ":1] : unknown keyword 'maxconn' out of section."}, 2},
		{"names span files", []string{path("b.cfg"), path("c.cfg")},
			[]string{
				"parsing [" + path("b.cfg") + ":1] : unknown keyword 'maxconn' out of section.",
				"parsing [" + path("c.cfg") + ":1] : backend 'b' has the same name as backend 'b' declared at " + path("b.cfg") + ":2.",
			}, 2},
		{"alert stops everything", []string{path("d.cfg"), path("e.cfg")},
			[]string{"parsing [" + path("d.cfg") + ":2] : 'stop'."}, 1},
		{"missing file", []string{path("a.cfg"), path("nope.cfg"), path("e.cfg")},
			[]string{"Cannot open configuration file/directory " + path("nope.cfg") + " : no such file or directory"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.ParseFiles(tt.paths...)
			if got := errorList(t, err); !reflect.DeepEqual(got, tt.errs) {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.errs)
			}
			if len(cfg.Files) != tt.files {
				t.Errorf("read %q, want %d files", cfg.Files, tt.files)
			}
		})
	}
}

func TestParseFilesEmpty(t *testing.T) {
	cfg, err := config.ParseFiles(t.TempDir())
	if err != nil || len(cfg.Sections) != 0 || len(cfg.Files) != 0 {
		t.Fatalf("empty directory: %v, %v", cfg, err)
	}
}
