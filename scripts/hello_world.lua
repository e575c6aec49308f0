function hello_world(txn)
   local res = txn:res_channel()
   res:send("hello world\n")
end
