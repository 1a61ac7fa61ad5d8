package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/contactgraph/contactgraph"
)

// Client runs delta rounds over HTTP.
type Client struct {
	HTTP *http.Client // nil for http.DefaultClient
	// Token returns the bearer token for a request; nil sends none.
	Token func(ctx context.Context) (string, error)
	// PageSize, when > 0, asks for pages of at most this many items
	// (Prefer: odata.maxpagesize).
	PageSize int
	// Minimal asks for only the changed properties of org contacts
	// (Prefer: return=minimal).
	Minimal bool
	// Retries bounds the retries of one request after 429, 503, 504 or a
	// transport error; 0 means 5.
	Retries int
	// MaxWait caps one wait between retries; 0 means 30 seconds.
	MaxWait time.Duration
	// Sleep waits; nil waits on a timer. Tests inject their own.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Item is one entry of a delta page.
type Item struct {
	ID      string
	Removed string          // "" for a present object, else the @removed reason ("deleted", "changed")
	Raw     json.RawMessage // the whole JSON object as the server sent it
}

// Page is one delta page.
type Page struct {
	Items     []Item
	NextLink  string
	DeltaLink string
}

// HTTPError is an error answer of the server.
type HTTPError struct {
	Status     int
	Code       string // the Graph error code
	Message    string
	RequestID  string
	RetryAfter time.Duration
	Location   string // of a 410 resync answer: where to start over
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("graph: %d %s: %s (request-id %s)", e.Status, e.Code, e.Message, e.RequestID)
}

// codes maps Graph error codes (compared case-insensitively) to domain codes.
var codes = map[string]contactgraph.Code{
	"syncstatenotfound":           contactgraph.ESyncStateExpired,
	"syncstateinvalid":            contactgraph.ESyncStateExpired,
	"resyncrequired":              contactgraph.EResyncRequired,
	"erroritemnotfound":           contactgraph.ENotFound,
	"itemnotfound":                contactgraph.ENotFound,
	"request_resourcenotfound":    contactgraph.ENotFound,
	"errorinvaliduser":            contactgraph.EUserNotFound,
	"erroraccessdenied":           contactgraph.EForbidden,
	"authorization_requestdenied": contactgraph.EForbidden,
	"accessdenied":                contactgraph.EForbidden,
	"invalidauthenticationtoken":  contactgraph.EUnauthenticated,
	"errorinvalididmalformed":     contactgraph.EMalformedID,
	"request_unsupportedquery":    contactgraph.EUnsupported,
	"errorinvalidurlquery":        contactgraph.EUnsupported,
	"errorfolderexists":           contactgraph.EFolderExists,
	"toomanyrequests":             contactgraph.EThrottled,
	"servicenotavailable":         contactgraph.EUnavailable,
}

// codeOf returns the domain code of an HTTP error answer.
func codeOf(e *HTTPError) contactgraph.Code {
	if c, ok := codes[strings.ToLower(e.Code)]; ok {
		return c
	}
	switch {
	case e.Status == http.StatusGone:
		return contactgraph.EResyncRequired
	case e.Status == http.StatusNotFound:
		return contactgraph.ENotFound
	case e.Status == http.StatusUnauthorized:
		return contactgraph.EUnauthenticated
	case e.Status == http.StatusForbidden:
		return contactgraph.EForbidden
	case e.Status == http.StatusPreconditionFailed:
		return contactgraph.EPrecondition
	case e.Status == http.StatusConflict:
		return contactgraph.EConflict
	case e.Status == http.StatusTooManyRequests:
		return contactgraph.EThrottled
	case e.Status == http.StatusServiceUnavailable:
		return contactgraph.EUnavailable
	case e.Status >= 400 && e.Status < 500:
		return contactgraph.EInvalid
	}
	return contactgraph.EInternal
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// prefer returns the Prefer header value, re-sent on every page.
func (c *Client) prefer() string {
	var p []string
	if c.PageSize > 0 {
		p = append(p, "odata.maxpagesize="+strconv.Itoa(c.PageSize))
	}
	if c.Minimal {
		p = append(p, "return=minimal")
	}
	return strings.Join(p, ", ")
}

// Get fetches one delta page from link, retrying throttling, unavailability
// and transport errors.
func (c *Client) Get(ctx context.Context, link string) (Page, error) {
	var p Page
	err := c.retry(ctx, func() (wait time.Duration, err error) {
		p, wait, err = c.get(ctx, link)
		return wait, err
	})
	return p, err
}

// retry calls try until it succeeds, its error is final (wait < 0) or the
// client's retries are spent, and returns its last error. Between attempts
// it waits what try asked for or, when that is 0, an exponential backoff
// with jitter; at most MaxWait either way.
func (c *Client) retry(ctx context.Context, try func() (wait time.Duration, err error)) error {
	retries := c.Retries
	if retries == 0 {
		retries = 5
	}
	maxWait := c.MaxWait
	if maxWait == 0 {
		maxWait = 30 * time.Second
	}
	for attempt := 0; ; attempt++ {
		wait, err := try()
		if err == nil || wait < 0 || attempt >= retries {
			return err
		}
		if wait == 0 {
			// Exponential backoff with jitter for transport errors and
			// answers without Retry-After.
			wait = time.Duration(float64(100*time.Millisecond) * float64(int(1)<<attempt) * (0.5 + rand.Float64()))
		}
		if err := c.sleep(ctx, min(wait, maxWait)); err != nil {
			return err
		}
	}
}

// authorize sets the bearer token of req when the client has a Token func.
func (c *Client) authorize(ctx context.Context, req *http.Request) error {
	if c.Token == nil {
		return nil
	}
	tok, err := c.Token(ctx)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

// get makes one request. wait < 0 means the error is final; otherwise the
// request may be retried after wait (0: the caller's backoff).
func (c *Client) get(ctx context.Context, link string) (Page, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return Page{}, -1, err
	}
	req.Header.Set("Accept", "application/json")
	if p := c.prefer(); p != "" {
		req.Header.Set("Prefer", p)
	}
	if err := c.authorize(ctx, req); err != nil {
		return Page{}, -1, err
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Page{}, -1, ctx.Err()
		}
		return Page{}, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return Page{}, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		wait, err := answerError(resp, body)
		return Page{}, wait, err
	}
	p, err := decodePage(body)
	if err != nil {
		return Page{}, -1, err
	}
	return p, 0, nil
}

// answerError turns an error answer into a *contactgraph.Error with the
// domain code of its Graph code, wrapping its *HTTPError. wait is the
// Retry-After of a 429, 502, 503 or 504 (0 when none was given), which may
// be retried; any other answer is final (wait < 0).
func answerError(resp *http.Response, body []byte) (wait time.Duration, err error) {
	herr := httpError(resp, body)
	err = &contactgraph.Error{Code: codeOf(herr), Message: herr.Message, Err: herr}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusBadGateway:
		return herr.RetryAfter, err
	}
	return -1, err
}

