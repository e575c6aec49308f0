-- Describes the HTTP request it receives, with core.tokenize, core.parse_addr /
-- core.match_addr, core.http_date, Regex and Concat (run: luaproxy -f request_info.conf,
-- then: printf 'GET /a?x=1&y=2 HTTP/1.0\r\nX-Forwarded-For: 10.1.2.3\r\n\r\n' | nc 127.0.0.1 10004).

-- Compile once, in the body: the reference advises against compiling per request.
local _, request_line = Regex.new("^([A-Z]+) (/[^ ?]*)(?:\\?(\\S*))? HTTP/(\\d\\.\\d)\r?$", true)
local _, header = Regex.new("^([^:]+):\\s*(.*?)\\s*$", true)
local internal = { core.parse_addr("10.0.0.0/8"), core.parse_addr("192.168.0.0/16") }

local function is_internal(addr)
   local a = core.parse_addr(addr)
   for _, net in ipairs(internal) do
      if a and core.match_addr(a, net) then
         return true
      end
   end
   return false
end

core.register_service("request_info", "tcp", function(applet)
   local out = core.concat()
   local ok, m = request_line:match(applet:getline() or "")
   if not ok then
      applet:send("not an HTTP request line\n")
      return
   end
   out:add("method " .. m[2] .. "\npath " .. m[3] .. "\nversion " .. m[5] .. "\n")
   for _, kv in ipairs(core.tokenize(m[4] or "", "&", true)) do
      local p = core.tokenize(kv, "=")
      out:add("param " .. p[1] .. " = " .. (p[2] or "") .. "\n")
   end
   while true do
      local line = applet:getline()
      if line == "" or line == "\r\n" or line == "\n" then
         break
      end
      local found, h = header:match(line)
      if found then
         local name, value = h[2]:lower(), h[3]
         if name == "date" or name == "if-modified-since" then
            out:add(name .. " " .. tostring(core.http_date(value)) .. "\n")
         elseif name == "x-forwarded-for" then
            out:add("client " .. value .. (is_internal(value) and " internal" or " external") .. "\n")
         end
      end
   end
   applet:send(out:dump())
end)
