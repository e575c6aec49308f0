-- An HTTP service and an HTTP action, as HAProxy's Lua API document shows
-- them. Try: curl -s http://127.0.0.1:10005/hello ; curl -s http://127.0.0.1:10005/other

-- The action tags the request with a header built from the Host header.
core.register_action("tag", { "http-req" }, function(txn)
    local host = txn.http:req_get_headers()["host"]
    txn.http:req_set_header("x-tag", "seen-" .. (host and host[0] or "nohost"))
end)

-- The service answers with a fixed body and the request's path.
core.register_service("hello", "http", function(applet)
    local body = "hello world from " .. applet.path .. "\n"
    applet:set_status(200)
    applet:add_header("content-type", "text/plain")
    applet:add_header("content-length", string.len(body))
    applet:start_response()
    applet:send(body)
end)
