core.register_service("echo", "tcp", function(applet)
   while true do
      local line = applet:getline()
      if line == nil or line == "" then
         break
      end
      applet:send(line)
   end
end)
