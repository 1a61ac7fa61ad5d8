package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/internal/sqlstore"
	"github.com/contactgraph/contactgraph/postgres"
	"github.com/contactgraph/contactgraph/storetest"
)

// TestMigrateConcurrently starts four replicas at once on a fresh schema:
// all open, and each migration is applied and recorded exactly once.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	dsn := withAppName(testDSN(t), schema)
	const replicas = 4
	dbs := make([]*postgres.DB, replicas)
	calls := make([]*call, replicas)
	for i := range calls {
		calls[i] = start(func() error {
			db, err := postgres.Open(context.Background(), dsn, postgres.Options{Schema: schema})
			dbs[i] = db
			return err
		})
	}
	for i, c := range calls {
		c.wait(t, "Open")
		t.Cleanup(func() { dbs[i].Close() })
	}
	rows, err := dbs[0].SQL().QueryContext(context.Background(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(sqlstore.Schema) {
		t.Fatalf("schema_migrations holds %v, want versions 1..%d once each", got, len(sqlstore.Schema))
	}
	for i, v := range got {
		if v != i+1 {
			t.Fatalf("schema_migrations holds %v, want versions 1..%d once each", got, len(sqlstore.Schema))
		}
	}
	// Every replica works on the one schema.
	for i, db := range dbs {
		if _, err := db.CreateUser(context.Background(), tenant, userN(i)); err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}
	// Reopening applies nothing.
	again, err := postgres.Open(context.Background(), dsn, postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	var n int
	if err := again.SQL().QueryRowContext(context.Background(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(sqlstore.Schema) {
		t.Fatalf("after reopening: %d migrations recorded (%v)", n, err)
	}
}

// TestMigrateRefusesNewerSchema checks that a server does not run on a
// database migrated by a newer build.
func TestMigrateRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	if _, err := e.db.SQL().ExecContext(context.Background(), `INSERT INTO schema_migrations (version) VALUES ($1)`, len(sqlstore.Schema)+1); err != nil {
		t.Fatal(err)
	}
	db, err := postgres.Open(context.Background(), e.dsn, postgres.Options{Schema: e.schema})
	if err == nil {
		db.Close()
		t.Fatal("Open on a schema newer than the build succeeded, want a refusal")
	}
	t.Logf("refused: %v", err)
}

func userN(i int) contactgraph.User {
	return contactgraph.User{UPN: fmt.Sprintf("user%d@contoso.com", i)}
}

// TestEmailBackfill: the PostgreSQL part of the email index migration indexes existing
// contacts exactly as the write path does.
func TestEmailBackfill(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.NewClock())
	storetest.EmailBackfill(t, e.db, e.db.SQL(), sqlstore.EngineSchema[sqlstore.EmailIndexMigration][sqlstore.Postgres])
}
