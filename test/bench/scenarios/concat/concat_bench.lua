-- The architecture document's measurement: 1,000 times 1,000 concatenations of 10 bytes,
-- with ".." (copies the whole string each time), table.concat, core.concat() (the Lua API's
-- Concat class, proxies only) and the cmodules/concat C module. Each method runs
-- BENCH_CONCAT_REPS times; the best time is printed:
--   bench-concat method=<m> seconds=<s>        or   bench-concat method=<m> unsupported=<why>
-- In a proxy it runs as a task; under lua5.3 (lua5.3 concat_bench.lua) it runs directly.
-- Time is os.clock() (CPU time of the pinned, otherwise idle process), as in
-- forced_yield/spin.lua: HAProxy's core.now() is stale while a task runs.
local reps = tonumber(os.getenv("BENCH_CONCAT_REPS")) or 3
local cmodules = os.getenv("BENCH_CMODULES")
if cmodules then
   package.cpath = package.cpath .. ";" .. cmodules .. "/?.so"
end
local chunk = "0123456789"

local methods = {
   { "lua_dotdot", function()
      local s = ""
      for _ = 1, 1000 do s = s .. chunk end
      return #s
   end },
   { "table_concat", function()
      local t = {}
      for i = 1, 1000 do t[i] = chunk end
      return #table.concat(t)
   end },
   { "core_concat", function()
      local c = core.concat()
      for _ = 1, 1000 do c:add(chunk) end
      return #c:dump()
   end, function()
      return core and core.concat ~= nil, "core.concat absent"
   end },
   { "cmodule_concat", function()
      local c = CONCAT.new()
      for _ = 1, 1000 do c:add(chunk) end
      return #c:dump()
   end, function()
      local ok, mod = pcall(require, "concat")
      if not ok then return false, "require concat failed" end
      CONCAT = mod
      return true
   end },
}

local now = os.clock

local function run()
   for _, m in ipairs(methods) do
      local name, body, avail = m[1], m[2], m[3]
      local ok, why = true, nil
      if avail then ok, why = avail() end
      if not ok then
         print(string.format("bench-concat method=%s unsupported=%s", name, (why:gsub(" ", "_"))))
      else
         local best = math.huge
         for _ = 1, reps do
            local t0 = now()
            for _ = 1, 1000 do
               assert(body() == 10000)
            end
            best = math.min(best, now() - t0)
         end
         print(string.format("bench-concat method=%s seconds=%.6f", name, best))
      end
   end
   print("bench-concat done")
   io.stdout:flush()
end

if core then
   core.register_task(run)
else
   run()
end
