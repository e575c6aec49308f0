-- AppletHTTP hello world; x-lua proves the response came from this script.
local body = "hello world\n"

core.register_service("hello", "http", function(applet)
   applet:set_status(200)
   applet:add_header("content-type", "text/plain")
   applet:add_header("content-length", tostring(#body))
   applet:add_header("x-lua", "hello")
   applet:start_response()
   applet:send(body)
end)
