package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/vcard"
)

// vcfFlags are the flags import and export share.
type vcfFlags struct {
	fs                         *flag.FlagSet
	file, db, tenant, user, to string
}

func (m *Main) vcfFlags(name string) *vcfFlags {
	f := &vcfFlags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	f.fs.SetOutput(m.Stderr)
	f.fs.StringVar(&f.file, "vcf", "", "the .vcf file (- for standard input or output)")
	f.fs.StringVar(&f.db, "db", m.env("DB", "contactgraph.db"), "database (env CONTACTGRAPH_DB)")
	f.fs.StringVar(&f.tenant, "tenant", "contoso", "tenant name (or GUID)")
	f.fs.StringVar(&f.user, "user", "", "user principal name whose contacts these are")
	f.fs.StringVar(&f.to, "folder", "", `contact folder by display name (default: the default folder, "Contacts")`)
	return f
}

func (f *vcfFlags) parse(args []string) error {
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	if f.file == "" || f.user == "" {
		return fmt.Errorf("%s: --vcf and --user are required", f.fs.Name())
	}
	return nil
}

// mailbox opens the store and the user's mailbox.
func (m *Main) vcfMailbox(ctx context.Context, f *vcfFlags) (contactgraph.Store, contactgraph.Mailbox, error) {
	store, err := openStore(ctx, f.db, slog.New(slog.NewTextHandler(m.Stderr, nil)))
	if err != nil {
		return nil, contactgraph.Mailbox{}, err
	}
	tid := contactgraph.TenantID(f.tenant)
	mb, err := store.EnsureMailbox(ctx, tid, contactgraph.UserID(tid, f.user), f.user)
	if err != nil {
		store.Close()
		return nil, contactgraph.Mailbox{}, err
	}
	return store, mb, nil
}

// isDefault reports whether a --folder value names the default folder.
func isDefault(name string) bool {
	return name == "" || strings.EqualFold(name, contactgraph.RootFolderName)
}

// importVCF reads a .vcf file of many cards into a folder (made when it
// is missing), through the vcard mapping, in one transaction: a bad card
// refuses the whole file, every bad card is reported with its number and
// line, and nothing is imported.
func (m *Main) importVCF(ctx context.Context, args []string) error {
	f := m.vcfFlags("import")
	if err := f.parse(args); err != nil {
		return err
	}
	var text []byte
	var err error
	if f.file == "-" {
		text, err = io.ReadAll(os.Stdin)
	} else {
		text, err = os.ReadFile(f.file)
	}
	if err != nil {
		return err
	}
	chunks, err := vcard.SplitCards(text)
	if err != nil {
		return fmt.Errorf("import: %s: %w; nothing imported", f.file, err)
	}
	in := make([]contactgraph.ContactInput, 0, len(chunks))
	var bad []string
	for _, c := range chunks {
		x, _, err := vcard.Input(c.Text, "")
		if err != nil {
			bad = append(bad, fmt.Sprintf("card %d (line %d): %s", c.N, c.Line, contactgraph.ErrorMessage(err)))
			continue
		}
		in = append(in, x)
	}
	if len(bad) > 0 {
		for _, b := range bad {
			fmt.Fprintf(m.Stderr, "import: %s: %s\n", f.file, b)
		}
		return fmt.Errorf("import: %d of %d cards are not valid; nothing imported", len(bad), len(chunks))
	}
	store, mb, err := m.vcfMailbox(ctx, f)
	if err != nil {
		return err
	}
	defer store.Close()
	folder := mb.RootID
	if !isDefault(f.to) {
		if folder, err = ensureFolder(ctx, store, mb, f.to); err != nil {
			return err
		}
	}
	n, err := store.ImportContacts(ctx, mb, folder, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "imported %d contacts into folder %s\n", n, folder)
	return nil
}

// exportVCF writes the cards of a folder, or of the tenant's directory
// (org contacts), to one .vcf file, as CardDAV serves them.
func (m *Main) exportVCF(ctx context.Context, args []string) error {
	f := m.vcfFlags("export")
	directory := f.fs.Bool("directory", false, "export the tenant's org contacts (the directory address book) instead of a folder")
	version := f.fs.String("version", "3.0", "vCard version: 3.0 or 4.0")
	if err := f.parse(args); err != nil {
		return err
	}
	if *version != "3.0" && *version != "4.0" {
		return fmt.Errorf("export: --version is 3.0 or 4.0")
	}
	if *directory && f.to != "" {
		return fmt.Errorf("export: --folder and --directory exclude each other")
	}
	store, mb, err := m.vcfMailbox(ctx, f)
	if err != nil {
		return err
	}
	defer store.Close()
	var out bytes.Buffer
	n := 0
	if *directory {
		for after := ""; ; {
			page, err := store.ListOrgContacts(ctx, mb.TenantID, contactgraph.Page{After: after, Limit: 500})
			if err != nil {
				return err
			}
			for _, o := range page {
				out.Write(vcard.EncodeOrgContact(o, *version))
				n++
			}
			if len(page) < 500 {
				break
			}
			after = page[len(page)-1].ID
		}
	} else {
		folder, err := findFolder(ctx, store, mb, f.to)
		if err != nil {
			return err
		}
		if n, err = exportFolder(ctx, store, mb, folder, *version, &out); err != nil {
			return err
		}
	}
	if f.file == "-" {
		_, err = m.Stdout.Write(out.Bytes())
		return err
	}
	if err := os.WriteFile(f.file, out.Bytes(), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "exported %d cards to %s\n", n, f.file)
	return nil
}

// exportFolder writes the cards of a folder with their UID, photo and the
// vCard properties kept beside the Graph fields.
func exportFolder(ctx context.Context, store contactgraph.Store, mb contactgraph.Mailbox, folder, version string, out *bytes.Buffer) (int, error) {
	n := 0
	for after := ""; ; {
		page, err := store.ListContacts(ctx, mb, folder, contactgraph.Page{After: after, Limit: 500})
		if err != nil {
			return n, err
		}
		ids := make([]string, len(page))
		for i, c := range page {
			ids[i] = c.ID
		}
		parts, err := store.ContactParts(ctx, mb, ids, vcard.PartsQuery(true))
		if err != nil {
			return n, err
		}
		for _, c := range page {
			out.Write(vcard.Encode(c.Doc, vcard.PartsOf(c.ID, parts[c.ID]), version))
			n++
		}
		if len(page) < 500 {
			return n, nil
		}
		after = page[len(page)-1].ID
	}
}

// findFolder returns the id of the top-level folder called name (the
// default folder for "" or "Contacts"), without making it.
func findFolder(ctx context.Context, store contactgraph.Store, mb contactgraph.Mailbox, name string) (string, error) {
	if isDefault(name) {
		return mb.RootID, nil
	}
	for after := ""; ; {
		list, err := store.ListFolders(ctx, mb, "", contactgraph.Page{After: after, Limit: 500})
		if err != nil {
			return "", err
		}
		for _, f := range list {
			if strings.EqualFold(f.DisplayName, name) {
				return f.ID, nil
			}
		}
		if len(list) < 500 {
			return "", errors.New("export: no folder called " + name)
		}
		after = list[len(list)-1].ID
	}
}
