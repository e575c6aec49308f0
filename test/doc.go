// Package test holds luaproxy's integration tests: configurations and Lua
// scripts run by the real engine on loopback, and the command line run as
// a process. Benchmarks of the whole system live in test/bench.
package test
