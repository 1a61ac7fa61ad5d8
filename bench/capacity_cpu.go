package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// capCPU measures the CPU time the servers (and, on PostgreSQL, the
// database backends of their connections) spend in the phases of the
// capacity workload: the difference of utime+stime in /proc/<pid>/stat
// between resume and stop, summed over the resumes of a phase.
type capCPU struct {
	pids  []int
	db    *sql.DB // the bench's own connection, to find the backends; nil on SQLite
	close func() error
	app   string

	srv, pg, own uint64 // jiffies of the phase so far: servers, backends, the bench
	srv0, own0   uint64
	pg0          map[int]uint64
}

// newCapCPU measures the servers pids; on PostgreSQL also the backends
// whose application_name is the one withApplicationName gave serveDB.
func (b *bench) newCapCPU(ctx context.Context, pids []int, serveDB string) (*capCPU, error) {
	m := &capCPU{pids: pids, close: func() error { return nil }, app: capApp}
	if b.backend != "postgres" || serveDB == b.cfg.DB {
		return m, nil
	}
	store, err := b.openStore(ctx, b.cfg.DB)
	if err != nil {
		return nil, err
	}
	h, ok := store.(interface{ SQL() *sql.DB })
	if !ok {
		store.Close()
		return nil, errors.New("the PostgreSQL store has no SQL handle")
	}
	m.db, m.close = h.SQL(), store.Close
	return m, nil
}

func (m *capCPU) serverJiffies() uint64 {
	var n uint64
	for _, pid := range m.pids {
		n += procJiffies(strconv.Itoa(pid))
	}
	return n
}

// backends returns the jiffies of each database backend of the servers,
// by pid (nil on SQLite, or when the query fails).
func (m *capCPU) backends(ctx context.Context) map[int]uint64 {
	if m.db == nil {
		return nil
	}
	rows, err := m.db.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, m.app)
	if err != nil {
		return nil
	}
	defer rows.Close()
	out := map[int]uint64{}
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) == nil {
			out[pid] = procJiffies(strconv.Itoa(pid))
		}
	}
	return out
}

// start begins a phase.
func (m *capCPU) start(ctx context.Context) {
	m.reset()
	m.resume(ctx)
}

// reset forgets the phase so far; resume and stop then add to it.
func (m *capCPU) reset() { m.srv, m.pg, m.own = 0, 0, 0 }

func (m *capCPU) resume(ctx context.Context) {
	m.pg0 = m.backends(ctx)
	m.srv0 = m.serverJiffies()
	m.own0 = procJiffies("self")
}

// stop adds the time since resume. A backend that started meanwhile counts
// from 0; one that ended meanwhile is lost (the servers' pools keep their
// connections through a phase).
func (m *capCPU) stop(ctx context.Context) {
	m.srv += m.serverJiffies() - m.srv0
	m.own += procJiffies("self") - m.own0
	for pid, j := range m.backends(ctx) {
		if j >= m.pg0[pid] {
			m.pg += j - m.pg0[pid]
		}
	}
}

// serverMS is the servers' CPU time of the phase per operation, in ms.
func (m *capCPU) serverMS(ops int) float64 {
	return float64(m.srv) * 1000 / clockTicks / float64(max(ops, 1))
}

// clientMS is the bench's own CPU time (its clients) of the phase per
// operation, in ms.
func (m *capCPU) clientMS(ops int) float64 {
	return float64(m.own) * 1000 / clockTicks / float64(max(ops, 1))
}

// dbMS is the database backends' CPU time of the phase per operation, in ms.
func (m *capCPU) dbMS(ops int) float64 {
	return float64(m.pg) * 1000 / clockTicks / float64(max(ops, 1))
}

// storeStats are the size of a database and its row counts.
type storeStats struct {
	bytes, contacts, changes int64
	how                      string // what bytes counts
}

// storeStats opens the database of name (no server may be running on a
// SQLite file) and measures it.
func (b *bench) storeStats(ctx context.Context, name string) (storeStats, error) {
	var st storeStats
	db := b.database(name)
	store, err := b.openStore(ctx, db)
	if err != nil {
		return st, err
	}
	defer store.Close()
	h, ok := store.(interface{ SQL() *sql.DB })
	if !ok {
		return st, errors.New("the store has no SQL handle")
	}
	q := h.SQL()
	// The counts are over the database (the schema on PostgreSQL): on a
	// shared schema they include earlier runs.
	if err := q.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM changes)`).Scan(&st.contacts, &st.changes); err != nil {
		return st, fmt.Errorf("count rows: %w", err)
	}
	if b.backend == "postgres" {
		st.how = "pg_total_relation_size of every table of the schema (indexes and TOAST included)"
		err := q.QueryRowContext(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'`).Scan(&st.bytes)
		if err != nil {
			return st, fmt.Errorf("database size: %w", err)
		}
		return st, nil
	}
	st.how = "the SQLite file and its WAL"
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(db + suffix); err == nil {
			st.bytes += fi.Size()
		}
	}
	return st, nil
}
