-- Tests of the C modules with the bare interpreter, independent of luaproxy:
--   lua5.3 cmodules/test.lua          (make test runs it after make cmodules)
--   lua5.3 cmodules/test.lua bench    (also the architecture document's measurement:
--                                      1,000 times 1,000 concatenations of 10 bytes)
local dir = arg and arg[0] and arg[0]:match("^(.*)/") or "."
package.cpath = dir .. "/?.so;" .. package.cpath

local passed, failed = 0, 0
local function test(name, fn)
	local ok, err = pcall(fn)
	if ok then
		passed = passed + 1
	else
		failed = failed + 1
		print("FAIL " .. name .. ": " .. tostring(err))
	end
end

local function eq(got, want)
	if got ~= want then
		error(string.format("got %q, want %q", tostring(got), tostring(want)), 2)
	end
end

local function raises(fn, pattern)
	local ok, err = pcall(fn)
	if ok then error("no error, want one matching " .. pattern, 2) end
	if not tostring(err):find(pattern) then
		error(string.format("error %q does not match %q", tostring(err), pattern), 2)
	end
end

test("mymod loads", function()
	eq(require("mymod"), true) -- prints "Hello world", returns nothing
end)

local concat = require("concat")

test("new buffer is empty", function()
	local b = concat.new()
	eq(#b, 0); eq(b:len(), 0); eq(b:dump(), ""); eq(tostring(b), "")
end)

test("add strings and numbers", function()
	local b = concat.new()
	eq(b:add("a", "b", 42, 1.5, 2.0, ""), b) -- returns the buffer, for chaining
	b:add():add(-7)
	eq(b:dump(), "ab421.52.0-7"); eq(#b, 12); eq(b:len(), 12); eq(tostring(b), b:dump())
end)

test("add leaves number arguments alone", function()
	local n = 7
	concat.new():add(n)
	eq(math.type(n), "integer")
end)

test("add rejects other types", function()
	local b = concat.new()
	raises(function() b:add("a", {}) end, "bad argument #2 to 'add' %(string expected, got table%)")
	raises(function() b:add(nil) end, "bad argument #1 to 'add' %(string expected, got nil%)")
	raises(function() b:add(true) end, "string expected, got boolean")
	eq(b:dump(), "a") -- arguments before the bad one were appended
end)

test("methods check self", function()
	local b = concat.new()
	raises(function() b.dump({}) end, "concat.Buffer expected, got table")
	raises(function() b.add(io.stdout, "x") end, "concat.Buffer expected, got FILE%*")
end)

test("reset keeps working", function()
	local b = concat.new()
	b:add(("x"):rep(1000)); b:reset()
	eq(#b, 0); eq(b:dump(), "")
	b:add("y"); eq(b:dump(), "y")
end)

test("large and many buffers", function()
	local b = concat.new()
	for _ = 1, 1000 do b:add("0123456789") end
	eq(#b:dump(), 10000)
	b:add(("z"):rep(1 << 20)); eq(#b, 10000 + (1 << 20))
	for _ = 1, 10000 do concat.new():add(("y"):rep(1000)) end
	collectgarbage(); collectgarbage() -- __gc frees them
end)

if arg and arg[1] == "bench" then
	-- The architecture document: "1 000 times, 1 000 concatenation of 10 bytes written in
	-- pure Lua and with a C library. The result is 10 times faster in C".
	local t = os.clock()
	for _ = 1, 1000 do
		local s = ""
		for _ = 1, 1000 do s = s .. "0123456789" end
		assert(#s == 10000)
	end
	local tlua = os.clock() - t
	t = os.clock()
	for _ = 1, 1000 do
		local b = concat.new()
		for _ = 1, 1000 do b:add("0123456789") end
		assert(#b:dump() == 10000)
	end
	local tc = os.clock() - t
	print(string.format("1000 x 1000 concatenations of 10 bytes: pure Lua %.3fs, concat %.3fs (%.1fx)",
		tlua, tc, tlua / tc))
end

print(string.format("cmodules: %d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1, true) -- true: close the state, running every __gc
