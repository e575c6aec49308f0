// Package sample is luaproxy's sample language: typed samples and HAProxy's
// cast matrix, sample fetches and converters, expressions such as
// "req.hdr(host),lower,map_str(/etc/hosts.map,default)", ACLs and
// conditions ("if { path_beg /api } !local_net"), variables and
// "%[expr]" log-format strings. It follows the HAProxy 2.6 configuration
// manual, sections 2.8 and 7.
//
// # Parsing
//
// Configuration parsers call ParseExpr for a bare expression (set-var,
// stick on, balance hdr()), ParseFormat for a log-format string
// (set-header, log-format, return lf-string), ParseCond for the words
// after "if"/"unless", and (*ACLSet).Add for "acl" lines. A Scope carries
// what the parser needs to know about the proxy being parsed and collects
// the arguments naming other configuration objects (backends, servers,
// tables, userlists), which the engine resolves with (*Scope).Resolve once
// the whole configuration is read, as HAProxy does after parsing.
// Errors read like HAProxy's; the caller adds the "parsing [file:line] :"
// prefix and its own context ("error detected in frontend 'fe' while
// parsing 'http-request set-header' rule : ...").
//
// # Evaluation
//
// Everything is evaluated against a *Ctx, which holds the plain data that
// the package's own fetches read (addresses, HTTP messages, payload
// buffers, variables) and an opaque Stream for the fetches the engine
// registers. Fetches and converters never block and never yield.
//
// # Registries
//
// RegisterFetch and RegisterConverter add keywords; the engine registers
// the fetches that need its state (be_name, srv_conn, txn.status, ...) and
// luabind registers "lua.<name>" fetches and converters at configuration
// time. Registration is safe at any time before the keyword is parsed.
package sample
