package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/fakedata"
)

// seed writes generated contacts and org contacts straight into the store,
// in large transactions.
func (m *Main) seed(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	db := fs.String("db", m.env("DB", "contactgraph.db"), "database (env CONTACTGRAPH_DB)")
	tenant := fs.String("tenant", "contoso", "tenant name (or GUID)")
	user := fs.String("user", "demo@contoso.com", "mailbox owner (user principal name)")
	folder := fs.String("folder", "", "contact folder under the default folder, created if missing (default: the default folder)")
	users := fs.Int("users", 0, "seed this many mailboxes, named after --user with a number: cap@contoso.com gives cap-00001@contoso.com to cap-<N>@contoso.com (0: the --user mailbox only)")
	contacts := fs.Int("contacts", 0, "contacts to create (in each mailbox, with --users)")
	orgContacts := fs.Int("org-contacts", 0, "org contacts to create in the tenant")
	batch := fs.Int("batch", 10000, "objects per transaction")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "random seed (the same seed gives the same data)")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if *contacts < 0 || *orgContacts < 0 || *users < 0 || *batch < 1 {
		return errors.New("seed: counts must not be negative and --batch must be positive")
	}
	if *contacts == 0 && *orgContacts == 0 {
		return errors.New("seed: nothing to create: give --contacts N, --org-contacts N or both")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("seed: unexpected argument %q", fs.Arg(0))
	}
	if *users > 0 && *contacts == 0 {
		return errors.New("seed: --users seeds contacts: give --contacts N too")
	}
	if *users > 0 && !strings.Contains(*user, "@") {
		return fmt.Errorf("seed: --users numbers the mailboxes after --user, which must be a user principal name (local@domain), not %q", *user)
	}
	store, err := openStore(ctx, *db, slog.New(slog.NewTextHandler(m.Stderr, nil)))
	if err != nil {
		return err
	}
	defer store.Close()
	tid := contactgraph.TenantID(*tenant)
	gen := fakedata.New(*seed)
	start := time.Now()
	if *contacts > 0 {
		upns := []string{*user}
		if *users > 0 {
			upns = fakedata.NumberedUPNs(*user, *users)
		}
		folderID, err := m.seedContacts(ctx, store, tid, upns, *folder, *contacts, *batch, gen)
		if err != nil {
			return err
		}
		if *users > 0 {
			fmt.Fprintf(m.Stdout, "created %d contacts in folder %s of each of %d mailboxes, %s to %s\n", *contacts, folderName(*folder), len(upns), upns[0], upns[len(upns)-1])
		} else {
			fmt.Fprintf(m.Stdout, "created %d contacts in folder %s of %s (folder id %s)\n", *contacts, folderName(*folder), *user, folderID)
		}
	}
	if *orgContacts > 0 {
		bar := m.progress("org contacts", *orgContacts)
		for done := 0; done < *orgContacts; {
			n := min(*batch, *orgContacts-done)
			in := make([]contactgraph.OrgContactInput, n)
			for i := range in {
				in[i] = gen.OrgContact()
			}
			if _, err := store.ImportOrgContacts(ctx, tid, in); err != nil {
				return err
			}
			done += n
			bar(done)
		}
		fmt.Fprintf(m.Stdout, "created %d org contacts in tenant %s\n", *orgContacts, *tenant)
	}
	fmt.Fprintf(m.Stdout, "took %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// seedContacts creates n generated contacts in folder (the default folder
// when empty, created when missing) of each mailbox of upns, in order,
// through ImportContacts in transactions of at most batch contacts (never
// spanning two mailboxes). The next batch is generated while the store
// imports the current one. It returns the folder id of the last mailbox.
func (m *Main) seedContacts(ctx context.Context, store contactgraph.Store, tid string, upns []string, folder string, n, batch int, gen *fakedata.Generator) (string, error) {
	type job struct {
		upn string
		in  []contactgraph.ContactInput
	}
	bar := m.progress("contacts", n*len(upns))
	jobs := make(chan job, 1)
	gctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		defer close(jobs)
		for _, upn := range upns {
			for done := 0; done < n; {
				in := make([]contactgraph.ContactInput, min(batch, n-done))
				for i := range in {
					in[i] = gen.Contact()
				}
				select {
				case jobs <- job{upn, in}:
				case <-gctx.Done():
					return
				}
				done += len(in)
			}
		}
	}()
	var (
		upn, folderID string
		mb            contactgraph.Mailbox
		done          int
	)
	for j := range jobs {
		if j.upn != upn {
			var err error
			if mb, err = store.EnsureMailbox(ctx, tid, contactgraph.UserID(tid, j.upn), j.upn); err != nil {
				return "", err
			}
			if folderID, err = ensureFolder(ctx, store, mb, folder); err != nil {
				return "", err
			}
			upn = j.upn
		}
		if _, err := store.ImportContacts(ctx, mb, folderID, j.in); err != nil {
			return "", fmt.Errorf("seed %s: %w", j.upn, err)
		}
		done += len(j.in)
		bar(done)
	}
	return folderID, ctx.Err()
}

func folderName(name string) string {
	if name == "" {
		return contactgraph.RootFolderName
	}
	return name
}

// ensureFolder returns the id of the top-level folder called name, creating
// it when missing; an empty name is the default folder.
func ensureFolder(ctx context.Context, store contactgraph.Store, mb contactgraph.Mailbox, name string) (string, error) {
	if name == "" {
		return mb.RootID, nil
	}
	f, err := store.CreateFolder(ctx, mb, "", contactgraph.FolderInput{DisplayName: &name})
	if err == nil {
		return f.ID, nil
	}
	if contactgraph.ErrorCode(err) != contactgraph.EFolderExists {
		return "", err
	}
	for after := ""; ; {
		list, err := store.ListFolders(ctx, mb, "", contactgraph.Page{After: after, Limit: 500})
		if err != nil {
			return "", err
		}
		for _, f := range list {
			if equalFold(f.DisplayName, name) {
				return f.ID, nil
			}
		}
		if len(list) < 500 {
			return "", fmt.Errorf("seed: folder %q exists but was not found", name)
		}
		after = list[len(list)-1].ID
	}
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
