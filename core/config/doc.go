// Package config is the haproxy.cfg syntax layer: it reads configuration
// files into sections of tokenized lines, the way HAProxy 2.6 does before any
// keyword is looked at.
//
// What it does (configuration manual, section 2):
//
//   - splits each line into words: unprotected spaces and tabs separate words,
//     an unprotected '#' starts a comment, backslash escapes, weak ("...") and
//     strong ('...') quoting, and concatenation of adjacent parts (2.1, 2.2);
//   - expands environment variables inside double quotes: "$VAR", "${VAR}",
//     "${VAR-default}", "${VAR[*]}" (one word per space-separated value) and
//     the pseudo-variables "${.FILE}", "${.LINE}" and "${.SECTION}" (2.3);
//   - evaluates conditional blocks (.if/.elif/.else/.endif) and the .diag,
//     .notice, .warning and .alert directives (2.4);
//   - groups statements into sections (global, defaults, frontend, backend,
//     listen and the other section keywords in SectionKinds), checks proxy
//     section headers (names, duplicates, "from <defaults>") and resolves which
//     defaults section each proxy inherits from;
//   - offers the time and size formats of 2.5 and 2.6 as ParseTime and
//     ParseSize.
//
// What it does not do: interpret keywords. A keyword's line is kept as-is in
// its section, with quoting, escaping and variables resolved; the engine looks
// keywords up in its own registry. The one exception is the global section's
// setenv, presetenv, unsetenv and resetenv: HAProxy runs them while it reads,
// so a later "$VAR" or ".if defined(VAR)" sees their effect. This package
// replays them on a private overlay of the environment (see LookupEnv) and
// still hands the lines to the engine, which applies them to the process.
//
// Errors and warnings are *Error values formatted as HAProxy does:
// "parsing [file:line] : message". ParseFiles and Parse always return a
// non-nil *Config (holding whatever was read and the warnings) alongside the
// error, so a caller can print both.
//
// Where HAProxy 2.6 behaves oddly and this package follows it, the code says
// so with a "HAProxy compat:" comment. Where it departs from HAProxy 2.6:
//
//   - empty words are kept in Line.Args (HAProxy cannot tell them from the end
//     of the line); Line.EffectiveArgs gives HAProxy's view;
//   - lines longer than MaxLineLength are rejected;
//   - "[scope]" lines of HAProxy's internal scope tracking are not special;
//   - a listen section also clashes with an earlier backend of the same name
//     (HAProxy only checks the other way round);
//   - extra words on a defaults header are a warning (HAProxy ignores them);
//   - ParseTime reports an overflow for a bare number too large for 32 bits
//     (HAProxy silently truncates it).
package config
