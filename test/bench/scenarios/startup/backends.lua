-- Start-up experiment, "with script": index core.backends once at init. HAProxy 2.6 builds
-- the Lua table of every proxy as soon as Lua is loaded (the seed commit on lazily indexed
-- proxies makes that lazy); this script makes sure the table is really used.
-- Prints: bench-startup indexed=<name of the last backend>
core.register_init(function()
   local name = "be" .. (os.getenv("BENCH_BACKENDS") or "1")
   local be = core.backends[name]
   assert(be, name .. " is not in core.backends")
   -- HAProxy 2.6 has the name attribute only; get_name() came later.
   local got = be.name or be:get_name()
   print("bench-startup indexed=" .. got)
   io.stdout:flush()
end)
