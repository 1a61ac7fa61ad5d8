package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/fakedata"
	"github.com/contactgraph/contactgraph/internal/sqlstore"
	"github.com/contactgraph/contactgraph/odata"
	"github.com/contactgraph/contactgraph/sqlite"
)

// TestEmailFilterUsesIndex: an email filter, alone or and-ed with another
// condition, reads the email index and the contacts by key, never every
// contact of the folder.
func TestEmailFilterUsesIndex(t *testing.T) {
	gen := fakedata.New(1)
	in := make([]contactgraph.ContactInput, 2000)
	for i := range in {
		in[i] = gen.Contact()
	}
	db, mb := planStore(t, in)
	for _, f := range []string{
		"emailAddresses/any(a:a/address eq 'x@example.com')",
		"givenName eq 'Ada' and emailAddresses/any(a:a/address eq 'x@example.com')",
		"emailAddresses/any(a:a/address eq 'x@example.com') and not startswith(surname,'K')",
	} {
		p := filterPlan(t, db, mb, f)
		if !strings.Contains(p, "contact_emails") || !strings.Contains(p, "folder_id=? AND address=?") ||
			!strings.Contains(p, "SEARCH contacts USING INDEX contacts_folder (folder_id=? AND id=?)") {
			t.Errorf("%s: the plan does not look addresses up in the index:\n%s", f, p)
		}
	}
}

// extPropID is the extended property id the plan tests tag contacts with,
// as a migration tool spells it.
const extPropID = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name SourceId"

// tagged returns n generated contacts, each with the extended property
// extPropID set to "src-<i>".
func tagged(n int) []contactgraph.ContactInput {
	gen := fakedata.New(2)
	in := make([]contactgraph.ContactInput, n)
	key, err := contactgraph.ExtendedPropertyKey(extPropID)
	if err != nil {
		panic(err)
	}
	for i := range in {
		in[i] = gen.Contact()
		in[i].Extended = []contactgraph.ExtendedProperty{{ID: extPropID, Key: key, Value: "src-" + strconv.Itoa(i)}}
	}
	return in
}

// TestExtendedPropertyFilterUsesIndex: a $filter on a single-value
// extended property, alone or and-ed with other conditions, reads one
// range of contact_ext_props_value and the contacts by key, never every
// contact of the folder nor every property of the mailbox.
func TestExtendedPropertyFilterUsesIndex(t *testing.T) {
	db, mb := planStore(t, tagged(2000))
	ep := "singleValueExtendedProperties/any(ep: ep/id eq '" + extPropID + "' and ep/value eq 'SRC-7')"
	for _, f := range []string{
		ep,
		"displayName eq 'Ada' and " + ep,
		ep + " and emailAddresses/any(a:a/address eq 'x@example.com')",
	} {
		p := filterPlan(t, db, mb, f)
		if !strings.Contains(p, "contact_ext_props USING COVERING INDEX contact_ext_props_value (tenant_id=? AND user_id=? AND prop_key=? AND value_key=?") ||
			!strings.Contains(p, "SEARCH contacts USING INDEX contacts_folder (folder_id=? AND id=?)") || strings.Contains(p, "SCAN") {
			t.Errorf("%s: the plan does not look the property up in the index:\n%s", f, p)
		}
		t.Logf("%s:\n%s", f, p)
	}
}

// planStore opens a store in a temporary file with one mailbox whose
// default folder holds the contacts in.
func planStore(t *testing.T, in []contactgraph.ContactInput) (*sqlite.DB, contactgraph.Mailbox) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "cg.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tenant := contactgraph.TenantID("contoso")
	mb, err := db.EnsureMailbox(ctx, tenant, contactgraph.UserID(tenant, "a@contoso.com"), "a@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportContacts(ctx, mb, mb.RootID, in); err != nil {
		t.Fatal(err)
	}
	return db, mb
}

// filterPlan returns the query plan of a contact list of the default
// folder with the $filter f, one line a step.
func filterPlan(t *testing.T, db *sqlite.DB, mb contactgraph.Mailbox, f string) string {
	t.Helper()
	e, err := odata.ParseFilter(f, contactgraph.ContactSchema)
	if err != nil {
		t.Fatal(err)
	}
	q, args, err := db.QueryContactsSQL(mb, mb.RootID, contactgraph.ListQuery{Filter: e, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(explain(t, db.SQL(), q, args...), "\n")
}

// explain returns the detail column of EXPLAIN QUERY PLAN for query.
func explain(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestContactRoundUsesKeys: a delta page reads a range of the change
// log's primary key and each contact by its primary key: no scan, no sort.
func TestContactRoundUsesKeys(t *testing.T) {
	gen := fakedata.New(3)
	in := make([]contactgraph.ContactInput, 2000)
	for i := range in {
		in[i] = gen.Contact()
	}
	db, mb := planStore(t, in)
	p := strings.Join(explain(t, db.SQL(), sqlstore.ContactRoundFlat, sqlstore.ContactRoundArgs(mb, mb.RootID, contactgraph.ChangeQuery{Limit: 200}, true)...), "\n")
	if !strings.Contains(p, "SEARCH c USING COVERING INDEX sqlite_autoindex_changes_1 (scope=? AND kind=? AND rev>? AND rev<?)") ||
		!strings.Contains(p, "SEARCH k USING INDEX sqlite_autoindex_contacts_1 (id=?)") || strings.Contains(p, "SCAN") || strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("the plan of a delta page:\n%s", p)
	}
}
