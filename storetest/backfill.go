package storetest

import (
	"database/sql"
	"slices"
	"testing"

	"github.com/contactgraph/contactgraph"
)

// EmailBackfill checks an engine's backfill of the email index (the
// engine's part of the migration that creates contact_emails): after
// writes of every kind, emptying the index and running backfill on db
// (the store's database) must give back exactly the rows the write path
// kept, so that a database migrated from before the index answers email
// filters as one that always had it.
func EmailBackfill(t *testing.T, s contactgraph.Store, db *sql.DB, backfill string) {
	t.Helper()
	mb := mailbox(t, s, "backfill@contoso.com")
	other := must(s.CreateFolder(ctx(), mb, "", folderIn("Other")))
	var ids []string
	for _, body := range append(slices.Clone(queryContacts), `{"emailAddresses":[{"address":"MiXeD@Example.COM"},{"address":"mixed@example.com"},{"address":"ÉCOLE@example.fr"}]}`) {
		ids = append(ids, must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, body))).ID)
	}
	must(s.UpdateContact(ctx(), mb, ids[0], contactIn(t, `{"parentFolderId":"`+other.ID+`"}`), ""))
	must(s.UpdateContact(ctx(), mb, ids[1], contactIn(t, `{"emailAddresses":[{"address":"Changed@Example.com"}]}`), ""))
	must(0, s.DeleteContact(ctx(), mb, ids[2], ""))
	must(s.ImportContacts(ctx(), mb, other.ID, []contactgraph.ContactInput{contactIn(t, `{"emailAddresses":[{"address":"Imported@Example.com"}]}`)}))
	rows := func() [][3]string {
		t.Helper()
		r, err := db.Query(`SELECT folder_id, address, contact_id FROM contact_emails ORDER BY folder_id, address, contact_id`)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var out [][3]string
		for r.Next() {
			var row [3]string
			if err := r.Scan(&row[0], &row[1], &row[2]); err != nil {
				t.Fatal(err)
			}
			out = append(out, row)
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	kept := rows()
	if len(kept) < 10 {
		t.Fatalf("the write path indexed %d addresses", len(kept))
	}
	if _, err := db.Exec(`DELETE FROM contact_emails`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(backfill); err != nil {
		t.Fatalf("backfill: %v", err)
	}
	if got := rows(); !slices.Equal(got, kept) {
		t.Fatalf("backfill gave\n%v\nthe writes kept\n%v", got, kept)
	}
}
