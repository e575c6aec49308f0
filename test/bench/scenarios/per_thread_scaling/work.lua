-- A TCP service doing a little Lua work per line: it answers each line with a 32-bit
-- polynomial hash of it (h = h*31 + byte), so the Lua state is busy, not the I/O.
core.register_service("work", "tcp", function(applet)
   while true do
      local line = applet:getline()
      if line == nil or line == "" then
         break
      end
      local h = 0
      for i = 1, #line do
         h = (h * 31 + line:byte(i)) & 0xffffffff
      end
      applet:send(h .. "\n")
   end
end)
