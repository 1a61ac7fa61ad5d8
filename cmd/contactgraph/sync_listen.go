package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/client"
)

// listenConfig is the configuration of sync --listen.
type listenConfig struct {
	Addr            string        // where the receiver listens; "" for no --listen
	NotificationURL string        // the receiver's public URL; "" for http://Addr/
	Lifetime        time.Duration // asked of each subscription create and renewal
}

// Renewal and shutdown timings of sync --listen.
const (
	renewAt         = 0.8              // renew after this share of the time left
	renewRetryMax   = time.Minute      // most time between attempts of a failing renewal
	deleteTimeout   = 10 * time.Second // for deleting the subscription on the way out
	listenerTimeout = 5 * time.Second  // for in-flight notification POSTs on the way out
)

func (c *listenConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "listen", "", "keep running as a change notification receiver on `ADDR`, such as 127.0.0.1:8090: subscribe to the --url collection, run a round at start and one after each batch of notifications, a full resync after missed or subscriptionRemoved, renew the subscription before it expires; on SIGINT/SIGTERM delete it and exit")
	fs.StringVar(&c.NotificationURL, "notification-url", "", "with --listen, the public `URL` at which the server reaches the listener (a tunnel or reverse proxy to ADDR), such as https://hooks.example.com/contacts; sent as notificationUrl and lifecycleNotificationUrl (default http://ADDR/)")
	fs.DurationVar(&c.Lifetime, "subscription-lifetime", time.Hour, "with --listen, the lifetime asked for the subscription, renewed when 80% of it has passed; more than the server allows is refused (Graph: 10080m for contacts; contactgraph: serve --subscription-lifetime)")
}

// check refuses --listen flags that do not fit together.
func (c listenConfig) check(fs *flag.FlagSet, every time.Duration) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if c.Addr == "" {
		for _, name := range []string{"notification-url", "subscription-lifetime"} {
			if set[name] {
				return fmt.Errorf("sync: --%s needs --listen", name)
			}
		}
		return nil
	}
	if every > 0 {
		return errors.New("sync: --every and --listen do not go together: with --listen, notifications start the rounds")
	}
	if c.Lifetime <= 0 {
		return errors.New("sync: --subscription-lifetime must be positive")
	}
	if c.NotificationURL != "" {
		u, err := url.Parse(c.NotificationURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("sync: --notification-url %q is not an http or https URL", c.NotificationURL)
		}
	}
	return nil
}

// deltaResource splits a delta URL into the service root and the resource
// to subscribe to: …/v1.0/me/contacts/delta?$select=… is …/v1.0 and
// me/contacts; …/me/contactFolders/{id}/contacts/delta is
// me/contactFolders/{id}/contacts. The root ends at the first path segment
// v1.0 or beta; delta may also be spelled delta() or
// microsoft.graph.delta(). The query is dropped: a subscription's
// resource takes $select only with resource data.
func deltaResource(raw string) (base, resource string, err error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return "", "", fmt.Errorf("sync: --url %q is not an absolute URL", raw)
	}
	segs := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	root := -1
	for i, s := range segs {
		if strings.EqualFold(s, "v1.0") || strings.EqualFold(s, "beta") {
			root = i
			break
		}
	}
	last := strings.TrimSuffix(strings.ToLower(segs[len(segs)-1]), "()")
	if root < 0 || len(segs)-root < 3 || (last != "delta" && last != "microsoft.graph.delta") {
		return "", "", fmt.Errorf("sync: --listen needs a --url of a delta collection under a service root, such as https://graph.microsoft.com/v1.0/me/contacts/delta; %q is not one", raw)
	}
	base = u.Scheme + "://" + u.Host + "/" + strings.Join(segs[:root+1], "/")
	return base, strings.Join(segs[root+1:len(segs)-1], "/"), nil
}

