-- Reads the Host header through a sample fetch and sets a request header from it.
core.register_action("tag_host", { "http-req" }, function(txn)
   local host = txn.f:req_fhdr("host") or ""
   txn.http:req_set_header("x-lua-host", "lua:" .. host)
end)
