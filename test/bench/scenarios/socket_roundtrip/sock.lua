-- One action, "bench", chosen at load time by BENCH_VARIANT:
--   sock       core.tcp() connect, send "ping <variant>", receive the echoed line
--   sock_gc    the same, then collectgarbage("collect")
--   nosock     the header only
--   nosock_gc  the header, then collectgarbage("collect")
local variant = os.getenv("BENCH_VARIANT") or "sock"
local port = tonumber(os.getenv("ORIGIN_ECHO_PORT"))

local function roundtrip()
   local s = core.tcp()
   s:settimeout(5)
   if not s:connect("127.0.0.1", port) then
      return "connect-failed"
   end
   s:send("ping " .. variant .. "\n")
   local line = s:receive("*l")
   s:close()
   return line or "no-answer"
end

local uses_socket = variant:sub(1, 4) == "sock"
local gc = variant:sub(-3) == "_gc"

core.register_action("bench", { "http-req" }, function(txn)
   local v
   if uses_socket then
      v = roundtrip()
   else
      v = "ping " .. variant
   end
   txn.http:req_set_header("x-lua-sock", v)
   if gc then
      collectgarbage("collect")
   end
end)
