//go:build lua53

package luabind

import (
	"bytes"
	gocontext "context"
	"errors"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"luaproxy/luabind/vm"
	"luaproxy/netio"
)

// HTTPClient is the Lua "HTTPClient" class (core.httpclient()): outbound
// HTTP requests that yield while the exchange runs (in Go, outside the
// state's lock), so the state keeps serving.
type HTTPClient struct {
	// res is the last response, handed from the wait to the continuation.
	res *httpClientResult
}

type httpClientResult struct {
	status  int
	reason  string
	headers http.Header
	order   []string
	body    []byte
}

var httpClientClass = declareClass(&vm.Class[*HTTPClient]{
	Name: "HTTPClient",
	Methods: []vm.Method[*HTTPClient]{
		{Name: "get", Fn: httpClientMethod("GET")},
		{Name: "head", Fn: httpClientMethod("HEAD")},
		{Name: "put", Fn: httpClientMethod("PUT")},
		{Name: "post", Fn: httpClientMethod("POST")},
		{Name: "delete", Fn: httpClientMethod("DELETE")},
	},
})

// luaCoreHTTPClient implements core.httpclient(). Like core.tcp(), it is
// refused in the body (no I/O there).
func luaCoreHTTPClient(c *vm.Call) (int, error) {
	if iv := inv(c); iv != nil && iv.ctx == ctxBody {
		return 0, errors.New("httpclient: not available in this context")
	}
	httpClientClass.Push(&c.Pusher, &HTTPClient{})
	return 1, nil
}

// httpClientDefaultTimeout bounds an exchange without request.timeout.
const httpClientDefaultTimeout = 30 * time.Second

// httpClientMethod implements HTTPClient.get/head/put/post/delete(hc,
// request): request is {url=, headers={name={v1,...}}, body=, dst=,
// timeout=ms}; the result is {status=, reason=, headers={name={v1,...}},
// body=}, with status 0 on a connection failure or a timeout. It yields.
func httpClientMethod(method string) func(*HTTPClient, *vm.Call) (int, error) {
	return func(hc *HTTPClient, c *vm.Call) (int, error) {
		if c.Type(2) != vm.TypeTable {
			return 0, c.ArgError(2, "table expected")
		}
		req, _ := c.Value(2).(map[any]any)
		url, _ := req["url"].(string)
		if url == "" {
			return 0, errors.New("httpclient: 'url' parameter missing")
		}
		var body []byte
		if b, ok := req["body"].(string); ok {
			body = []byte(b)
		}
		timeout := httpClientDefaultTimeout
		if ms, ok := req["timeout"].(int64); ok && ms > 0 {
			timeout = time.Duration(ms) * time.Millisecond
		}
		dst, _ := req["dst"].(string)
		hdrs := http.Header{}
		if h, ok := req["headers"].(map[any]any); ok {
			for k, v := range h {
				name, _ := k.(string)
				vals, _ := v.(map[any]any)
				keys := make([]int64, 0, len(vals))
				for i := range vals {
					if n, ok := i.(int64); ok {
						keys = append(keys, n)
					}
				}
				sort.Slice(keys, func(a, b int) bool { return keys[a] < keys[b] })
				for _, i := range keys {
					if s, ok := vals[i].(string); ok && name != "" {
						hdrs.Add(name, s)
					}
				}
			}
		}
		if !c.CanYield() {
			return 0, errors.New("httpclient: yield not allowed in this context")
		}
		return c.Yield(func() {
			hc.res = doHTTPClient(method, url, hdrs, body, dst, timeout)
		}, hc.pushResult)
	}
}

// pushResult is the continuation: the response table.
func (hc *HTTPClient) pushResult(c *vm.Call) (int, error) {
	r := hc.res
	hc.res = nil
	p := &c.Pusher
	p.NewTable(0, 4)
	p.FieldInteger("status", int64(r.status))
	if r.status != 0 {
		p.FieldString("reason", r.reason)
		p.Field("headers", func() {
			p.NewTable(0, len(r.order))
			for _, n := range r.order {
				vals := r.headers.Values(n)
				p.Field(strings.ToLower(n), func() {
					p.NewTable(len(vals), 0)
					for i, v := range vals {
						p.PushString(v)
						p.SetIndex(int64(i + 1))
					}
				})
			}
		})
		p.Field("body", func() { p.PushBytes(r.body) })
	}
	return 1, nil
}

// doHTTPClient runs one exchange; failures give status 0.
func doHTTPClient(method, url string, hdrs http.Header, body []byte, dst string, timeout time.Duration) *httpClientResult {
	ctx, cancel := gocontext.WithTimeout(gocontext.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return &httpClientResult{}
	}
	req.Header = hdrs
	if len(body) == 0 {
		req.Body = nil
	}
	tr := &http.Transport{DisableCompression: true, DisableKeepAlives: true}
	if dst != "" {
		a, err := netio.ParseAddr(dst)
		if err != nil {
			return &httpClientResult{}
		}
		tr.DialContext = func(ctx gocontext.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, a.Net, a.Address)
		}
	}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}).Do(req)
	if err != nil {
		return &httpClientResult{}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return &httpClientResult{}
	}
	out := &httpClientResult{status: res.StatusCode, headers: res.Header, body: b}
	out.reason = strings.TrimSpace(strings.TrimPrefix(res.Status, res.Status[:min(3, len(res.Status))]))
	for n := range res.Header {
		out.order = append(out.order, n)
	}
	sort.Strings(out.order)
	return out
}
