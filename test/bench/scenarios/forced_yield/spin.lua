-- The architecture document's experiment: how many loops run in a fixed time for a given
-- tune.lua.forced-yield. In a proxy it runs as a task (yieldable, so forced yields happen);
-- under the bare interpreter (lua5.3 spin.lua) it gives the ceiling, with no hook at all.
-- Time is os.clock(), the process's CPU time: the proxy is pinned to one CPU and otherwise
-- idle, so it is the wall time minus nothing, and it also counts the proxy's own work
-- between a forced yield and the resume. (HAProxy's core.now() is only refreshed by its
-- poll loop and stays stale while a task spins, which made 100,000 instructions look
-- faster than the bare interpreter.)
-- Prints: bench-forced-yield loops=<n> seconds=<s>
local seconds = tonumber(os.getenv("BENCH_SPIN_SECONDS")) or 1

local now = os.clock

local function spin()
   local loops = 0
   local t0 = now()
   local deadline = t0 + seconds
   while true do
      for _ = 1, 100000 do
         loops = loops + 1
      end
      local t = now()
      if t >= deadline then
         return loops, t - t0
      end
   end
end

local function report(loops, secs)
   print(string.format("bench-forced-yield loops=%d seconds=%.6f", loops, secs))
   io.stdout:flush()
end

if core then
   core.register_task(function()
      report(spin())
   end)
else
   report(spin())
end
