#!/usr/bin/env bash
# build/setup.sh — install the Debian packages luaproxy needs to build, test and run.
#
# Usage: build/setup.sh [bench]
#
# Idempotent and non-interactive: it asks dpkg which packages are missing and apt-installs
# only those (running `apt-get update` first, only when something is missing). When
# everything is present it prints one line and takes a few milliseconds, so the Makefile
# runs it before every build/test instead of keeping a stamp file.
#
#   always:  liblua5.3-dev (headers + liblua5.3.so that golua's lua53 tag links),
#            lua5.3 (bare interpreter, to check cmodules/ alone), pkg-config,
#            lua-cjson (a real compiled C module for tests), gcc + libc6-dev (cgo), make,
#            netcat-openbsd (nc, for the README's hello-world check)
#   bench:   haproxy and wrk (side-by-side comparison), util-linux (taskset)
#
# It also checks that the Go toolchain is on PATH. Runs as root, or through sudo when
# sudo exists. Exits non-zero with a message on any failure.
set -euo pipefail

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# libc6-dev is listed because we install without Recommends and gcc only recommends it.
packages=(liblua5.3-dev lua5.3 pkg-config lua-cjson gcc libc6-dev make netcat-openbsd)
case "${1:-}" in
	"") ;;
	bench) packages+=(haproxy wrk util-linux) ;;
	*) die "unknown argument '$1' (usage: $0 [bench])" ;;
esac

command -v dpkg-query >/dev/null 2>&1 ||
	die "dpkg-query not found: this script supports Debian 12 (or a derivative) only"

# One dpkg-query for all packages: "name status-abbrev" per known package ("ii " = installed).
# Packages dpkg never heard of are absent from the output (and reported on stderr).
installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${packages[@]}" 2>/dev/null |
	awk '$2 == "ii" { print $1 }' || true)
missing=()
for p in "${packages[@]}"; do
	[[ $'\n'"$installed"$'\n' == *$'\n'"$p"$'\n'* ]] || missing+=("$p")
done

check_go() {
	if ! command -v go >/dev/null 2>&1; then
		local hint="install Go 1.26+ from https://go.dev/dl/ and put its bin/ on PATH"
		[ -x /usr/local/go/bin/go ] && hint="Go is in /usr/local/go: export PATH=/usr/local/go/bin:\$PATH"
		die "'go' is not on PATH ($hint)"
	fi
}

if [ ${#missing[@]} -eq 0 ]; then
	check_go
	say "all system packages present (${packages[*]})"
	exit 0
fi

say "installing missing packages: ${missing[*]}"

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 ||
		die "not root and sudo not found; as root run: apt-get install ${missing[*]}"
	sudo=(sudo)
	# Without a terminal sudo cannot ask for a password: fail instead of hanging.
	[ -t 0 ] || sudo=(sudo -n)
fi

export DEBIAN_FRONTEND=noninteractive
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=120)

if ! "${apt[@]}" update; then
	say "apt-get update failed, retrying once in 5s"
	sleep 5
	"${apt[@]}" update || die "apt-get update failed twice"
fi

"${apt[@]}" install -y --no-install-recommends "${missing[@]}" </dev/null ||
	die "apt-get install failed for: ${missing[*]}"

check_go
say "installed: ${missing[*]}"
