package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/graphapi"
	"github.com/contactgraph/contactgraph/notify"
	"github.com/contactgraph/contactgraph/ops"
	"github.com/contactgraph/contactgraph/postgres"
	"github.com/contactgraph/contactgraph/sqlite"
)

// notifyConfig configures change notifications: where the server may send
// them and how its senders work.
type notifyConfig struct {
	AllowHTTP         bool
	Allow             string // comma-separated CIDR prefixes or addresses
	Workers           int
	Timeout           time.Duration
	RetryFor          time.Duration
	Lease             time.Duration // how long a sender holds claimed outbox entries
	ValidationTimeout time.Duration
	Lifetime          time.Duration
	RichLifetime      time.Duration
}

func (m *Main) notifyFlags(fs *flag.FlagSet, c *notifyConfig) {
	fs.BoolVar(&c.AllowHTTP, "allow-http-notifications", envBool(m, "ALLOW_HTTP_NOTIFICATIONS"), "accept http:// notification URLs, not only https (on under --emulator) (env CONTACTGRAPH_ALLOW_HTTP_NOTIFICATIONS)")
	fs.StringVar(&c.Allow, "notification-allow", m.env("NOTIFICATION_ALLOW", ""), "comma-separated loopback or private address ranges receivers may be on, such as 10.0.0.0/8,127.0.0.1 (all of them under --emulator; link-local never) (env CONTACTGRAPH_NOTIFICATION_ALLOW)")
	fs.IntVar(&c.Workers, "notification-workers", envInt(m, "NOTIFICATION_WORKERS", 4), "concurrent notification POSTs of this process (env CONTACTGRAPH_NOTIFICATION_WORKERS)")
	fs.DurationVar(&c.Timeout, "notification-timeout", envDuration(m, "NOTIFICATION_TIMEOUT", notify.DefaultTimeout), "how long a receiver has to answer a notification POST (env CONTACTGRAPH_NOTIFICATION_TIMEOUT)")
	fs.DurationVar(&c.RetryFor, "notification-retry-for", envDuration(m, "NOTIFICATION_RETRY_FOR", notify.DefaultRetryFor), "how long a failing notification is retried before it is dropped and a missed lifecycle notification sent (env CONTACTGRAPH_NOTIFICATION_RETRY_FOR)")
	fs.DurationVar(&c.Lease, "notification-lease", envDuration(m, "NOTIFICATION_LEASE", notify.DefaultLease), "how long a sender holds the notifications it claimed; a killed process's claims return to the other senders after it (env CONTACTGRAPH_NOTIFICATION_LEASE)")
	fs.DurationVar(&c.ValidationTimeout, "validation-timeout", envDuration(m, "VALIDATION_TIMEOUT", graphapi.DefaultValidationTimeout), "how long a receiver has to answer the validation request of a new subscription (env CONTACTGRAPH_VALIDATION_TIMEOUT)")
	fs.DurationVar(&c.Lifetime, "subscription-lifetime", envDuration(m, "SUBSCRIPTION_LIFETIME", graphapi.DefaultSubscriptionLifetime), "how far ahead a subscription may expire (env CONTACTGRAPH_SUBSCRIPTION_LIFETIME)")
	fs.DurationVar(&c.RichLifetime, "rich-subscription-lifetime", envDuration(m, "RICH_SUBSCRIPTION_LIFETIME", graphapi.DefaultRichSubscriptionLifetime), "the same for subscriptions with resource data (env CONTACTGRAPH_RICH_SUBSCRIPTION_LIFETIME)")
}

func envBool(m *Main, name string) bool {
	v := m.env(name, "")
	return v == "true" || v == "1"
}

// check validates the configuration and returns the allowed prefixes.
func (c notifyConfig) check() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(c.Allow, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("serve: --notification-allow: %q is not an address or CIDR prefix", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	switch {
	case c.Workers < 1:
		return nil, fmt.Errorf("serve: --notification-workers must be at least 1")
	case c.Timeout <= 0 || c.ValidationTimeout <= 0 || c.RetryFor <= 0:
		return nil, fmt.Errorf("serve: notification timeouts must be positive")
	case c.Lease <= 0:
		return nil, fmt.Errorf("serve: --notification-lease must be positive")
	case c.Lifetime <= 0 || c.RichLifetime <= 0:
		return nil, fmt.Errorf("serve: subscription lifetimes must be positive")
	}
	return out, nil
}

// senderOwner names this process's sender in outbox leases.
func senderOwner() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), contactgraph.NewGUID()[:8])
}

// senderDeps are what the sender takes from the rest of serve: resource
// data and validation tokens for rich notifications, and the emulator's
// delivery faults (nil without --emulator).
type senderDeps struct {
	resourceData    func(context.Context, contactgraph.Notification) ([]byte, error)
	validationToken func(appID, tenantID string, now time.Time) (string, error)
	faults          *notify.Faults
	log             *notify.DeliveryLog // the deliveries GET /subscriptions/{id}/deliveries shows
	metrics         *ops.Metrics        // nil for none
}

// startSender runs the notification sender of this process until ctx
// ends; the returned func waits for it. Commits of this process wake it at
// once; on PostgreSQL, so do the commits of every replica (LISTEN/NOTIFY).
// The sender also sweeps: it removes expired subscriptions and sends
// reauthorizationRequired before the creating token expires.
func startSender(ctx context.Context, store contactgraph.Store, guard *notify.Guard, cfg notifyConfig, deps senderDeps, logger *slog.Logger) func() {
	s := &notify.Sender{
		Store:           store,
		Owner:           senderOwner(),
		Client:          guard.Client(cfg.Timeout),
		Timeout:         cfg.Timeout,
		RetryFor:        cfg.RetryFor,
		Lease:           cfg.Lease,
		Workers:         cfg.Workers,
		ResourceData:    deps.resourceData,
		ValidationToken: deps.validationToken,
		Faults:          deps.faults,
		Log:             deps.log,
		Logf: func(format string, args ...any) {
			logger.Warn(fmt.Sprintf(format, args...))
		},
	}
	if deps.metrics != nil {
		if err := deps.metrics.WatchSender(s); err != nil {
			logger.Error("notification metrics", "err", err)
		}
	}
	var wg sync.WaitGroup
	switch st := ops.Unwrap(store).(type) {
	case *sqlite.DB:
		st.SetWake(s.Wake)
	case *postgres.DB:
		st.SetWake(s.Wake)
		wg.Go(func() { _ = st.Listen(ctx, s.Wake) })
	}
	wg.Go(func() { _ = s.Run(ctx) })
	return wg.Wait
}
