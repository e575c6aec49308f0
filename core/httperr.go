package core

import (
	"net/http"
	"strconv"
)

// errorTexts are the sentences of HAProxy's built-in error pages.
var errorTexts = map[int]string{
	200: "Service ready.",
	400: "Your browser sent an invalid request.",
	401: "You need a valid user and password to access this content.",
	403: "Request forbidden by administrative rules.",
	404: "The resource could not be found.",
	405: "A request was made of a resource using a request method not supported by that resource",
	407: "You need a valid user and password to access this content.",
	408: "Your browser didn't send a complete request in time.",
	410: "The resource is no longer available and will not be available again.",
	413: "The request entity exceeds the maximum allowed.",
	421: "The request was directed at a server that is not able to produce a response.",
	422: "The server cannot process the contained instructions.",
	425: "Your browser sent early data.",
	429: "You have sent too many requests in a given amount of time.",
	500: "An internal server error occurred.",
	501: "The server does not support the functionality required to fulfill the request.",
	502: "The server returned an invalid or incomplete response.",
	503: "No server is available to handle this request.",
	504: "The server didn't respond in time.",
}

// reasons are HAProxy's reason phrases where they differ from Go's.
var reasons = map[int]string{
	400: "Bad request",
	408: "Request Time-out",
	504: "Gateway Time-out",
}

// Reason returns HAProxy's reason phrase for a status code.
func Reason(code int) string {
	if r, ok := reasons[code]; ok {
		return r
	}
	if r := http.StatusText(code); r != "" {
		return r
	}
	return "Unknown"
}

// ErrorPageStatus is the status of the error page HAProxy picks for a
// transaction's status (http_error_message): its own, or 500 when it
// has no page.
func ErrorPageStatus(code int) int {
	if _, ok := errorTexts[code]; ok {
		return code
	}
	return 500
}

// errorBody is the HTML body of a built-in error page.
func errorBody(code int) string {
	text, ok := errorTexts[code]
	if !ok {
		text = errorTexts[500]
		code = 500
	}
	return "<html><body><h1>" + strconv.Itoa(code) + " " + Reason(code) + "</h1>\n" + text + "\n</body></html>\n"
}

// muxErrorPage is the page the HTTP/1 layer answers before a request
// exists (400 for a malformed request, 408 for a timeout), with
// HAProxy 2.6's header spelling for those.
func muxErrorPage(code int) []byte {
	body := errorBody(code)
	return []byte("HTTP/1.1 " + strconv.Itoa(code) + " " + Reason(code) + "\r\n" +
		"Content-length: " + strconv.Itoa(len(body)) + "\r\n" +
		"Cache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n" + body)
}
