// Command bench measures contactgraph as a client sees it: it builds the
// server, seeds big folders with `contactgraph seed`, starts
// `contactgraph serve` on loopback and drives it over HTTP with keep-alive,
// next to the in-process floor (the delta engine on the same database file,
// no HTTP) and two CardDAV servers doing the same job (Radicale, Xandikos).
//
//	go run ./bench            full sizes; writes bench/results/<date>-<backend>.json
//	go run ./bench -quick     every workload at small sizes, in under a minute
//
// See bench/README.md for the workloads, the flags and the output.
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
	m := &Main{Stdout: os.Stdout, Stderr: os.Stderr}
	if err := m.Run(ctx, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		os.Exit(1)
	}
}

// Main is the program, with its outside world passed in.
type Main struct {
	Stdout, Stderr io.Writer
}

// Run parses the flags, runs the selected workloads and writes the report.
func (m *Main) Run(ctx context.Context, args []string) error {
	cfg, err := parseFlags(args, m.Stderr)
	if err != nil {
		return err
	}
	b, err := newBench(ctx, cfg, m.Stdout)
	if err != nil {
		return err
	}
	defer b.close()
	runErr := b.run(ctx)
	b.report.finish()
	printTable(m.Stdout, b.report)
	path, err := b.report.write(cfg.Out)
	if err != nil {
		return errors.Join(runErr, err)
	}
	fmt.Fprintf(m.Stdout, "\nresults: %s\n", path)
	return runErr
}
