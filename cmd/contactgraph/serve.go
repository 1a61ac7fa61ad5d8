package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/auth"
	"github.com/contactgraph/contactgraph/carddav"
	"github.com/contactgraph/contactgraph/console"
	"github.com/contactgraph/contactgraph/graphapi"
	"github.com/contactgraph/contactgraph/httpguard"
	"github.com/contactgraph/contactgraph/notify"
	"github.com/contactgraph/contactgraph/ops"
)

// serveConfig is the configuration of serve: defaults, then environment
// variables (CONTACTGRAPH_<NAME>), then flags.
type serveConfig struct {
	Addr          string
	DB            string
	DBTimeout     time.Duration
	TLS           bool
	Cert, Key     string
	PublicURL     string
	MaxPageSize   int
	Retention     time.Duration
	DirRetention  time.Duration
	PurgeAfter    time.Duration
	RoundLifetime time.Duration
	PruneEvery    time.Duration
	MaxBody       int64
	JWKSURL       string
	JWKSIssuer    string
	JWKSAudience  string
	DemoTenant    string
	DemoUser      string
	ShutdownAfter time.Duration
	Emulator      bool
	CORSOrigins   []string
	Notify        notifyConfig
	Ops           opsConfig
	Throttle      throttleConfig
	Net           netConfig
	allow         []netip.Prefix // Notify.Allow, parsed
}

