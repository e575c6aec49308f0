module luaproxy

go 1.26.0

require (
	github.com/aarzilli/golua v0.0.0-20250217091409-248753f411c4 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
