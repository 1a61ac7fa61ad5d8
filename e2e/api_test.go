package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// requestTimeout bounds one HTTP exchange: a server that hangs is a bug,
// not something to wait for.
const requestTimeout = 30 * time.Second

// errNoServer is the balancer's answer when no replica is up: the request
// was not sent.
var errNoServer = errors.New("e2e: no server is up")

// balancer is an http.RoundTripper that sends each request to a replica
// that is up, chosen at random, whatever host the URL names: a load
// balancer in front of the replicas, as a deployment has. The request's
// Host is the replica's, so links in answers name that replica.
type balancer struct {
	servers []*server
	base    http.RoundTripper

	mu  sync.Mutex
	rnd *rand.Rand
}

func newBalancer(servers ...*server) *balancer {
	return &balancer{servers: servers, base: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
		rnd: rand.New(rand.NewPCG(rand.Uint64(), 0))}
}

// pick returns the address of a replica that is up, or "".
func (b *balancer) pick() string {
	up := make([]string, 0, len(b.servers))
	for _, s := range b.servers {
		if a := s.Addr(); a != "" {
			up = append(up, a)
		}
	}
	if len(up) == 0 {
		return ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return up[b.rnd.IntN(len(up))]
}

func (b *balancer) RoundTrip(req *http.Request) (*http.Response, error) {
	addr := b.pick()
	if addr == "" {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errNoServer
	}
	r := req.Clone(req.Context())
	r.URL.Host, r.Host = addr, addr
	return b.base.RoundTrip(r)
}

// httpClient returns a client that sends every request through b.
func (b *balancer) httpClient() *http.Client {
	return &http.Client{Transport: b, Timeout: requestTimeout}
}

// api sends Graph requests with one bearer token. Paths are relative to
// the base URL (".../v1.0") or absolute links.
type api struct {
	http  *http.Client
	base  string
	token string
}

// reply is a server's answer.
type reply struct {
	method, url string
	reqBody     []byte
	status      int
	header      http.Header
	body        []byte
}

// String describes the exchange for reports: request, status and body.
func (r reply) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.method, r.url)
	if len(r.reqBody) > 0 {
		fmt.Fprintf(&b, "\n  > %s", clip(r.reqBody))
	}
	fmt.Fprintf(&b, "\n  < %d request-id=%s", r.status, r.header.Get("request-id"))
	if len(r.body) > 0 {
		fmt.Fprintf(&b, "\n  < %s", clip(r.body))
	}
	return b.String()
}

// summary describes the exchange in one line, without bodies.
func (r reply) summary() string {
	return fmt.Sprintf("%s %s -> %d (request-id %s)", r.method, r.url, r.status, r.header.Get("request-id"))
}

func clip(b []byte) string {
	const limit = 2000
	s := strings.TrimSpace(string(b))
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return s
}

// do sends one request. body is nil or a value sent as JSON; hdr holds
// header name, value pairs. An error is a transport error: the request may
// or may not have reached the server, except errNoServer (not sent).
func (a *api) do(ctx context.Context, method, path string, body any, hdr ...string) (reply, error) {
	u := path
	if !strings.HasPrefix(path, "http") {
		u = a.base + path
	}
	rp := reply{method: method, url: u}
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return rp, err
		}
		rp.reqBody = j
		rd = bytes.NewReader(j)
	}
	hdr = append([]string{"Authorization", "Bearer " + a.token}, hdr...)
	if body != nil {
		hdr = append(hdr, "Content-Type", "application/json")
	}
	return exchange(ctx, a.http, rp, rd, hdr...)
}

// exchange sends the request rp describes with body rd and the header
// pairs hdr, and returns rp with the answer. An error is a transport
// error, as for api.do.
func exchange(ctx context.Context, hc *http.Client, rp reply, rd io.Reader, hdr ...string) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, rp.method, rp.url, rd)
	if err != nil {
		return rp, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		return rp, err
	}
	defer resp.Body.Close()
	rp.status, rp.header = resp.StatusCode, resp.Header
	rp.body, err = io.ReadAll(resp.Body)
	return rp, err
}

// object is a JSON object's members.
type object = map[string]json.RawMessage

// obj decodes the body as a JSON object.
func (r reply) obj() (object, error) {
	var o object
	if err := json.Unmarshal(r.body, &o); err != nil {
		return nil, fmt.Errorf("%s: body is not a JSON object: %v", r, err)
	}
	return o, nil
}

// str returns a string member of o, or "".
func str(o object, name string) string {
	var s string
	json.Unmarshal(o[name], &s)
	return s
}

// want checks an answer's status and decodes its body (when it has one).
func (r reply) want(status int) (object, error) {
	if r.status != status {
		return nil, fmt.Errorf("want status %d: %s", status, r)
	}
	if status == http.StatusNoContent {
		return nil, nil
	}
	return r.obj()
}

// list reads every item of a list endpoint, following @odata.nextLink.
func (a *api) list(ctx context.Context, path string) ([]object, error) {
	var out []object
	link := path
	for pages := 0; link != ""; pages++ {
		if pages > 100000 {
			return nil, fmt.Errorf("list %s: more than %d pages", path, pages)
		}
		r, err := a.do(ctx, http.MethodGet, link, nil)
		if err != nil {
			return nil, err
		}
		var page struct {
			Value []object `json:"value"`
			Next  string   `json:"@odata.nextLink"`
		}
		if r.status != http.StatusOK {
			return nil, fmt.Errorf("list: %s", r)
		}
		if err := json.Unmarshal(r.body, &page); err != nil {
			return nil, fmt.Errorf("list: %s: %v", r, err)
		}
		out = append(out, page.Value...)
		link = page.Next
	}
	return out, nil
}
