package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/contactgraph/contactgraph/sqlite"
)

// backup writes a consistent copy of a SQLite database while servers go on
// using it (sqlite.Backup). A PostgreSQL database is refused with the
// pg_dump line to use instead.
func (m *Main) backup(ctx context.Context, args []string) error {
	flags := flag.NewFlagSet("backup", flag.ContinueOnError)
	db := flags.String("db", m.env("DB", "contactgraph.db"), "the SQLite database to copy (env CONTACTGRAPH_DB)")
	out := flags.String("out", m.env("BACKUP_OUT", ""), "the file to write the copy to; it must not exist (env CONTACTGRAPH_BACKUP_OUT)")
	if err := m.parseFlags(flags, args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("backup: unexpected argument %q", flags.Arg(0))
	}
	if isPostgres(*db) {
		return errors.New("backup: --db is a PostgreSQL database; back it up with PostgreSQL's own tools, such as\n  pg_dump --format=custom --file=contactgraph.dump '" + *db + "'\nand restore it with pg_restore (see the README, \"Backup and restore\")")
	}
	if *out == "" {
		return errors.New("backup: give --out FILE, the file to write the copy to")
	}
	if err := checkDBDir(*out); err != nil {
		return fmt.Errorf("backup: --out: %w", err)
	}
	start := time.Now()
	err := sqlite.Backup(ctx, *db, *out)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !exists(*db):
		return fmt.Errorf("backup: there is no database %s", *db)
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("backup: %s exists; give a new file to --out (a backup never overwrites)", *out)
	case err != nil:
		return err
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "backed up %s to %s (%d bytes) in %s\n", *db, *out, st.Size(), time.Since(start).Round(time.Millisecond))
	return nil
}

// exists reports whether path names an existing file.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