// newClientState returns a random clientState from r: 32 bytes, base64url.
func newClientState(r io.Reader) (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("sync: clientState: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// listener is sync --listen at work. Its receiver records what
// notifications ask for in pending and wakes the loop; everything else,
// rounds and subscription calls alike, runs on the loop's goroutine, one
// thing at a time.
type listener struct {
	run         *syncRun
	cfg         listenConfig
	base        string // the service root of --url
	resource    string
	notifyURL   string // notificationUrl and lifecycleNotificationUrl
	clientState string
	sub         client.Subscription // the current subscription; "" ID for none
	renewal     *time.Timer         // fires when sub is due for renewal

	mu      sync.Mutex // guards pending
	pending pending
	wake    chan struct{} // capacity 1: a burst of notifications is one wake-up
}

// pending is the work notifications asked for since the loop last looked.
type pending struct {
	round   bool            // a change notification arrived
	missed  bool            // a missed lifecycle notification arrived
	reauth  bool            // a reauthorizationRequired arrived
	removed map[string]bool // ids of subscriptionRemoved notifications
}

// handle is the receiver's Handle: it records the work the notifications
// ask for and wakes the loop, without waiting for it.
func (l *listener) handle(_ context.Context, n client.Notifications) error {
	l.mu.Lock()
	for _, it := range n.Value {
		switch it.LifecycleEvent {
		case "":
			l.pending.round = true
		case "missed":
			l.pending.missed = true
		case "reauthorizationRequired":
			l.pending.reauth = true
		case "subscriptionRemoved":
			if l.pending.removed == nil {
				l.pending.removed = map[string]bool{}
			}
			l.pending.removed[it.SubscriptionID] = true
		default: // an event this version does not know: a round is never wrong
			l.pending.round = true
		}
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return nil
}

// take returns the pending work and clears it.
func (l *listener) take() pending {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pending
	l.pending = pending{}
	return p
}

// syncListen runs sync --listen: it listens on cfg.Addr with a
// client.Receiver checking a random clientState, subscribes to the
// collection of r.url with that receiver as notificationUrl and
// lifecycleNotificationUrl, runs a round, and then:
//   - a round after each batch of change notifications; notifications that
//     arrive during a round make one more round after it;
//   - a full resync (the deltaLink dropped) after missed, and after
//     subscriptionRemoved of the current subscription, once a new one is
//     made (the old one is deleted, in case it still exists);
//   - a renewal (PATCH, with a fresh token) after reauthorizationRequired
//     and when 80% of the time left has passed; a renewal the server
//     answers 404 makes a new subscription and a full resync, other
//     failures are retried;
//
// until ctx ends: then it deletes the subscription, stops the listener and
// returns nil, or the error of the deletion. A failed round, a failed
// subscribe or a listener that stops ends it with an error, after the same
// cleanup. Main.Ready, when set, gets the listener's URL once the
// subscription exists and the first round is saved.
func (m *Main) syncListen(ctx context.Context, r *syncRun, cfg listenConfig) error {
	base, resource, err := deltaResource(r.url)
	if err != nil {
		return err
	}
	src := m.Rand
	if src == nil {
		src = rand.Reader
	}
	clientState, err := newClientState(src)
	if err != nil {
		return err
	}
	l := &listener{run: r, cfg: cfg, base: base, resource: resource, clientState: clientState, wake: make(chan struct{}, 1)}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	own := "http://" + displayAddr(ln.Addr()) + "/"
	l.notifyURL = cfg.NotificationURL
	if l.notifyURL == "" {
		l.notifyURL = own
	}
	srv := &http.Server{
		Handler:           &client.Receiver{ClientState: clientState, Handle: l.handle},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(slog.NewTextHandler(m.Stderr, nil), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	l.printf("listening on %s for notifications to %s", ln.Addr(), l.notifyURL)
	err = l.loop(ctx, served, func() {
		if m.Ready != nil {
			m.Ready(own)
		}
	})
	if l.sub.ID != "" {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
		derr := r.c.DeleteSubscription(dctx, base, l.sub.ID)
		cancel()
		switch {
		case derr == nil:
			l.printf("subscription %s deleted", l.sub.ID)
		case contactgraph.ErrorCode(derr) == contactgraph.ENotFound:
			l.printf("subscription %s was already gone", l.sub.ID)
		default:
			err = errors.Join(err, fmt.Errorf("sync: deleting subscription %s: %w", l.sub.ID, derr))
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), listenerTimeout)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		err = errors.Join(err, fmt.Errorf("sync: stopping the listener: %w", serr))
	}
	return err
}

// loop subscribes, runs the first round, calls ready, then serves the
// pending work until ctx ends (nil) or something fails (its error).
func (l *listener) loop(ctx context.Context, served <-chan error, ready func()) error {
	stopped := func(err error) error {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	l.renewal = time.NewTimer(time.Hour)
	defer l.renewal.Stop()
	if err := l.subscribe(ctx); err != nil {
		return stopped(err)
	}
	if err := l.run.round(ctx); err != nil {
		return stopped(err)
	}
	ready()
	for {
		due := false
		select {
		case <-ctx.Done():
			return nil
		case err := <-served:
			return fmt.Errorf("sync: the listener stopped: %w", err)
		case <-l.wake:
		case <-l.renewal.C:
			due = true
		}
		p := l.take()
		resync := p.missed
		if p.missed {
			l.printf("missed notifications: full resync")
		}
		switch {
		case p.removed[l.sub.ID]:
			l.printf("subscription %s removed by the server", l.sub.ID)
			l.forget(ctx, l.sub.ID)
			if err := l.subscribe(ctx); err != nil {
				return stopped(err)
			}
			l.printf("subscription removed: full resync")
			resync = true
		case p.reauth || due:
			why := "due"
			if p.reauth {
				why = "reauthorizationRequired"
			}
			gone, err := l.renew(ctx, why)
			if err != nil {
				return stopped(err)
			}
			if gone {
				l.printf("subscription gone: full resync")
				resync = true
			}
		}
		if resync {
			l.run.st.DeltaLink = ""
		}
		if resync || p.round {
			if err := l.run.round(ctx); err != nil {
				return stopped(err)
			}
		}
	}
}

// subscribe makes a new subscription and schedules its renewal.
func (l *listener) subscribe(ctx context.Context) error {
	sub, err := l.run.c.Subscribe(ctx, l.base, client.Subscription{
		Resource: l.resource, ChangeType: "created,updated,deleted",
		NotificationURL: l.notifyURL, LifecycleNotificationURL: l.notifyURL,
		ExpirationDateTime: time.Now().Add(l.cfg.Lifetime), ClientState: l.clientState,
	})
	if err != nil {
		return fmt.Errorf("sync: subscribing to %s: %w", l.resource, err)
	}
	l.sub = sub
	l.printf("subscription %s created for %s, expires %s", sub.ID, sub.Resource, sub.ExpirationDateTime.UTC().Format(time.RFC3339))
	l.schedule(renewAt * float64(time.Until(sub.ExpirationDateTime)))
	return nil
}

// renew extends the subscription by the configured lifetime. When the
// server no longer has it, renew subscribes again and reports gone: the
// caller must resync. Other failures are printed to stderr and retried
// later; only a failed subscribe is an error.
func (l *listener) renew(ctx context.Context, why string) (gone bool, err error) {
	sub, err := l.run.c.RenewSubscription(ctx, l.base, l.sub.ID, time.Now().Add(l.cfg.Lifetime))
	switch {
	case err == nil:
		l.sub.ExpirationDateTime = sub.ExpirationDateTime
		l.printf("subscription %s renewed until %s (%s)", l.sub.ID, sub.ExpirationDateTime.UTC().Format(time.RFC3339), why)
		l.schedule(renewAt * float64(time.Until(sub.ExpirationDateTime)))
		return false, nil
	case ctx.Err() != nil:
		return false, ctx.Err()
	case contactgraph.ErrorCode(err) == contactgraph.ENotFound:
		l.printf("subscription %s is gone", l.sub.ID)
		return true, l.subscribe(ctx)
	}
	retry := min(time.Until(l.sub.ExpirationDateTime)/2, renewRetryMax)
	fmt.Fprintf(l.run.m.Stderr, "sync: renewing subscription %s: %v; trying again in %s\n", l.sub.ID, err, retry.Round(time.Second))
	l.schedule(float64(retry))
	return false, nil
}

// forget deletes a subscription the server said it removed, in case it
// did not; a failure is only printed to stderr.
func (l *listener) forget(ctx context.Context, id string) {
	err := l.run.c.DeleteSubscription(ctx, l.base, id)
	if err != nil && contactgraph.ErrorCode(err) != contactgraph.ENotFound && ctx.Err() == nil {
		fmt.Fprintf(l.run.m.Stderr, "sync: deleting removed subscription %s: %v\n", id, err)
	}
}

// schedule sets the renewal timer to fire in d nanoseconds, at least a
// second from now.
func (l *listener) schedule(d float64) {
	l.renewal.Reset(max(time.Duration(d), time.Second))
}

func (l *listener) printf(format string, args ...any) {
	fmt.Fprintf(l.run.m.Stdout, "%s: %s\n", time.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, args...))
}
