package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"github.com/contactgraph/contactgraph/auth"
)

// appPassword prints a new app password for a user's CardDAV sign-in. It
// is shown once; the store keeps only its hash.
func (m *Main) appPassword(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("app-password", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	db := fs.String("db", m.env("DB", "contactgraph.db"), "database (env CONTACTGRAPH_DB)")
	tenant := fs.String("tenant", "contoso", "tenant name (or GUID)")
	user := fs.String("user", "", "user principal name: the CardDAV user name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *user == "" {
		return fmt.Errorf("app-password: --user is required")
	}
	store, err := openStore(ctx, *db, slog.New(slog.NewTextHandler(m.Stderr, nil)))
	if err != nil {
		return err
	}
	defer store.Close()
	pw, err := auth.AppPasswords{Store: store}.Issue(ctx, *tenant, *user)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(m.Stdout, pw)
	return err
}
