// Command contactgraph is a self-hosted Microsoft Graph v1.0 server for
// contacts, org contacts and contact folders, with delta query.
//
//	contactgraph serve   run the server
//	contactgraph token   print a signed access token
//	contactgraph cert    print the server's TLS certificate
//	contactgraph seed    generate realistic data sets
//	contactgraph sync    mirror a delta collection into a local file, once,
//	                     periodically, or (--listen) on change notifications
//	contactgraph backup  copy a SQLite database while servers use it
//	contactgraph import  read a .vcf file of many cards into a contact folder
//	contactgraph export  write a contact folder, or the directory, as a .vcf file
//
// -h or --help prints a command's usage and exits 0; --version prints the
// module version and commit of the binary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &Main{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	if err := m.Run(ctx, os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0) // the usage asked for is printed
		}
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "contactgraph:", err)
		}
		os.Exit(2)
	}
}

// Main is the program, with its outside world passed in so that tests can
// run it in-process.
type Main struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string

	// Ready, when set, receives the server's base URL once serve listens,
	// and the listener's own URL (http://ADDR/) once sync --listen has its
	// subscription and has saved its first round.
	Ready func(url string)
	// Rand is the source of the secrets commands generate (the clientState
	// of sync --listen); nil for crypto/rand.
	Rand io.Reader

	envErr error // the first malformed CONTACTGRAPH_* value read; parseFlags returns it
}

const usage = `usage: contactgraph <command> [flags]

commands:
  serve   run the server (embedded SQLite by default)
  token   print a signed access token for a user or an application
  cert    print the TLS certificate that serve --tls uses
  seed    write generated contacts and org contacts into the store
  sync    mirror a Graph delta collection into a local file (--listen: on change notifications)
  receive a webhook receiver that prints the change notifications it gets
  app-password  print a new app password for a user's CardDAV sign-in (HTTP Basic); --list, --revoke ID
  backup  write a consistent copy of a SQLite database while servers use it
  import  read a .vcf file of many cards into a user's contact folder (all or nothing)
  export  write a user's contact folder, or the tenant's directory, as a .vcf file

Run 'contactgraph <command> -h' for a command's flags, 'contactgraph --version' for the version.
`

// Run runs the command named by args[0]. It returns flag.ErrHelp after
// printing the help asked for (-h, --help), and errUsage after printing the
// usage to standard error for a call without a command.
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return m.serve(ctx, args[1:])
	case "token":
		return m.token(ctx, args[1:])
	case "cert":
		return m.cert(ctx, args[1:])
	case "seed":
		return m.seed(ctx, args[1:])
	case "sync":
		return m.sync(ctx, args[1:])
	case "receive":
		return m.receive(ctx, args[1:])
	case "app-password":
		return m.appPassword(ctx, args[1:])
	case "backup":
		return m.backup(ctx, args[1:])
	case "import":
		return m.importVCF(ctx, args[1:])
	case "export":
		return m.exportVCF(ctx, args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	case "--version", "-version", "version":
		_, err := fmt.Fprintln(m.Stdout, version())
		return err
	}
	return fmt.Errorf("unknown command %q (run 'contactgraph -h' for the commands)", args[0])
}

// env returns the environment variable CONTACTGRAPH_<name>, or def.
func (m *Main) env(name, def string) string {
	if v := m.Getenv("CONTACTGRAPH_" + name); v != "" {
		return v
	}
	return def
}

// badEnv remembers that CONTACTGRAPH_<name> holds v, which is not want;
// the command's parseFlags fails with the first such value.
func (m *Main) badEnv(name, v, want string) {
	if m.envErr == nil {
		m.envErr = fmt.Errorf("environment variable CONTACTGRAPH_%s=%q is not %s", name, v, want)
	}
}
