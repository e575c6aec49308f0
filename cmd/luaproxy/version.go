//go:build lua53

package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"luaproxy/core"
	"luaproxy/core/config"
	"luaproxy/luabind/vm"
)

// versionLine is the first line of -v, shaped as HAProxy's
// ("HAProxy version 2.6.12 2023/03/28 - https://haproxy.org/").
func versionLine() string {
	date := core.ReleaseDate
	if date != "" {
		date = " " + date
	}
	return fmt.Sprintf("%s version %s%s - HAProxy %s compatible", core.Product, core.Version, date,
		strings.Join(strings.SplitN(config.Version, ".", 3)[:2], "."))
}

// absentFeatures are HAProxy build features luaproxy does not have, shown
// with a '-' as "haproxy -vv" does; feature() in .if blocks sees them absent.
var absentFeatures = []string{"OPENSSL", "PCRE", "PCRE2", "ZLIB", "SLZ", "QUIC", "PROMEX", "SYSTEMD", "OT", "51DEGREES", "DEVICEATLAS", "WURFL"}

func printVersion(verbose bool) {
	fmt.Println(versionLine())
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		fmt.Printf("Running on: %s %s %s %s\n", cstr(u.Sysname[:]), cstr(u.Release[:]), cstr(u.Version[:]), cstr(u.Machine[:]))
	}
	if !verbose {
		return
	}
	fmt.Printf("Build options :\n  TARGET  = %s-%s\n  GO      = %s\n  TAGS    = lua53\n  LDFLAGS = %s\n\n",
		runtime.GOOS, runtime.GOARCH, runtime.Version(), buildSetting("-ldflags"))
	var feats []string
	for f, on := range config.Features {
		if on {
			feats = append(feats, "+"+f)
		}
	}
	for _, f := range absentFeatures {
		if !config.Features[f] {
			feats = append(feats, "-"+f)
		}
	}
	sort.Slice(feats, func(i, j int) bool { return feats[i][1:] < feats[j][1:] })
	fmt.Printf("Feature list : %s\n\n", strings.Join(feats, " "))
	fmt.Printf("Default settings :\n  bufsize = %d, maxrewrite = 1024\n\n", core.DefaultBufSize)
	fmt.Printf("Built with multi-threading support (default=%d).\n", runtime.GOMAXPROCS(0))
	fmt.Printf("Built with Lua version : %s\n", vm.Release())
	fmt.Printf("Built with Go version : %s\n", runtime.Version())
	fmt.Printf("Follows HAProxy version : %s\n", config.Version)
	fmt.Printf("\nAvailable polling systems :\n      epoll : pref=300,  test result OK (Go netpoller)\n")
}

// buildSetting returns a setting of the binary's build (go version -m), "" when absent:
// -ldflags shows whether the Makefile's runtime defaults (GO_LDFLAGS) are in.
func buildSetting(key string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == key {
				return s.Value
			}
		}
	}
	return ""
}

func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
