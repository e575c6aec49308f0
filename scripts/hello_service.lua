local args = table.pack(...)

core.register_service("hello_world", "tcp", function(applet)
   applet:send(args[1] .. "\n")
end)
