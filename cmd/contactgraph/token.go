package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/contactgraph/contactgraph/auth"
)

// token prints a signed access token, signed with the key kept in the
// database so that a server on the same database accepts it. A database
// that does not exist is refused (a token signed with a key nobody serves
// is useless) unless --create.
func (m *Main) token(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	db := fs.String("db", m.env("DB", "contactgraph.db"), "database (env CONTACTGRAPH_DB)")
	tenant := fs.String("tenant", "contoso", "tenant name (or GUID)")
	user := fs.String("user", "", "user principal name: a delegated token for this user")
	app := fs.String("app", "", "application name: an app-only token")
	scopes := fs.String("scopes", "Contacts.ReadWrite", "delegated permissions, space-separated (with --user)")
	roles := fs.String("roles", "", "application permissions, space-separated (with --app)")
	ttl := fs.Duration("ttl", time.Hour, "lifetime")
	create := fs.Bool("create", m.envBool("CREATE"), "create the database if it does not exist (env CONTACTGRAPH_CREATE)")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("token: unexpected argument %q", fs.Arg(0))
	}
	if (*user == "") == (*app == "") {
		return errors.New("token: give exactly one of --user and --app")
	}
	opts := auth.MintOptions{TenantName: *tenant, TTL: *ttl}
	if *user != "" {
		opts.UPN, opts.Scopes = *user, strings.Fields(*scopes)
	} else {
		opts.AppName, opts.Roles = *app, strings.Fields(*roles)
		if len(opts.Roles) == 0 {
			return errors.New("token: an app token needs --roles")
		}
	}
	store, err := openStoreWith(ctx, *db, slog.New(slog.NewTextHandler(m.Stderr, nil)), storeOptions{MustExist: !*create})
	if err != nil {
		return noDatabaseHint("token", *db, err)
	}
	defer store.Close()
	issuer, err := auth.NewLocal(ctx, store, auth.LocalOptions{})
	if err != nil {
		return err
	}
	tok, err := issuer.Mint(opts)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(m.Stdout, tok)
	return err
}
