package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestIsUniqueViolation checks that duplicates are told by SQLSTATE, through
// wrapping, and never by message text.
func TestIsUniqueViolation(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"unique violation", &pgconn.PgError{Code: "23505"}, true},
		{"wrapped", fmt.Errorf("create user: %w", &pgconn.PgError{Code: "23505"}), true},
		{"foreign key violation", &pgconn.PgError{Code: "23503", Message: "duplicate key value violates unique constraint"}, false},
		{"message text only", errors.New(`ERROR: duplicate key value violates unique constraint "users_pkey" (SQLSTATE 23505)`), false},
		{"nil", nil, false},
	} {
		if got := (dialect{}).IsUniqueViolation(tt.err); got != tt.want {
			t.Errorf("%s: IsUniqueViolation = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestIsUnavailable classifies errors by SQLSTATE and by the driver's
// error types: real ones where a server (CONTACTGRAPH_TEST_POSTGRES) or
// a closed port can make them, and the SQLSTATEs no test can provoke on a
// shared server.
func TestIsUnavailable(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"crash shutdown", &pgconn.PgError{Code: "57P02"}, true},
		{"cannot connect now", &pgconn.PgError{Code: "57P03"}, true},
		{"disk full", &pgconn.PgError{Code: "53100"}, true},
		{"too many connections", fmt.Errorf("begin: %w", &pgconn.PgError{Code: "53300"}), true},
		{"statement timeout", &pgconn.PgError{Code: "57014"}, true},
		{"read-only transaction", &pgconn.PgError{Code: "25006"}, true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"undefined table", &pgconn.PgError{Code: "42P01"}, false},
		{"serialization failure", &pgconn.PgError{Code: "40001"}, false},
		{"message text only", errors.New(`FATAL: terminating connection due to administrator command (SQLSTATE 57P01)`), false},
		{"nil", nil, false},
	} {
		if got := (dialect{}).IsUnavailable(tt.err); got != tt.want {
			t.Errorf("%s: IsUnavailable = %v, want %v", tt.name, got, tt.want)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	_, err = pgx.Connect(ctx, "postgres://postgres@"+closed+"/test?sslmode=disable&connect_timeout=5")
	if err == nil || !(dialect{}).IsUnavailable(err) {
		t.Errorf("connection refused (%v): want unavailable", err)
	}

	dsn := os.Getenv("CONTACTGRAPH_TEST_POSTGRES")
	if dsn == "" {
		t.Log("CONTACTGRAPH_TEST_POSTGRES is not set: the errors of a real server are not checked")
		return
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = "contactgraph_no_such_database"
	if _, err := pgx.ConnectConfig(ctx, cfg); err == nil || (dialect{}).IsUnavailable(err) {
		t.Errorf("a database that does not exist (%v): want an error, not an outage", err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SET statement_timeout = 50`); err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, `SELECT pg_sleep(5)`)
	if !(dialect{}).IsUnavailable(err) {
		t.Errorf("statement_timeout (%v): want unavailable", err)
	}
	// A session the server ends: the next statement on it.
	victim, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close(ctx)
	if _, err := conn.Exec(ctx, `RESET statement_timeout`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend($1)`, victim.PgConn().PID()); err != nil {
		t.Fatal(err)
	}
	_, err = victim.Exec(ctx, `SELECT 1`)
	if err == nil || !(dialect{}).IsUnavailable(err) {
		t.Errorf("a terminated session (%v): want unavailable", err)
	}
}
