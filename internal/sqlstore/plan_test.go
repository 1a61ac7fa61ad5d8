package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// TestExtendedPropertyLookupPlans: on SQLite, a lookup of contacts by an
// extended property value reads the index contact_ext_props_value and the
// contacts by primary key, never a scan of a folder's contacts.
func TestExtendedPropertyLookupPlans(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for _, m := range Schema {
		if _, err := db.ExecContext(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for name, q := range map[string]string{
		"lookup":    contactsByPropertyQuery,
		"condition": `SELECT c.id FROM contacts c WHERE c.folder_id = ? AND ` + ExtendedPropertyCondition + ` ORDER BY c.id LIMIT 10`,
	} {
		rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, make([]any, strings.Count(q, "?"))...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, "contact_ext_props_value") || strings.Contains(text, "SCAN c\n") || strings.HasSuffix(text, "SCAN c") ||
			strings.Contains(text, "SCAN contacts") || strings.Contains(text, "SCAN p") {
			t.Errorf("%s: plan without the index, or with a scan:\n%s", name, text)
		}
		t.Logf("%s:\n%s", name, text)
	}
}

// TestCardNamesPlan: the names of a page of contacts are read through
// card_names_contact, one lookup per id, not through the mailbox's index
// (every name of the mailbox for each page of a sync-collection).
func TestCardNamesPlan(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for _, m := range Schema {
		if _, err := db.ExecContext(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	q := cardNamesQuery + inList(3)
	rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, make([]any, strings.Count(q, "?"))...)
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
	if text := strings.Join(plan, "\n"); !strings.Contains(text, "card_names_contact (contact_id=?)") || strings.Contains(text, "card_names_mailbox") {
		t.Errorf("plan:\n%s", text)
	}
}