func httpError(resp *http.Response, body []byte) *HTTPError {
	e := &HTTPError{Status: resp.StatusCode, RequestID: resp.Header.Get("request-id"), Location: resp.Header.Get("Location")}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if secs, err := strconv.ParseFloat(s, 64); err == nil && secs >= 0 {
			e.RetryAfter = time.Duration(secs * float64(time.Second))
		} else if t, err := http.ParseTime(s); err == nil {
			e.RetryAfter = max(time.Until(t), 0)
		}
	}
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil {
		e.Code, e.Message = env.Error.Code, env.Error.Message
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// Round follows one round from link (a first delta URL or a saved
// deltaLink) to its end, calling apply for every item in order, and
// returns the round's deltaLink. It does not restart on an expired token:
// see Sync.
func (c *Client) Round(ctx context.Context, link string, apply func(Item) error) (string, error) {
	for pages := 0; ; pages++ {
		p, err := c.Get(ctx, link)
		if err != nil {
			return "", err
		}
		for _, it := range p.Items {
			if err := apply(it); err != nil {
				return "", err
			}
		}
		if p.DeltaLink != "" {
			return p.DeltaLink, nil
		}
		link = p.NextLink
	}
}

// Mirror is a local copy of a collection that rounds are applied to.
type Mirror interface {
	// Reset empties the mirror before a full resynchronization.
	Reset() error
	// Apply applies one delta item.
	Apply(Item) error
}

// Resyncs reports whether err means the sync state is gone and the client
// must start over with a full round.
func Resyncs(err error) bool {
	c := contactgraph.ErrorCode(err)
	return c == contactgraph.ESyncStateExpired || c == contactgraph.EResyncRequired
}

// Sync brings m up to date: it runs a round from deltaLink (or, when it is
// empty, a first round from initial) and returns the new deltaLink to save.
// When the server says the sync state is gone, it resets m and runs a full
// round from initial (or from the Location the server named).
func (c *Client) Sync(ctx context.Context, initial, deltaLink string, m Mirror) (string, error) {
	link := deltaLink
	if link == "" {
		link = initial
		if err := m.Reset(); err != nil {
			return "", err
		}
	}
	next, err := c.Round(ctx, link, m.Apply)
	if err == nil || !Resyncs(err) || link == initial {
		return next, err
	}
	restart := initial
	var herr *HTTPError
	if errors.As(err, &herr) && herr.Location != "" {
		restart = herr.Location
	}
	if err := m.Reset(); err != nil {
		return "", err
	}
	return c.Round(ctx, restart, m.Apply)
}
