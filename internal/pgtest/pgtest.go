// Package pgtest gives a test a schema of its own on the PostgreSQL test
// database (CONTACTGRAPH_TEST_POSTGRES), dropped with everything in it
// when the test ends, so that tests never touch the public schema or each
// other's tables.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the environment variable holding the test database's DSN,
// such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvDSN = "CONTACTGRAPH_TEST_POSTGRES"

// Schema returns the name of a new, random schema of the database of dsn,
// prefix followed by 16 hex digits. The schema is not created here (the
// stores create theirs); it is dropped with everything in it, if it
// exists, when t ends, and a failed drop fails t.
func Schema(t testing.TB, dsn, prefix string) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := prefix + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}
