package pgcluster

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestCluster creates, starts, freezes, thaws, stops and removes a cluster.
func TestCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := New(ctx)
	if errors.Is(err, ErrUnsupported) {
		if os.Getenv("CONTACTGRAPH_TEST_OUTAGES") == "require" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := c.Remove(); err != nil {
			t.Error(err)
		}
		if _, err := os.Stat(c.Dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there", c.Dir)
		}
	}()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	query := func(timeout time.Duration) error {
		qctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		conn, err := pgx.Connect(qctx, c.DSN(""))
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		var n int
		return conn.QueryRow(qctx, `SELECT 1`).Scan(&n)
	}
	if err := query(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.Freeze(); err != nil {
		t.Fatal(err)
	}
	if err := query(500 * time.Millisecond); err == nil {
		t.Fatal("a frozen server answered")
	}
	if err := c.Thaw(); err != nil {
		t.Fatal(err)
	}
	if err := query(10 * time.Second); err != nil {
		t.Fatalf("after thaw: %v", err)
	}
	if err := c.Stop(ctx, "fast"); err != nil {
		t.Fatal(err)
	}
	if c.Running() {
		t.Fatal("running after stop")
	}
	if err := query(5 * time.Second); err == nil {
		t.Fatal("a stopped server answered")
	}
}
