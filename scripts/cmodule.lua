-- C modules load with require once package.cpath names their folder
-- (lua-load paths are relative to the directory luaproxy runs from).
package.cpath = package.cpath .. ";../cmodules/?.so;./cmodules/?.so"
local concat = require("concat")
local cjson = require("cjson")

-- Answers each JSON line with the object's keys, sorted, as a JSON array.
core.register_service("json_echo", "tcp", function(applet)
   while true do
      local line = applet:getline()
      if line == nil or line == "" then
         break
      end
      local ok, obj = pcall(cjson.decode, line)
      local out = concat.new()
      if ok and type(obj) == "table" then
         local keys = {}
         for k in pairs(obj) do
            keys[#keys + 1] = k
         end
         table.sort(keys)
         out:add(cjson.encode(keys), "\n")
      else
         out:add('{"error":"invalid JSON"}\n')
      end
      applet:send(out:dump())
   end
end)
