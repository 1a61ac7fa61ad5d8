package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"github.com/contactgraph/contactgraph/auth"
)

// appPassword prints a new app password for a user's CardDAV sign-in. It
// is shown once; the store keeps only its hash. With --list it prints the
// ids of the user's app passwords (of every user of the tenant without
// --user), one a line with the UPN; with --revoke ID it deletes one. A
// server running on the same database may accept a revoked password until
// its cache of app passwords lets it go (auth.DefaultPasswordLifetime).
func (m *Main) appPassword(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("app-password", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	db := fs.String("db", m.env("DB", "contactgraph.db"), "database (env CONTACTGRAPH_DB)")
	tenant := fs.String("tenant", "contoso", "tenant name (or GUID)")
	user := fs.String("user", "", "user principal name: the CardDAV user name")
	list := fs.Bool("list", false, "list the ids of the app passwords (of --user, else of every user of --tenant)")
	revoke := fs.String("revoke", "", "revoke the app password of this id (the part before the dot); a server running on the database refuses it within "+auth.DefaultPasswordLifetime.String())
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *list && *revoke != "" {
		return fmt.Errorf("app-password: --list and --revoke are exclusive")
	}
	if *user == "" && !*list && *revoke == "" {
		return fmt.Errorf("app-password: --user is required")
	}
	store, err := openStore(ctx, *db, slog.New(slog.NewTextHandler(m.Stderr, nil)))
	if err != nil {
		return err
	}
	defer store.Close()
	a := auth.AppPasswords{Store: store}
	switch {
	case *list:
		pws, err := a.List(ctx, *tenant, *user)
		if err != nil {
			return err
		}
		for _, p := range pws {
			if _, err := fmt.Fprintf(m.Stdout, "%s\t%s\n", p.ID, p.UPN); err != nil {
				return err
			}
		}
		return nil
	case *revoke != "":
		if err := a.Revoke(ctx, *revoke); err != nil {
			return fmt.Errorf("app-password: %w", err)
		}
		_, err := fmt.Fprintf(m.Stdout, "revoked %s\n", *revoke)
		return err
	}
	pw, err := a.Issue(ctx, *tenant, *user)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(m.Stdout, pw)
	return err
}
