//go:build lua53 && !linux

package main

import "luaproxy/core"

// steerToNewListeners needs Linux's reuseport BPF programs; elsewhere the
// old processes close their listeners with the kernel's spreading as is.
func steerToNewListeners(e *core.Engine, log *core.Logger) {}
