//go:build !lua53

package vm

// Building without the lua53 tag would link golua against Lua 5.1. Fail at
// compile time with a sentence instead.
var _ = youMustBuildWithTheLua53Tag_SetGOFLAGS_tags_lua53
