# luaproxy — a Go reverse proxy running HAProxy-compatible Lua on PUC Lua 5.3 (cgo).
#
# `make` (or `make help`) lists the targets. Every target that needs the toolchain first runs
# build/setup.sh, which installs missing Debian packages and is a no-op (< 0.1 s) otherwise,
# so `make run` and `make test` work on a fresh Debian 12 machine.

GO ?= go
# gofmt from the same toolchain as $(GO); evaluated only when a recipe uses it.
GOFMT ?= $(shell $(GO) env GOROOT)/bin/gofmt

# Build tags are the only switch for Lua version and link mode: golua needs `lua53` to link
# Debian's liblua5.3 (dynamically, so require()d C modules resolve the Lua API from it).
# Exported so that every go command (build, vet, test, run) gets it.
export GOFLAGS := -tags=lua53
export CGO_ENABLED := 1

# Linker flags of bin/luaproxy. The one default: GODEBUG=schedtrace as a compile-time default
# (what //go:debug lines set, for a setting they do not accept), so that the Go runtime's
# monitor thread (sysmon) never deep-sleeps. Asleep, the first system or C call after an idle
# moment (every request on a lightly loaded proxy) wakes it, and it then polls every 20 us for
# a millisecond, a thread switch each on the proxy's CPU: with 4 connections, 0.75x haproxy's
# Lua action requests per CPU-second instead of 1.15x; at full load 2-3% of an HTTP request,
# 12% of a TCP echo line. Awake, it polls every 10 ms when idle. The price: one scheduler line ("SCHED
# ...") on stderr every 24.8 days, and at start when the host has been up longer than that.
# GODEBUG=schedtrace=0 in the environment turns it off. See README, "The Go runtime's monitor
# thread".
# Exported for the tests, which build the binary they run with the same flags.
export GO_LDFLAGS ?= -X=runtime.godebugDefault=schedtrace=2147483647

# Extra flags for go test (e.g. make test TESTFLAGS='-v -run TestConfig').
TESTFLAGS ?=
# Extra flags for the Go micro-benchmarks the suite runs (e.g. BENCHFLAGS='-count=6 -benchtime=2s').
BENCHFLAGS ?=
# Extra flags for the benchmark suite (e.g. BENCHARGS='-scenario concat -out /tmp/b').
BENCHARGS ?=

# C Lua modules: one cmodules/NAME.so per cmodules/NAME.c, loaded with require("NAME").
# No -llua5.3: a module takes the Lua C API from the host that loads it.
CMOD_SRCS := $(wildcard cmodules/*.c)
CMOD_SOS := $(CMOD_SRCS:.c=.so)
CMOD_CFLAGS ?= -O2 -Wall -Wextra
LUA_CFLAGS = $(shell pkg-config --cflags lua5.3)
# The bare interpreter, to test the C modules on their own (cmodules/test.lua).
LUA ?= lua5.3

# Packages with benchmarks and with the Lua-boundary / proxy tests run under -race.
CORE_PKGS := ./luabind/... ./core/... ./netio/...

# Arguments for build/setup.sh; `bench` sets it to also install haproxy, wrk and taskset.
SETUP_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup build cmodules run test asan race pgo lint bench bench-full clean

# Fails listing the files gofmt would change (nothing excluded).
define fmt-check
@echo "$(GOFMT) -l ."
@files=$$($(GOFMT) -l .) || exit 1; \
if [ -n "$$files" ]; then \
	echo "gofmt: these files need formatting (gofmt -w FILE):"; echo "$$files"; exit 1; \
fi
endef

# The benchmark suite (test/bench): luaproxy side by side with haproxy on the same
# configurations, the documents' own experiments, and the Go micro-benchmarks of every
# package that has some (go test -bench, bounded -benchtime); it writes bench-results/
# (TSVs, report.md, plots). $(1): suite flags (-full).
define bench-recipe
$(LUA) cmodules/test.lua bench
$(GO) run ./test/bench $(1) -gotest-flags '$(BENCHFLAGS)' $(BENCHARGS)
endef

help: ## Show this help
	@awk 'BEGIN { FS = ":.*## " } \
		/^[a-zA-Z0-9_-]+:.*## / { printf "  %-11s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

setup: ## Install missing system packages (build/setup.sh; fast when nothing is missing)
	@bash build/setup.sh $(SETUP_ARGS)

# The linker writes its output through mmap, and a binary run straight from that page cache
# cost about 1k more user cycles per proxied request (7%) than the same bytes copied with
# write(2), or read back after `echo 3 > /proc/sys/vm/drop_caches` (Linux 6.18, ext4). So the
# binary is installed by a copy, as dpkg installs haproxy's, and a benchmark compares like
# with like. The rename keeps a running bin/luaproxy untouched.
build: setup ## Build bin/luaproxy
	$(GO) build -ldflags='$(GO_LDFLAGS)' -o bin/.luaproxy.link ./cmd/luaproxy
	cp bin/.luaproxy.link bin/.luaproxy.copy && mv -f bin/.luaproxy.copy bin/luaproxy && rm -f bin/.luaproxy.link

cmodules: $(CMOD_SOS) ## Build the C Lua modules cmodules/*.c into cmodules/*.so

# Order-only on setup: the Lua headers must be there first, but setup never forces a rebuild.
cmodules/%.so: cmodules/%.c | setup
	$(CC) $(CMOD_CFLAGS) -fPIC -shared $(LUA_CFLAGS) -o $@ $<

run: setup build cmodules ## Run scripts/hello_world.conf from scripts/ (listens on 127.0.0.1:10001)
	cd scripts && ../bin/luaproxy -f hello_world.conf

test: setup cmodules ## C modules' Lua tests, go vet, gofmt check, go test ./..., the Lua boundary under ASan
	$(LUA) cmodules/test.lua
	$(GO) vet ./...
	$(fmt-check)
	$(GO) test -count=1 -timeout 20m $(TESTFLAGS) ./...
	$(MAKE) --no-print-directory asan

asan: setup ## the Lua boundary's tests (C runtime, allocator, Lua) under AddressSanitizer and LeakSanitizer
	$(GO) test -asan -count=1 -timeout 10m ./luabind/vm/

race: setup cmodules ## go test -race on the Lua boundary, engine and integration tests
	$(GO) test -race -count=1 -timeout 20m $(TESTFLAGS) $(CORE_PKGS) ./test/...

lint: setup ## go vet, gofmt check, and staticcheck if installed
	$(GO) vet ./...
	$(fmt-check)
	@if command -v staticcheck >/dev/null 2>&1; then \
		echo "staticcheck ./..."; staticcheck ./...; \
	else \
		echo "lint: staticcheck not installed, skipped"; \
	fi

# Target-specific: setup (a prerequisite) inherits it and also installs haproxy, wrk, taskset.
bench: SETUP_ARGS := bench
bench: setup build cmodules ## Benchmark suite, quick set (~10 min): report in bench-results/report.md
	$(call bench-recipe,-quick)

pgo: SETUP_ARGS := bench
pgo: setup build cmodules ## Regenerate cmd/luaproxy/default.pgo, the profile go build optimizes luaproxy with
	$(GO) run ./test/bench -pgo cmd/luaproxy/default.pgo -duration 8s

bench-full: SETUP_ARGS := bench
bench-full: setup build cmodules ## Benchmark suite, everything (100k/300k backends, longer runs)
	$(call bench-recipe,-full)

clean: ## Remove bin/ and the built cmodules/*.so
	rm -rf bin/
	rm -f cmodules/*.so
