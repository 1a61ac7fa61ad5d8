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
	db := schemaDB(t)
	for name, q := range map[string]string{
		"lookup":    contactsByPropertyQuery,
		"condition": `SELECT c.id FROM contacts c WHERE c.folder_id = ? AND ` + ExtendedPropertyCondition + ` ORDER BY c.id LIMIT 10`,
	} {
		text := queryPlan(t, db, q)
		if !strings.Contains(text, "contact_ext_props_value") || strings.Contains(text, "SCAN c\n") || strings.HasSuffix(text, "SCAN c") ||
			strings.Contains(text, "SCAN contacts") || strings.Contains(text, "SCAN p") {
			t.Errorf("%s: plan without the index, or with a scan:\n%s", name, text)
		}
		t.Logf("%s:\n%s", name, text)
	}
}

// TestCardNamesPlan: the names and the vCard parts of a page of contacts
// (a sync-collection's page) are read by contact id, one lookup per id,
// not through an index of the whole mailbox.
func TestCardNamesPlan(t *testing.T) {
	db := schemaDB(t)
	for _, c := range []struct{ query, want, not string }{
		{cardNamesQuery(testDialect{}, 200), "card_names_contact (contact_id=?)", "card_names_mailbox"},
		// The parts of a page of 200 cards: by primary key, not by
		// contact_ext_props_value.
		{propertiesOfQuery(testDialect{}, 200, 2), "sqlite_autoindex_contact_ext_props_1 (contact_id=? AND prop_key=?)", "contact_ext_props_value"},
	} {
		if text := queryPlan(t, db, c.query); !strings.Contains(text, c.want) || strings.Contains(text, c.not) {
			t.Errorf("%.60s…: plan:\n%s", c.query, text)
		}
	}
}

// schemaDB returns an empty SQLite database with the store's schema.
func schemaDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, m := range Schema {
		if _, err := db.ExecContext(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// queryPlan returns SQLite's EXPLAIN QUERY PLAN of q (its parameters
// NULL), one line a step.
func queryPlan(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, make([]any, strings.Count(q, "?"))...)
	if err != nil {
		t.Fatalf("%.60s…: %v", q, err)
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
	return strings.Join(plan, "\n")
}
