-- The sdbm hash of the request path, through a fetch and a converter of the TXN.
core.register_fetches("path_sdbm", function(txn)
   return txn.sc:sdbm(txn.sf:path())
end)
