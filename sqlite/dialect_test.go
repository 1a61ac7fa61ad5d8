package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"testing"
)

// TestIsUnavailable classifies real errors of the driver: those of a file
// that cannot be written now are outages, those of a statement are not.
func TestIsUnavailable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "codes.db")
	rw, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	rw.SetMaxOpenConns(1)
	if _, err := rw.Exec(`CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB)`); err != nil {
		t.Fatal(err)
	}
	ro, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	readOnly := func() error {
		_, err := ro.ExecContext(ctx, `INSERT INTO t VALUES ('ro', NULL)`)
		return err // SQLITE_READONLY
	}
	full := func() error {
		c, err := rw.Conn(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		var pages int
		if err := c.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
			return err
		}
		if _, err := c.ExecContext(ctx, `PRAGMA max_page_count = `+strconv.Itoa(pages)); err != nil {
			return err
		}
		defer c.ExecContext(ctx, `PRAGMA max_page_count = 1073741823`)
		_, err = c.ExecContext(ctx, `INSERT INTO t VALUES ('full', zeroblob(1000000))`)
		return err // SQLITE_FULL
	}
	busy := func() error {
		tx, err := rw.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, `INSERT INTO t VALUES ('held', NULL)`); err != nil {
			return err
		}
		_, err = other.ExecContext(ctx, `INSERT INTO t VALUES ('busy', NULL)`)
		return err // SQLITE_BUSY
	}
	unique := func() error {
		rw.ExecContext(ctx, `INSERT INTO t VALUES ('dup', NULL)`)
		_, err := rw.ExecContext(ctx, `INSERT INTO t VALUES ('dup', NULL)`)
		return err
	}
	syntax := func() error {
		_, err := rw.ExecContext(ctx, `INSERT INTO nosuchtable VALUES (1)`)
		return err
	}
	for _, tc := range []struct {
		name string
		make func() error
		want bool
	}{
		{"read-only", readOnly, true},
		{"full", full, true},
		{"busy", busy, true},
		{"unique violation", unique, false},
		{"no such table", syntax, false},
	} {
		err := tc.make()
		if err == nil {
			t.Fatalf("%s: no error", tc.name)
		}
		if got := (dialect{}).IsUnavailable(err); got != tc.want {
			t.Errorf("%s (%v): IsUnavailable = %v, want %v", tc.name, err, got, tc.want)
		}
	}
	if (dialect{}).IsUnavailable(context.DeadlineExceeded) {
		t.Error("the dialect classifies context errors: that is the store's job")
	}
}