func (m *Main) serveFlags(args []string) (serveConfig, error) {
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.StringVar(&c.Addr, "addr", m.env("ADDR", "127.0.0.1:8080"), "listen address (env CONTACTGRAPH_ADDR)")
	fs.StringVar(&c.DB, "db", m.env("DB", "contactgraph.db"), "SQLite file, or a postgres:// URL (env CONTACTGRAPH_DB)")
	fs.DurationVar(&c.DBTimeout, "db-timeout", envDuration(m, "DB_TIMEOUT", defaultDBTimeout), "longest a store operation may take before the request is answered 503 (env CONTACTGRAPH_DB_TIMEOUT)")
	fs.BoolVar(&c.TLS, "tls", m.env("TLS", "") == "true" || m.env("TLS", "") == "1", "serve HTTPS with a self-signed certificate kept in the database (env CONTACTGRAPH_TLS)")
	fs.StringVar(&c.Cert, "cert", m.env("CERT", ""), "TLS certificate file, with --key (env CONTACTGRAPH_CERT)")
	fs.StringVar(&c.Key, "key", m.env("KEY", ""), "TLS private key file (env CONTACTGRAPH_KEY)")
	fs.StringVar(&c.PublicURL, "public-url", m.env("PUBLIC_URL", ""), "base URL clients use, such as https://graph.example.com (env CONTACTGRAPH_PUBLIC_URL)")
	fs.IntVar(&c.MaxPageSize, "max-page-size", envInt(m, "MAX_PAGE_SIZE", graphapi.DefaultDeltaMaxPageSize), "largest delta page a client may ask for (env CONTACTGRAPH_MAX_PAGE_SIZE)")
	fs.DurationVar(&c.Retention, "retention", envDuration(m, "RETENTION", graphapi.DefaultDeltaRetention), "how long tombstones and delta tokens of contacts and folders stay valid (env CONTACTGRAPH_RETENTION)")
	fs.DurationVar(&c.DirRetention, "directory-retention", envDuration(m, "DIRECTORY_RETENTION", graphapi.DefaultDirectoryRetention), "how long tombstones and delta tokens of org contacts stay valid (env CONTACTGRAPH_DIRECTORY_RETENTION)")
	fs.DurationVar(&c.PurgeAfter, "purge-after", envDuration(m, "PURGE_AFTER", 30*24*time.Hour), "how long deleted org contacts stay restorable (env CONTACTGRAPH_PURGE_AFTER)")
	fs.DurationVar(&c.RoundLifetime, "round-lifetime", envDuration(m, "ROUND_LIFETIME", graphapi.DefaultRoundLifetime), "how long a client may take to page through one delta round (env CONTACTGRAPH_ROUND_LIFETIME)")
	fs.DurationVar(&c.PruneEvery, "prune-every", envDuration(m, "PRUNE_EVERY", time.Hour), "how often expired history is pruned (env CONTACTGRAPH_PRUNE_EVERY)")
	fs.Int64Var(&c.MaxBody, "max-body", envInt64(m, "MAX_BODY", graphapi.DefaultMaxBodyBytes), "largest request body in bytes, after decompression (env CONTACTGRAPH_MAX_BODY)")
	fs.StringVar(&c.JWKSURL, "jwks-url", m.env("JWKS_URL", ""), "also trust tokens of an external issuer whose keys this JWKS URL serves (env CONTACTGRAPH_JWKS_URL)")
	fs.StringVar(&c.JWKSIssuer, "jwks-issuer", m.env("JWKS_ISSUER", ""), "the external issuer's iss; {tenantid} stands for the token's tid, e.g. https://login.microsoftonline.com/{tenantid}/v2.0 (env CONTACTGRAPH_JWKS_ISSUER)")
	fs.StringVar(&c.JWKSAudience, "jwks-audience", m.env("JWKS_AUDIENCE", auth.GraphAudience+","+auth.GraphApplicationID), "comma-separated audiences accepted from the external issuer (env CONTACTGRAPH_JWKS_AUDIENCE)")
	fs.StringVar(&c.DemoTenant, "demo-tenant", m.env("DEMO_TENANT", "contoso"), "tenant of the token printed at start")
	fs.StringVar(&c.DemoUser, "demo-user", m.env("DEMO_USER", "demo@contoso.com"), "user of the token printed at start")
	fs.BoolVar(&c.Emulator, "emulator", m.env("EMULATOR", "") == "true" || m.env("EMULATOR", "") == "1", "turn on the emulator controls under /emulator (fault injection, forced resync, token expiry, tenant reset, seeding) for callers with Emulator.Control (env CONTACTGRAPH_EMULATOR)")
	fs.DurationVar(&c.ShutdownAfter, "shutdown-timeout", 30*time.Second, "how long in-flight requests may take to finish on SIGINT/SIGTERM")
	cors := fs.String("cors-origins", m.env("CORS_ORIGINS", ""), "comma-separated browser origins allowed to call the server (CORS), such as https://app.example.com,http://localhost:5173, or * for any (env CONTACTGRAPH_CORS_ORIGINS)")
	m.notifyFlags(fs, &c.Notify)
	m.opsFlags(fs, &c.Ops)
	m.throttleFlags(fs, &c.Throttle)
	m.netFlags(fs, &c.Net)
	if err := m.parseFlags(fs, args); err != nil {
		return c, err
	}
	if err := c.Ops.check(); err != nil {
		return c, err
	}
	for _, o := range strings.Split(*cors, ",") {
		if o = strings.TrimSpace(o); o != "" {
			if err := graphapi.CheckCORSOrigin(o); err != nil {
				return c, fmt.Errorf("serve: --cors-origins: %w", err)
			}
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
	var err error
	if c.allow, err = c.Notify.check(); err != nil {
		return c, err
	}
	if err := c.Throttle.check(); err != nil {
		return c, err
	}
	if err := c.Net.check(); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	if (c.Cert == "") != (c.Key == "") {
		return c, errors.New("serve: --cert and --key go together")
	}
	if c.Cert != "" {
		c.TLS = true
	}
	if (c.JWKSURL == "") != (c.JWKSIssuer == "") {
		return c, errors.New("serve: --jwks-url and --jwks-issuer go together")
	}
	if c.MaxPageSize < 1 {
		return c, errors.New("serve: --max-page-size must be at least 1")
	}
	if c.DBTimeout <= 0 {
		return c, errors.New("serve: --db-timeout must be positive")
	}
	return c, nil
}

// envInt returns the integer in CONTACTGRAPH_<name>, or def when it is
// unset. A malformed value is remembered and fails the command's
// parseFlags with an error naming the variable.
func envInt(m *Main, name string, def int) int {
	v := m.env(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		m.badEnv(name, v, "an integer")
		return def
	}
	return n
}

// envInt64 is envInt for int64 values.
func envInt64(m *Main, name string, def int64) int64 {
	v := m.env(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		m.badEnv(name, v, "an integer")
		return def
	}
	return n
}

// envDuration returns the duration in CONTACTGRAPH_<name>, such as 30s or
// 2h, or def when it is unset; a malformed value is rejected as envInt's.
func envDuration(m *Main, name string, def time.Duration) time.Duration {
	v := m.env(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		m.badEnv(name, v, "a duration such as 30s or 2h")
		return def
	}
	return d
}

func (m *Main) serve(ctx context.Context, args []string) error {
	cfg, err := m.serveFlags(args)
	if err != nil {
		return err
	}
	logger, err := ops.NewLogger(m.Stderr, cfg.Ops.LogFormat, cfg.Ops.LogLevel)
	if err != nil {
		return err
	}
	// Listen first: a port in use fails before any database file exists.
	ln, err := listen(cfg.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	store, err := openStoreWith(ctx, cfg.DB, logger, storeOptions{Timeout: cfg.DBTimeout})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer store.Close()
	o, err := newOperations(store, cfg.Ops, logger)
	if err != nil {
		return err
	}
	store = o.store // every call timed
	// Accepted app passwords are remembered for auth.DefaultPasswordLifetime;
	// the deletes of this process (user deletes, tenant resets) forget theirs.
	passwords := auth.NewPasswordCache(0, 0, nil)
	store = passwords.Store(store)
	issuer, err := auth.NewLocal(ctx, store, auth.LocalOptions{Leeway: cfg.Ops.leeway()})
	if err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	var authn auth.Authenticator = issuer
	if cfg.JWKSURL != "" {
		ext, err := auth.NewJWKS(ctx, auth.JWKSOptions{URL: cfg.JWKSURL, Issuer: cfg.JWKSIssuer,
			Audiences: strings.Split(cfg.JWKSAudience, ","), Logger: logger, Leeway: cfg.Ops.leeway()})
		if err != nil {
			return fmt.Errorf("external issuer: %w", err)
		}
		authn = auth.Chain{issuer, ext} // local first: its tokens never cost a JWKS refresh
	}
	authn = auth.NewCache(authn, 0, nil) // a token is verified once, then remembered until its exp
	guard := &notify.Guard{AllowPrivate: cfg.Emulator, Allow: cfg.allow}
	var faults *notify.Faults
	deliveries := &notify.DeliveryLog{}
	if cfg.Emulator {
		faults = &notify.Faults{}
	}
	// The key set is published for receivers of rich notifications,
	// which verify validationTokens with it.
	jwks, err := issuer.PublicJWKS()
	if err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	api, err := graphapi.New(graphapi.Config{
		Store:              store,
		Auth:               authn,
		PublicURL:          cfg.PublicURL,
		MaxBodyBytes:       cfg.MaxBody,
		DeltaMaxPageSize:   cfg.MaxPageSize,
		DeltaRetention:     cfg.Retention,
		DirectoryRetention: cfg.DirRetention,
		RoundLifetime:      cfg.RoundLifetime,
		Logger:             logger,
		AccessLog:          logger,
		Observer:           o.metrics,
		Emulator:           cfg.Emulator,
		CORSOrigins:        cfg.CORSOrigins,
		Throttle:           cfg.Throttle.limiter(store),
		TrustedProxies:     cfg.Net.trusted,
		MaxHeaderBytes:     cfg.Net.MaxHeaderBytes,

		AllowHTTPNotifications:   cfg.Notify.AllowHTTP,
		NotificationClient:       guard.Client(cfg.Notify.ValidationTimeout),
		ValidationTimeout:        cfg.Notify.ValidationTimeout,
		SubscriptionLifetime:     cfg.Notify.Lifetime,
		RichSubscriptionLifetime: cfg.Notify.RichLifetime,
		JWKS:                     jwks,
		Deliveries:               faults,
		DeliveryLog:              deliveries,
	})
	if err != nil {
		return err
	}
	dav, err := carddav.New(carddav.Config{Store: store, Bearer: authn, Basic: auth.AppPasswords{Store: store, Cache: passwords},
		Retention: cfg.Retention, RoundLifetime: cfg.RoundLifetime, Logger: logger})
	if err != nil {
		return err
	}
	scheme := "http"
	srv := &http.Server{
		// The console under /console, CardDAV under /dav/ and /.well-known/carddav; serve_net.go
		Handler:           httpguard.Handler(o.handler(console.Mount(dav.Wrap(api), console.Options{Emulator: cfg.Emulator}))),
		ConnContext:       httpguard.ConnContext,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    cfg.Net.serverHeaderBytes(),
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if cfg.TLS {
		cert, err := loadCertificate(ctx, store, cfg.Cert, cfg.Key)
		if err != nil {
			ln.Close()
			return err
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
		scheme = "https"
	}
	ln = cfg.Net.listener(ln, srv.TLSConfig) // TLS, when set, is the listener's
	base := fmt.Sprintf("%s://%s/v1.0", scheme, displayAddr(ln.Addr()))
	if cfg.PublicURL != "" {
		base = strings.TrimSuffix(cfg.PublicURL, "/") + "/v1.0"
	}
	token, err := issuer.Mint(auth.MintOptions{TenantName: cfg.DemoTenant, UPN: cfg.DemoUser,
		Scopes: []string{contactgraph.PermContactsReadWrite}, TTL: 24 * time.Hour})
	if err != nil {
		ln.Close()
		return err
	}
	consoleToken, consolePerms, err := mintConsoleToken(issuer, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	metricsURL, stopMetrics, err := o.listen(logger)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopMetrics()
	curlTLS := ""
	if cfg.TLS && cfg.Cert == "" {
		curlTLS = "-k "
	}
	fmt.Fprintf(m.Stdout, "contactgraph is ready (database %s)\n", cfg.DB)
	fmt.Fprintf(m.Stdout, "base URL: %s\n", base)
	if metricsURL != "" {
		fmt.Fprintf(m.Stdout, "metrics: %s\n", metricsURL)
	}
	fmt.Fprintf(m.Stdout, "token (user %s in tenant %s, Contacts.ReadWrite, valid 24h):\n%s\n", cfg.DemoUser, cfg.DemoTenant, token)
	fmt.Fprintf(m.Stdout, "console (user %s, %s, valid 24h):\n%s%s/#token=%s\n", cfg.DemoUser, strings.Join(consolePerms, " "),
		strings.TrimSuffix(base, "/v1.0"), console.Prefix, consoleToken)
	fmt.Fprintf(m.Stdout, "try:\ncurl %s-H 'Authorization: Bearer %s' %s/me/contacts\n", curlTLS, token, base)
	if m.Ready != nil {
		m.Ready(base)
	}

	go m.pruneLoop(ctx, store, cfg, logger)
	sendCtx, stopSending := context.WithCancel(context.WithoutCancel(ctx))
	senderDone := startSender(sendCtx, store, guard, cfg.Notify,
		senderDeps{resourceData: api.ResourceData, validationToken: issuer.ValidationToken, faults: faults, log: deliveries, metrics: o.metrics}, logger)
	defer func() { stopSending(); senderDone() }()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: waiting for in-flight requests", "timeout", cfg.ShutdownAfter)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownAfter)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// mintConsoleToken mints the token of the console link serve prints: the
// demo user with what the console's views use (contacts, the directory's
// org contacts and users, and the emulator controls when they are on).
func mintConsoleToken(issuer *auth.Local, cfg serveConfig) (string, []string, error) {
	perms := []string{contactgraph.PermContactsReadWrite, contactgraph.PermDirectoryReadWrite, contactgraph.PermUserReadSelf}
	if cfg.Emulator {
		perms = append(perms, contactgraph.PermEmulatorControl)
	}
	tok, err := issuer.Mint(auth.MintOptions{TenantName: cfg.DemoTenant, UPN: cfg.DemoUser, Scopes: perms, TTL: 24 * time.Hour})
	return tok, perms, err
}

// pruneLoop removes tombstones older than the retention period.
func (m *Main) pruneLoop(ctx context.Context, store contactgraph.Store, cfg serveConfig, logger *slog.Logger) {
	if cfg.PruneEvery <= 0 {
		return
	}
	t := time.NewTicker(cfg.PruneEvery)
	defer t.Stop()
	for {
		now := time.Now()
		n, err := store.Prune(ctx, contactgraph.Retention{
			Items:        now.Add(-cfg.Retention),
			Directory:    now.Add(-cfg.DirRetention),
			Superseded:   now.Add(-cfg.RoundLifetime),
			PurgeDeleted: now.Add(-cfg.PurgeAfter),
		})
		if err != nil && ctx.Err() == nil {
			level := slog.LevelError
			if contactgraph.ErrorCode(err) == contactgraph.EUnavailable {
				level = slog.LevelWarn // a database outage: the next run tries again
			}
			logger.Log(ctx, level, "prune", "err", err)
		} else if n > 0 {
			logger.Info("pruned expired history", "entries", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// displayAddr turns a listener address into one a client can dial:
// an unspecified host becomes localhost.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
