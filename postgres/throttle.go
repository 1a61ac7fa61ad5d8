package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/contactgraph/contactgraph/throttle"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Throttle returns the counters of --throttle graph on this database: every
// replica that uses them shares the limits.
//
// Each operation is one statement on one row, atomic through the row's
// lock, run on the pool with pgx's statement cache: one round trip, no
// transaction of its own. A concurrency slot is a row (name, slot) that
// a request holds with a lease: acquiring it is an UPDATE of the lowest
// free slot found with FOR UPDATE SKIP LOCKED (on a miss, the name's
// rows are created if missing and the UPDATE tried once more, so a
// refusal costs three statements), releasing it an UPDATE by holder. A
// replica that dies holding slots frees them when their lease ends.
// No session-level advisory lock is involved: it would pin a connection
// of the pool for the whole request. Windows and buckets are one upsert
// each, computed from the locked row. An Outlook request costs three
// statements (acquire, count, release) and one more with an upload; a
// directory request one, two for a write. The tables are UNLOGGED: their
// writes skip the WAL and commit without waiting for its flush, which
// makes a statement about 0.1 ms instead of a WAL flush (BenchmarkThrottle
// has the numbers); a crash of the database server empties them (the
// limits start over) and standbys do not have them.
func (db *DB) Throttle() throttle.Counters { return &counters{pool: db.pool} }

// counters implements throttle.Counters on the throttle_* tables
// (migration 7).
type counters struct{ pool *pgxpool.Pool }

const (
	acquireSlot = `
UPDATE throttle_slots AS s SET holder = $3, lease_until = $5
FROM (SELECT slot FROM throttle_slots
      WHERE name = $1 AND slot < $2 AND lease_until <= $4
      ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED) AS f
WHERE s.name = $1 AND s.slot = f.slot
RETURNING s.slot`
	createSlots = `
INSERT INTO throttle_slots (name, slot, holder, lease_until)
SELECT $1, g, '', 0 FROM generate_series(0, $2::integer - 1) AS g
ON CONFLICT DO NOTHING`
	releaseSlot = `UPDATE throttle_slots SET holder = '', lease_until = 0 WHERE name = $1 AND slot = $2 AND holder = $3`

	// addWindow: $1 name, $2 now, $3 window, $4 n, $5 limit (< 0: none).
	addWindow = `
INSERT INTO throttle_windows AS w (name, reset, used, ok)
VALUES ($1, $2::bigint + $3::bigint,
        CASE WHEN $5::bigint < 0 OR $4::bigint <= $5::bigint THEN GREATEST($4::bigint, 0) ELSE 0 END,
        CASE WHEN $5::bigint < 0 OR $4::bigint <= $5::bigint THEN 1 ELSE 0 END)
ON CONFLICT (name) DO UPDATE SET
	reset = CASE WHEN w.reset <= $2::bigint THEN EXCLUDED.reset ELSE w.reset END,
	used = CASE WHEN w.reset <= $2::bigint THEN EXCLUDED.used
	            WHEN $4::bigint < 0 THEN GREATEST(w.used + $4::bigint, 0)
	            WHEN $5::bigint < 0 OR w.used + $4::bigint <= $5::bigint THEN w.used + $4::bigint
	            ELSE w.used END,
	ok = CASE WHEN w.reset <= $2::bigint THEN EXCLUDED.ok
	          WHEN $4::bigint < 0 OR $5::bigint < 0 OR w.used + $4::bigint <= $5::bigint THEN 1
	          ELSE 0 END
RETURNING reset, used, ok`

	// takeBucket: $1 name, $2 cost, $3 capacity, $4 now, $5 rate (tokens
	// per ms). refilled is the level at $4, computed from the locked row.
	takeBucket = `
INSERT INTO throttle_buckets AS b (name, level, at, capacity, rate, ok)
VALUES ($1,
        CASE WHEN $2::float8 <= $3::float8 THEN LEAST($3::float8 - $2::float8, $3::float8) ELSE $3::float8 END,
        $4::bigint, $3::bigint, $5::float8,
        CASE WHEN $2::float8 <= $3::float8 THEN 1 ELSE 0 END)
ON CONFLICT (name) DO UPDATE SET
	level = CASE WHEN ` + refilled + ` >= $2::float8 THEN LEAST(` + refilled + ` - $2::float8, $3::float8) ELSE ` + refilled + ` END,
	ok = CASE WHEN ` + refilled + ` >= $2::float8 THEN 1 ELSE 0 END,
	at = GREATEST(b.at, $4::bigint), capacity = $3::bigint, rate = $5::float8
RETURNING level, ok`
	refilled = `LEAST($3::float8, b.level + GREATEST($4::bigint - b.at, 0) * $5::float8)`

	sweepSlots   = `DELETE FROM throttle_slots WHERE lease_until <= $1`
	sweepWindows = `DELETE FROM throttle_windows WHERE reset <= $1`
	sweepBuckets = `DELETE FROM throttle_buckets WHERE level + GREATEST($1::bigint - at, 0) * rate >= capacity`
)

func (c *counters) Acquire(ctx context.Context, key string, limit int, holder string, now, until time.Time) (int, bool, error) {
	for attempt := 0; ; attempt++ {
		var slot int
		err := c.pool.QueryRow(ctx, acquireSlot, key, limit, holder, now.UnixMilli(), until.UnixMilli()).Scan(&slot)
		if err == nil {
			return slot, true, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return 0, false, fmt.Errorf("throttle: acquire: %w", err)
		}
		if attempt > 0 {
			return 0, false, nil
		}
		// Every slot is held, or the name's slots do not all exist yet
		// (another session may be creating them: try again either way).
		if _, err := c.pool.Exec(ctx, createSlots, key, limit); err != nil {
			return 0, false, fmt.Errorf("throttle: create slots: %w", err)
		}
	}
}

func (c *counters) Release(ctx context.Context, key string, slot int, holder string) error {
	if _, err := c.pool.Exec(ctx, releaseSlot, key, slot, holder); err != nil {
		return fmt.Errorf("throttle: release: %w", err)
	}
	return nil
}

func (c *counters) Add(ctx context.Context, key string, n, limit int64, window time.Duration, now time.Time) (throttle.Window, error) {
	var reset, used int64
	var ok int
	if err := c.pool.QueryRow(ctx, addWindow, key, now.UnixMilli(), window.Milliseconds(), n, limit).Scan(&reset, &used, &ok); err != nil {
		return throttle.Window{}, fmt.Errorf("throttle: add: %w", err)
	}
	return throttle.Window{OK: ok == 1, Used: used, Reset: time.UnixMilli(reset).UTC()}, nil
}

func (c *counters) Take(ctx context.Context, key string, cost, capacity int64, period time.Duration, now time.Time) (throttle.Bucket, error) {
	rate := float64(capacity) / float64(period.Milliseconds())
	var level float64
	var ok int
	if err := c.pool.QueryRow(ctx, takeBucket, key, cost, capacity, now.UnixMilli(), rate).Scan(&level, &ok); err != nil {
		return throttle.Bucket{}, fmt.Errorf("throttle: take: %w", err)
	}
	return throttle.Bucket{OK: ok == 1, Level: level}, nil
}

func (c *counters) Sweep(ctx context.Context, now time.Time) error {
	ms := now.UnixMilli()
	for _, q := range []string{sweepSlots, sweepWindows, sweepBuckets} {
		if _, err := c.pool.Exec(ctx, q, ms); err != nil {
			return fmt.Errorf("throttle: sweep: %w", err)
		}
	}
	return nil
}
