-- Line echo; the banner, sent once per connection, proves the script answered.
core.register_service("echo", "tcp", function(applet)
   applet:send("lua echo\n")
   while true do
      local line = applet:getline()
      if line == nil or line == "" then
         break
      end
      applet:send(line)
   end
end)
