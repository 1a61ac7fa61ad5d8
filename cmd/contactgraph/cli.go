package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// errUsage is Run's error after it printed the usage for a call without a
// command: main exits with status 2 and prints nothing more.
var errUsage = errors.New("usage")

// synopses are the first lines of each command's -h.
var synopses = map[string]string{
	"serve":   "usage: contactgraph serve [flags]\n\nRun the server: Microsoft Graph v1.0 contacts, contact folders and org contacts, on SQLite (--db FILE) or PostgreSQL (--db postgres://...).",
	"token":   "usage: contactgraph token --user UPN | --app NAME --roles ROLES [flags]\n\nPrint an access token signed with the key kept in the database, so that a server on the same database accepts it.",
	"cert":    "usage: contactgraph cert [flags]\n\nPrint the self-signed TLS certificate that serve --tls uses (kept in the database), for clients to trust.",
	"seed":    "usage: contactgraph seed --contacts N | --org-contacts N [flags]\n\nWrite generated contacts and org contacts into the store.",
	"sync":    "usage: contactgraph sync --url DELTA-URL --token TOKEN [flags]\n\nMirror a Graph delta collection into a local JSON file: one round, one per --every, or one per change notification (--listen).",
	"receive": "usage: contactgraph receive [flags]\n\nA webhook receiver that prints the change notifications it gets.",
	"backup":  "usage: contactgraph backup --db FILE --out FILE\n\nWrite a consistent copy of a SQLite database while servers go on using it. For PostgreSQL use pg_dump.",
}

// parseFlags parses a command's flags. The flag package prints nothing:
// -h or --help prints the command's usage, once, to standard output and
// returns flag.ErrHelp (main exits 0); a wrong flag or value returns one
// error naming it, which main prints once, with the way to the flags; a
// malformed CONTACTGRAPH_* value read for a flag's default returns an error
// naming the variable.
func (m *Main) parseFlags(fs *flag.FlagSet, args []string) error {
	envErr := m.envErr
	m.envErr = nil
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		m.printUsage(fs)
		return flag.ErrHelp
	}
	if err != nil {
		return fmt.Errorf("%s: %w (run 'contactgraph %s -h' for its flags)", fs.Name(), err, fs.Name())
	}
	if envErr != nil {
		return fmt.Errorf("%s: %w", fs.Name(), envErr)
	}
	return nil
}

// printUsage prints a command's synopsis and flags to standard output.
func (m *Main) printUsage(fs *flag.FlagSet) {
	if s, ok := synopses[fs.Name()]; ok {
		fmt.Fprintf(m.Stdout, "%s\n\nflags:\n", s)
	} else {
		fmt.Fprintf(m.Stdout, "usage: contactgraph %s [flags]\n\nflags:\n", fs.Name())
	}
	fs.SetOutput(m.Stdout)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// envBool reports whether the environment variable CONTACTGRAPH_<name> is
// "true" or "1".
func (m *Main) envBool(name string) bool {
	v := m.env(name, "")
	return v == "true" || v == "1"
}

// buildCommit, when set at link time (-ldflags "-X main.buildCommit=..."),
// is the commit --version prints for a binary built without version
// control information (a container build from a source tree without .git).
var buildCommit string

// version returns the line --version prints: the module version and the
// commit the binary was built from, as debug.ReadBuildInfo records them
// (go build in a git clone stamps both; not in a git worktree, nor with
// -buildvcs=false, when buildCommit is the fallback), and the toolchain.
func version() string {
	info, ok := debug.ReadBuildInfo()
	return versionLine(info, ok, buildCommit)
}

// versionLine formats the --version line of a build; fallback is the
// commit to name when the build information has none.
func versionLine(info *debug.BuildInfo, ok bool, fallback string) string {
	var b strings.Builder
	b.WriteString("contactgraph")
	if !ok {
		fmt.Fprintf(&b, " (no build information) commit %s, %s %s/%s", orUnknown(fallback), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return b.String()
	}
	fmt.Fprintf(&b, " %s", info.Main.Version)
	rev, at, modified := fallback, "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	fmt.Fprintf(&b, " commit %s", orUnknown(rev))
	if at != "" {
		fmt.Fprintf(&b, " (%s)", at)
	}
	if modified {
		b.WriteString(" with uncommitted changes")
	}
	fmt.Fprintf(&b, ", %s %s/%s", info.GoVersion, runtime.GOOS, runtime.GOARCH)
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
