package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph/internal/pgcluster"
	"github.com/jackc/pgx/v5"
)

// TestBackupRestore takes a backup while writers run, restores it as a new
// server, and checks the delta rules on it: a deltaLink taken before the
// backup goes on (its round brings the changes up to the backup's
// snapshot), one taken after the backup is ahead of the restored data and
// refused with 410 resyncRequired, and every write acknowledged before the
// backup started is there. SQLite uses `contactgraph backup`; PostgreSQL
// the README's recipe, pg_dump and pg_restore, on a cluster of the test's
// own.
func TestBackupRestore(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		db := sqliteDB(t)
		copyPath := filepath.Join(t.TempDir(), "backup.db")
		backupRestore(t, db, func(t *testing.T) string {
			out := runCLI(t, "backup", "--db", db, "--out", copyPath)
			if !strings.HasPrefix(out, "backed up "+db+" to "+copyPath) {
				t.Fatalf("contactgraph backup printed %q", out)
			}
			return copyPath
		})
	})
	t.Run("postgres", func(t *testing.T) {
		cluster := pgcluster.ForTest(t)
		dump := filepath.Join(t.TempDir(), "contactgraph.dump")
		backupRestore(t, cluster.DSN(""), func(t *testing.T) string {
			runProgram(t, cluster.Program("pg_dump"), "--format=custom", "--file="+dump, cluster.DSN(""))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			conn, err := pgx.Connect(ctx, cluster.DSN(""))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, `CREATE DATABASE restored`); err != nil {
				t.Fatal(err)
			}
			runProgram(t, cluster.Program("pg_restore"), "--exit-on-error", "--dbname="+cluster.DSN("restored"), dump)
			return cluster.DSN("restored")
		})
	})
}

// backupRestore runs TestBackupRestore on db; backup takes the backup
// (while writes run) and returns the --db of the restored copy.
func backupRestore(t *testing.T, db string, backup func(t *testing.T) string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv := startServers(t, db, "live")[0]
	tok := userToken(t, db, "alice@contoso.com")
	a := &api{http: &http.Client{Timeout: requestTimeout}, base: srv.BaseURL(), token: tok}
	for i := 0; i < 10; i++ {
		create(t, a, fmt.Sprintf("before %d", i))
	}
	before, _ := deltaRound(t, a, "/me/contacts/delta")

	// Writers create contacts until told to stop; acked keeps the ids in
	// acknowledgement order.
	var (
		mu    sync.Mutex
		acked []string
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r, err := a.do(ctx, http.MethodPost, "/me/contacts", object{"givenName": jsonOf(fmt.Sprintf("writer %d #%d", w, i))})
				if err != nil {
					t.Error(err)
					return
				}
				doc, err := r.want(http.StatusCreated)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked = append(acked, str(doc, "id"))
				mu.Unlock()
			}
		}()
	}
	ackedNow := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), acked...)
	}
	waitFor(t, "writes before the backup", time.Minute, func() bool { return len(ackedNow()) >= 50 })
	beforeBackup := ackedNow()
	start := time.Now()
	restoredDB := backup(t)
	took := time.Since(start)
	duringBackup := len(ackedNow()) - len(beforeBackup)
	afterBackup := len(ackedNow())
	waitFor(t, "writes after the backup", time.Minute, func() bool { return len(ackedNow()) >= afterBackup+20 })
	after, _ := deltaRound(t, a, "/me/contacts/delta")
	close(stop)
	wg.Wait()

	restored := startServers(t, restoredDB, "restored")[0]
	r := &api{http: &http.Client{Timeout: requestTimeout}, base: restored.BaseURL(), token: tok}
	list, err := r.list(ctx, "/me/contacts")
	if err != nil {
		t.Fatal(err) // the token of the live server works: the signing key came with the backup
	}
	have := map[string]bool{}
	for _, c := range list {
		have[str(c, "id")] = true
	}
	for _, id := range beforeBackup {
		if !have[id] {
			t.Fatalf("contact %s, acknowledged before the backup started, is not in the restored copy", id)
		}
	}
	if len(list) > 10+afterBackup {
		t.Fatalf("the restored copy has %d contacts, more than were acknowledged when the backup ended (%d)", len(list), 10+afterBackup)
	}

	// The deltaLink of before the backup: its round brings every contact
	// written between it and the backup, and no other.
	_, items := deltaRound(t, r, mustOnHost(t, before, restored.Addr()))
	if len(items) != len(list)-10 {
		t.Fatalf("the round from the deltaLink taken before the backup has %d changes, want %d (the restored contacts written after it)", len(items), len(list)-10)
	}
	// The deltaLink of after the backup is ahead of the restored data.
	resp, err := r.do(ctx, http.MethodGet, mustOnHost(t, after, restored.Addr()), nil)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	json.Unmarshal(resp.body, &body)
	if resp.status != http.StatusGone || body.Error.Code != "resyncRequired" {
		t.Fatalf("the deltaLink taken after the backup, on the restored copy: want 410 resyncRequired: %s", resp)
	}
	// A client that starts over gets the restored state.
	_, all := deltaRound(t, r, "/me/contacts/delta")
	if len(all) != len(list) {
		t.Fatalf("a new round on the restored copy has %d contacts, want %d", len(all), len(list))
	}
	t.Logf("backup under 3 writers took %v (%d writes acknowledged meanwhile); the restored copy has %d contacts (%d acknowledged before the backup started); a deltaLink from before the backup caught up with %d changes, one from after it was refused with 410 resyncRequired",
		took.Round(time.Millisecond), duringBackup, len(list), 10+len(beforeBackup), len(items))
}

// runCLI runs the contactgraph binary and returns its standard output; it
// fails the test if the command fails.
func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	return runProgram(t, serverBin, args...)
}

// runProgram runs a program and returns its standard output; it fails the test
// if the program fails.
func runProgram(t *testing.T, prog string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", prog, strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.String()
}
