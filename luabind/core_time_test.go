//go:build lua53

package luabind

import "testing"

// dateCases were printed by HAProxy 2.6.12 for the same expressions, except
// the year-9999 dates: HAProxy wraps epochs past 2038 through a C int
// (-769665); luaproxy returns the whole value (see core_time.go).
var dateCases = []luaCase{
	{`try(core.http_date, "Sun, 06 Nov 1994 08:49:37 GMT")`, `boolean:true, number:784111777`},
	{`try(core.http_date, "Sunday, 06-Nov-94 08:49:37 GMT")`, `boolean:true, number:784111777`},
	{`try(core.http_date, "Sun Nov  6 08:49:37 1994")`, `boolean:true, number:784111777`},
	{`try(core.http_date, "Sun Nov 6 08:49:37 1994")`, `boolean:true, nil:nil`},
	{`try(core.http_date, "Mon, 06 Nov 1994 08:49:37 GMT")`, `boolean:true, number:784111777`},
	{`try(core.http_date, "Sun, 06 Nov 1994 08:49:37 GMT x")`, `boolean:true, number:784111777`},
	{`try(core.http_date, "Sun, 06 Nov 1994 08:49:37 UTC")`, `boolean:true, nil:nil`},
	{`try(core.http_date, "sun, 06 nov 1994 08:49:37 GMT")`, `boolean:true, nil:nil`},
	{`try(core.http_date, "Sun, 31 Feb 1994 08:49:37 GMT")`, `boolean:true, number:762684577`},
	{`try(core.http_date, "Sun, 06 Nov 1994 24:49:37 GMT")`, `boolean:true, number:784169377`},
	{`try(core.http_date, "Sun, 06 Nov 1994 08:49:60 GMT")`, `boolean:true, number:784111800`},
	{`try(core.http_date, "Sunday, 06-Nov-70 08:49:37 GMT")`, `boolean:true, number:26729377`},
	{`try(core.http_date, "Sunday, 06-Nov-69 08:49:37 GMT")`, `boolean:true, number:-4806623`},
	{`try(core.http_date, "Thu, 01 Jan 1970 00:00:00 GMT")`, `boolean:true, number:0`},
	{`try(core.http_date, "Wed, 31 Dec 1969 23:59:59 GMT")`, `boolean:true, number:-1`},
	{`try(core.http_date, "Fri, 31 Dec 9999 23:59:59 GMT")`, `boolean:true, number:253402300799`},
	{`try(core.http_date, "Sun, 6 Nov 1994 08:49:37 GMT")`, `boolean:true, nil:nil`},
	{`try(core.http_date, "")`, `boolean:true, nil:nil`},
	{`try(core.http_date, nil)`, `boolean:false, "bad argument #1 to '?' (string expected, got nil)"`},
	{`try(core.http_date, 784111777)`, `boolean:true, nil:nil`},
	{`try(core.http_date)`, `boolean:false, "bad argument #1 to '?' (string expected, got no value)"`},
	{`try(core.imf_date, "Sun, 06 Nov 1994 08:49:37 GMT")`, `boolean:true, number:784111777`},
	{`try(core.imf_date, "Sunday, 06-Nov-94 08:49:37 GMT")`, `boolean:true, nil:nil`},
	{`try(core.imf_date, "Sun Nov  6 08:49:37 1994")`, `boolean:true, nil:nil`},
	{`try(core.imf_date, "Sun Nov 6 08:49:37 1994")`, `boolean:true, nil:nil`},
	{`try(core.imf_date, "Mon, 06 Nov 1994 08:49:37 GMT")`, `boolean:true, number:784111777`},
	{`try(core.imf_date, "Sun, 06 Nov 1994 08:49:37 GMT x")`, `boolean:true, number:784111777`},
	{`try(core.imf_date, "Sun, 06 Nov 1994 08:49:37 UTC")`, `boolean:true, nil:nil`},
	{`try(core.imf_date, "sun, 06 nov 1994 08:49:37 GMT")`, `boolean:true, nil:nil`},
	{`try(core.imf_date, "Sun, 31 Feb 1994 08:49:37 GMT")`, `boolean:true, number:762684577`},
	{`try(core.imf_date, "Sun, 06 Nov 1994 24:49:37 GMT")`, `boolean:true, number:784169377`},
	{`try(core.imf_date, "Sun, 06 Nov 1994 08:49:60 GMT")`, `boolean:true, number:784111800`},
	{`try(core.imf_date, "Sunday, 06-Nov-70 08:49:37 GMT")`, `boolean:true, nil:nil`},
	{`try(core.imf_date, "Sunday, 06-Nov-69 08:49:37 GMT")`, `boolean:true, nil:nil`},
	{`try(core.imf_date, "Thu, 01 Jan 1970 00:00:00 GMT")`, `boolean:true, number:0`},
	{`try(core.imf_date, "Wed, 31 Dec 1969 23:59:59 GMT")`, `boolean:true, number:-1`},
	{`try(core.imf_date, "Fri, 31 Dec 9999 23:59:59 GMT")`, `boolean:true, number:253402300799`},
	{`try(core.imf_date, "Sun, 6 Nov 1994 08:49:37 GMT")`, `boolean:true, nil:nil`},
	{`try(core.imf_date, "")`, `boolean:true, nil:nil`},
	{`try(core.imf_date, nil)`, `boolean:false, "bad argument #1 to '?' (string expected, got nil)"`},
	{`try(core.imf_date, 784111777)`, `boolean:true, nil:nil`},
	{`try(core.imf_date)`, `boolean:false, "bad argument #1 to '?' (string expected, got no value)"`},
	{`try(core.rfc850_date, "Sun, 06 Nov 1994 08:49:37 GMT")`, `boolean:true, nil:nil`},
	{`try(core.rfc850_date, "Sunday, 06-Nov-94 08:49:37 GMT")`, `boolean:true, number:784111777`},
	{`try(core.rfc850_date, "Sun Nov  6 08:49:37 1994")`, `boolean:true, nil:nil`},
	{`try(core.rfc850_date, "Sun Nov 6 08:49:37 1994")`, `boolean:true, nil:nil`},
	{`try(core.rfc850_date, "Mon, 06 Nov 1994 08:49:37 GMT")`, `boolean:true, nil:nil`},
	{`try(core.rfc850_date, "Sun, 06 Nov 1994 08:49:37 GMT x")`, `boolean:true, nil:nil`},
	{`try(core.rfc850_date, "Sun, 06 Nov 1994 08:49:37 UTC")`, `boolean:true, nil:nil`},
	{`try(core.rfc850_date, "sun, 06 nov 1994 08:49:37 GMT")`, `boolean:true, nil:nil`},
	{`try(core.rfc850_date, "Sun, 31 Feb 1994 08:49:37 GMT")`, `boolean:true, nil:nil`},
	{`try(core.rfc850_date, "Sun, 06 Nov 1994 24:49:37 GMT")`, `boolean:true, nil:nil`},
	{`try(core.rfc850_date, "Sun, 06 Nov 1994 08:49:60 GMT")`, `boolean:true, nil:nil`},
	{`try(core.rfc850_date, "Sunday, 06-Nov-70 08:49:37 GMT")`, `boolean:true, number:26729377`},
	{`try(core.rfc850_date, "Sunday, 06-Nov-69 08:49:37 GMT")`, `boolean:true, number:-4806623`},
	{`try(core.rfc850_date, "Thu, 01 Jan 1970 00:00:00 GMT")`, `boolean:true, nil:nil`},
	{`try(core.rfc850_date, "Wed, 31 Dec 1969 23:59:59 GMT")`, `boolean:true, nil:nil`},
	{`try(core.rfc850_date, "Fri, 31 Dec 9999 23:59:59 GMT")`, `boolean:true, nil:nil`},
	{`try(core.rfc850_date, "Sun, 6 Nov 1994 08:49:37 GMT")`, `boolean:true, nil:nil`},
	{`try(core.rfc850_date, "")`, `boolean:true, nil:nil`},
	{`try(core.rfc850_date, nil)`, `boolean:false, "bad argument #1 to '?' (string expected, got nil)"`},
	{`try(core.rfc850_date, 784111777)`, `boolean:true, nil:nil`},
	{`try(core.rfc850_date)`, `boolean:false, "bad argument #1 to '?' (string expected, got no value)"`},
	{`try(core.asctime_date, "Sun, 06 Nov 1994 08:49:37 GMT")`, `boolean:true, nil:nil`},
	{`try(core.asctime_date, "Sunday, 06-Nov-94 08:49:37 GMT")`, `boolean:true, nil:nil`},
	{`try(core.asctime_date, "Sun Nov  6 08:49:37 1994")`, `boolean:true, number:784111777`},
	{`try(core.asctime_date, "Sun Nov 6 08:49:37 1994")`, `boolean:true, nil:nil`},
	{`try(core.asctime_date, "Mon, 06 Nov 1994 08:49:37 GMT")`, `boolean:true, nil:nil`},
	{`try(core.asctime_date, "Sun, 06 Nov 1994 08:49:37 GMT x")`, `boolean:true, nil:nil`},
	{`try(core.asctime_date, "Sun, 06 Nov 1994 08:49:37 UTC")`, `boolean:true, nil:nil`},
	{`try(core.asctime_date, "sun, 06 nov 1994 08:49:37 GMT")`, `boolean:true, nil:nil`},
	{`try(core.asctime_date, "Sun, 31 Feb 1994 08:49:37 GMT")`, `boolean:true, nil:nil`},
	{`try(core.asctime_date, "Sun, 06 Nov 1994 24:49:37 GMT")`, `boolean:true, nil:nil`},
	{`try(core.asctime_date, "Sun, 06 Nov 1994 08:49:60 GMT")`, `boolean:true, nil:nil`},
	{`try(core.asctime_date, "Sunday, 06-Nov-70 08:49:37 GMT")`, `boolean:true, nil:nil`},
	{`try(core.asctime_date, "Sunday, 06-Nov-69 08:49:37 GMT")`, `boolean:true, nil:nil`},
	{`try(core.asctime_date, "Thu, 01 Jan 1970 00:00:00 GMT")`, `boolean:true, nil:nil`},
	{`try(core.asctime_date, "Wed, 31 Dec 1969 23:59:59 GMT")`, `boolean:true, nil:nil`},
	{`try(core.asctime_date, "Fri, 31 Dec 9999 23:59:59 GMT")`, `boolean:true, nil:nil`},
	{`try(core.asctime_date, "Sun, 6 Nov 1994 08:49:37 GMT")`, `boolean:true, nil:nil`},
	{`try(core.asctime_date, "")`, `boolean:true, nil:nil`},
	{`try(core.asctime_date, nil)`, `boolean:false, "bad argument #1 to '?' (string expected, got nil)"`},
	{`try(core.asctime_date, 784111777)`, `boolean:true, nil:nil`},
	{`try(core.asctime_date)`, `boolean:false, "bad argument #1 to '?' (string expected, got no value)"`},
	// rfc850 with a 4-digit year; asctime with a 2-digit day
	{`core.rfc850_date("Sunday, 06-Nov-1994 08:49:37 GMT")`, `784111777`},
	{`core.asctime_date("Sun Nov 16 08:49:37 1994")`, `784975777`},
	{`core.http_date("Tue, 19 Jan 2038 03:14:08 GMT")`, `2147483648`},
}

func TestCoreDates(t *testing.T) {
	for _, ctx := range []context{ctxBody, ctxAction, ctxFetch} {
		t.Run(ctx.String(), func(t *testing.T) { runCases(t, ctx, dateCases) })
	}
}

func FuzzHTTPDate(f *testing.F) {
	for _, s := range []string{"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		t1, ok1 := parseHTTPDate([]byte(s))
		_, ok2 := parseIMFDate([]byte(s))
		_, ok3 := parseRFC850Date([]byte(s))
		_, ok4 := parseASCTimeDate([]byte(s))
		if ok1 != (ok2 || ok3 || ok4) {
			t.Fatalf("%q: http_date %v, but imf %v rfc850 %v asctime %v", s, ok1, ok2, ok3, ok4)
		}
		if ok1 && t1 < -62167219200-86400*400 {
			t.Fatalf("%q: %d is before year 0", s, t1)
		}
	})
}
