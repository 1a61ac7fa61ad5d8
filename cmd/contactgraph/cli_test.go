package main

import (
	"context"
	"errors"
	"flag"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// TestHelpAndFlagErrors: -h prints one usage to standard output and
// returns flag.ErrHelp (exit 0); a wrong flag returns one error naming it
// and the way to the flags, and prints nothing itself.
func TestHelpAndFlagErrors(t *testing.T) {
	for _, cmd := range []string{"serve", "token", "cert", "seed", "sync", "receive", "backup"} {
		var out, errs syncBuffer
		m := &Main{Stdout: &out, Stderr: &errs, Getenv: func(string) string { return "" }}
		err := m.Run(context.Background(), []string{cmd, "-h"})
		if !errors.Is(err, flag.ErrHelp) || strings.Count(out.String(), "usage: contactgraph "+cmd) != 1 || errs.String() != "" {
			t.Errorf("%s -h: %v, stdout %q, stderr %q", cmd, err, out.String(), errs.String())
		}
		out, errs = syncBuffer{}, syncBuffer{}
		err = m.Run(context.Background(), []string{cmd, "--no-such-flag"})
		if err == nil || errors.Is(err, flag.ErrHelp) || strings.Count(err.Error(), "flag provided but not defined: -no-such-flag") != 1 ||
			!strings.Contains(err.Error(), "contactgraph "+cmd+" -h") || out.String() != "" || errs.String() != "" {
			t.Errorf("%s --no-such-flag: %v, stdout %q, stderr %q; want one error and no output", cmd, err, out.String(), errs.String())
		}
	}
	var out syncBuffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	if err := m.Run(context.Background(), nil); !errors.Is(err, errUsage) || !strings.HasPrefix(out.String(), "usage: contactgraph") {
		t.Errorf("no command: %v %q", err, out.String())
	}
}

// TestVersionLine: the commit of the build information, else the
// link-time one, else "unknown".
func TestVersionLine(t *testing.T) {
	stamped := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	bare := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}}
	for _, tc := range []struct {
		info     *debug.BuildInfo
		fallback string
		want     string
	}{
		{stamped, "", "contactgraph v1.2.3 commit 0123456789abcdef0123456789abcdef01234567 (2026-01-02T03:04:05Z) with uncommitted changes, go1.26.0 "},
		{stamped, "ffff", "contactgraph v1.2.3 commit 0123456789abcdef0123456789abcdef01234567 "},
		{bare, "fedcba", "contactgraph (devel) commit fedcba, go1.26.0 "},
		{bare, "", "contactgraph (devel) commit unknown, go1.26.0 "},
	} {
		if got := versionLine(tc.info, true, tc.fallback); !strings.HasPrefix(got, tc.want) {
			t.Errorf("versionLine(%s, %q) = %q, want it to start with %q", tc.info.Main.Version, tc.fallback, got, tc.want)
		}
	}
}

// TestDBTimeoutFlag: --db-timeout defaults to 10 s, comes from
// CONTACTGRAPH_DB_TIMEOUT, and must be positive.
func TestDBTimeoutFlag(t *testing.T) {
	env := map[string]string{}
	m := &Main{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, Getenv: func(k string) string { return env[k] }}
	c, err := m.serveFlags(nil)
	if err != nil || c.DBTimeout != 10*time.Second {
		t.Fatalf("default: %v %v", c.DBTimeout, err)
	}
	env["CONTACTGRAPH_DB_TIMEOUT"] = "3s"
	if c, err = m.serveFlags(nil); err != nil || c.DBTimeout != 3*time.Second {
		t.Fatalf("from the environment: %v %v", c.DBTimeout, err)
	}
	if c, err = m.serveFlags([]string{"--db-timeout", "750ms"}); err != nil || c.DBTimeout != 750*time.Millisecond {
		t.Fatalf("the flag over the environment: %v %v", c.DBTimeout, err)
	}
	if _, err = m.serveFlags([]string{"--db-timeout", "0s"}); err == nil {
		t.Fatal("--db-timeout 0s accepted")
	}
}

// TestCreateFromEnvironment: CONTACTGRAPH_CREATE=1 is --create.
func TestCreateFromEnvironment(t *testing.T) {
	db := filepath.Join(t.TempDir(), "new.db")
	env := map[string]string{}
	m := &Main{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, Getenv: func(k string) string { return env[k] }}
	if err := m.Run(context.Background(), []string{"token", "--db", db, "--user", "a@contoso.com"}); !errors.Is(err, errNoDatabase) {
		t.Fatalf("token on a missing database: %v, want errNoDatabase", err)
	}
	env["CONTACTGRAPH_CREATE"] = "1"
	if err := m.Run(context.Background(), []string{"token", "--db", db, "--user", "a@contoso.com"}); err != nil {
		t.Fatalf("token with CONTACTGRAPH_CREATE=1: %v", err)
	}
}

// TestMalformedEnvironment: a CONTACTGRAPH_* value that is not an integer
// or a duration fails serve with an error naming the variable, instead of
// being ignored for the default.
func TestMalformedEnvironment(t *testing.T) {
	for name, v := range map[string]string{
		"CONTACTGRAPH_MAX_PAGE_SIZE":         "lots",
		"CONTACTGRAPH_MAX_BODY":              "4MB",
		"CONTACTGRAPH_RETENTION":             "30",
		"CONTACTGRAPH_NOTIFICATION_WORKERS":  "four",
		"CONTACTGRAPH_THROTTLE_REQUESTS":     "1e4",
		"CONTACTGRAPH_SUBSCRIPTION_LIFETIME": "7d",
	} {
		env := map[string]string{name: v}
		m := &Main{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, Getenv: func(k string) string { return env[k] }}
		_, err := m.serveFlags(nil)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: %v, want an error naming the variable", name, v, err)
		}
		delete(env, name)
		if _, err := m.serveFlags(nil); err != nil {
			t.Errorf("after %s is unset: %v", name, err)
		}
	}
}
