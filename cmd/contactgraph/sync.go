package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/contactgraph/contactgraph/client"
)

// syncState is what sync keeps between runs, in one JSON file: where it
// started, the deltaLink to resume from, and the mirror.
type syncState struct {
	URL       string                                `json:"url"`
	DeltaLink string                                `json:"deltaLink"`
	Objects   map[string]map[string]json.RawMessage `json:"objects"`
}

// sync mirrors a Graph delta collection (contactgraph's or Microsoft's)
// into a local JSON file, resuming from the deltaLink it saved: one round,
// one round per --every interval, or with --listen one round per change
// notification (see syncListen).
func (m *Main) sync(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	url := fs.String("url", "", "the delta URL to track, such as https://graph.microsoft.com/v1.0/me/contacts/delta?$select=displayName")
	out := fs.String("out", "mirror.json", "the mirror and its saved deltaLink")
	token := fs.String("token", m.env("TOKEN", ""), "bearer token (env CONTACTGRAPH_TOKEN)")
	tokenCmd := fs.String("token-cmd", "", "command that prints a fresh bearer token, run before each request (for long runs, such as --every or --listen)")
	pageSize := fs.Int("page-size", 0, "Prefer: odata.maxpagesize")
	minimal := fs.Bool("minimal", false, "Prefer: return=minimal (org contacts): merge the changed properties")
	every := fs.Duration("every", 0, "keep running, one round per interval (0: one round, then exit)")
	var lc listenConfig
	lc.flags(fs)
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("sync: unexpected argument %q", fs.Arg(0))
	}
	if err := lc.check(fs, *every); err != nil {
		return err
	}
	st, err := loadSyncState(*out)
	if err != nil {
		return err
	}
	if *url == "" {
		*url = st.URL
	}
	if *url == "" {
		return errors.New("sync: give --url the first time")
	}
	if st.URL != "" && st.URL != *url {
		return fmt.Errorf("sync: %s mirrors %s; use another --out for %s", *out, st.URL, *url)
	}
	if *token == "" && *tokenCmd == "" {
		return errors.New("sync: give --token or --token-cmd")
	}
	c := &client.Client{HTTP: &http.Client{Timeout: 2 * time.Minute}, PageSize: *pageSize, Minimal: *minimal,
		Token: func(ctx context.Context) (string, error) {
			if *tokenCmd == "" {
				return *token, nil
			}
			b, err := exec.CommandContext(ctx, "sh", "-c", *tokenCmd).Output()
			return strings.TrimSpace(string(b)), err
		}}
	mirror := &countingMirror{MapMirror: &client.MapMirror{Merge: *minimal}}
	mirror.Restore(st.Objects)
	r := &syncRun{m: m, c: c, url: *url, out: *out, st: st, mirror: mirror}
	if lc.Addr != "" {
		return m.syncListen(ctx, r, lc)
	}
	for {
		if err := r.round(ctx); err != nil {
			return err
		}
		if *every <= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*every):
		}
	}
}

// syncRun is the work of one sync process: its client, the collection it
// mirrors, the mirror and the file that keeps it. It is not safe for
// concurrent use: one round at a time.
type syncRun struct {
	m      *Main
	c      *client.Client
	url    string // the first delta URL
	out    string // the state file
	st     syncState
	mirror *countingMirror
}

// round brings the mirror up to date from the saved deltaLink (a full
// round, after a reset, when there is none), saves the state file and
// prints one line. On error nothing is saved. A round that takes more
// than a second shows its progress on a terminal.
func (r *syncRun) round(ctx context.Context) error {
	start := time.Now()
	r.mirror.progress = r.m.counter("sync: changes applied")
	link, err := r.c.Sync(ctx, r.url, r.st.DeltaLink, r.mirror)
	r.mirror.progress.done()
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	st := syncState{URL: r.url, DeltaLink: link, Objects: r.mirror.Snapshot()}
	if err := saveSyncState(r.out, st); err != nil {
		return err
	}
	r.st = st
	fmt.Fprintf(r.m.Stdout, "%s: %d objects, %d changes applied, %d resets, in %s\n",
		time.Now().UTC().Format(time.RFC3339), len(st.Objects), r.mirror.applied, r.mirror.resets, time.Since(start).Round(time.Millisecond))
	r.mirror.applied, r.mirror.resets = 0, 0
	return nil
}

// countingMirror is a client.MapMirror that counts what a run did.
type countingMirror struct {
	*client.MapMirror
	applied, resets int
	progress        *counter // of the round under way; nil draws nothing
}

func (c *countingMirror) Reset() error {
	c.resets++
	return c.MapMirror.Reset()
}

func (c *countingMirror) Apply(it client.Item) error {
	c.applied++
	if c.progress != nil {
		c.progress.add(1)
	}
	return c.MapMirror.Apply(it)
}

func loadSyncState(path string) (syncState, error) {
	st := syncState{Objects: map[string]map[string]json.RawMessage{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("sync: %s is not a mirror file: %w", path, err)
	}
	if st.Objects == nil {
		st.Objects = map[string]map[string]json.RawMessage{}
	}
	return st, nil
}

// saveSyncState writes the state atomically: a crash leaves the old file
// or the new one, never half of one.
func saveSyncState(path string, st syncState) error {
	b, err := json.MarshalIndent(st, "", " ") // map keys come out sorted

	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".mirror-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
