package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
)

// Backup writes a consistent copy of the database file at path to out,
// online: servers may go on reading and writing the file meanwhile. The
// copy is one snapshot of the database (VACUUM INTO runs in a read
// transaction, which in WAL mode does not block writers), so it holds
// every write committed before the snapshot and none after, each
// transaction whole.
//
// The source is opened read-only: Backup never creates it (a missing file
// is an error wrapping fs.ErrNotExist), never migrates it, and writes
// nothing to it. out must not exist (an error wrapping fs.ErrExist). The
// copy is written under a temporary name in out's directory, checked
// (PRAGMA quick_check), synced and renamed to out, so that out is either
// absent or a whole, checked database; on error the temporary file is
// removed. The copy holds the server's signing and token keys: it is
// created readable by its owner only.
//
// The copy is an ordinary SQLite file (rollback journal): a server started
// on it (Open) switches it to WAL. Delta tokens issued before the
// snapshot go on working against it; tokens issued after it are ahead of
// its data and refused (EResyncRequired).
func Backup(ctx context.Context, path, out string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := os.Lstat(out); err == nil {
		return fmt.Errorf("backup: %s: %w", out, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backup: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	// VACUUM INTO wants a file that is absent or empty: the empty one
	// reserves the name.
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmpName)
		}
	}()
	v := url.Values{}
	v.Add("mode", "ro")
	v.Add("_pragma", "busy_timeout(10000)")
	src, err := sql.Open("sqlite", "file:"+path+"?"+v.Encode())
	if err != nil {
		return fmt.Errorf("backup: open %s: %w", path, err)
	}
	defer src.Close()
	if _, err := src.ExecContext(ctx, `VACUUM INTO ?`, tmpName); err != nil {
		return fmt.Errorf("backup: copy %s: %w", path, err)
	}
	if err := check(ctx, tmpName); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := syncFile(tmpName); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	// Link rather than rename: it fails if out appeared meanwhile.
	if err := os.Link(tmpName, out); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("backup: %s: %w", out, fs.ErrExist)
		}
		// A file system without hard links.
		if err := os.Rename(tmpName, out); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	ok = true
	os.Remove(tmpName)
	return syncFile(filepath.Dir(out))
}

// check runs PRAGMA quick_check on the database file at path.
func check(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&res); err != nil {
		return fmt.Errorf("check the copy: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("check the copy: %s", res)
	}
	return nil
}

// syncFile flushes a file or directory to stable storage.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
