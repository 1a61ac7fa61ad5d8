package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/contactgraph/contactgraph/client"
)

// receive is a webhook receiver for trying subscriptions out: it answers
// validation requests, checks clientState, and prints each notification
// item it gets as one JSON line.
func (m *Main) receive(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("receive", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	addr := fs.String("addr", "127.0.0.1:9000", "listen address of the receiver")
	state := fs.String("client-state", "", "accept only notifications with this clientState (others are counted and dropped)")
	count := fs.Int("count", 0, "exit after this many notification items (0: run until interrupted)")
	wait := fs.Duration("timeout", 0, "exit with an error if --count items have not arrived after this long (0: wait forever)")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("receive: unexpected argument %q", fs.Arg(0))
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	got := 0
	done := make(chan struct{})
	rc := &client.Receiver{ClientState: *state, Handle: func(_ context.Context, n client.Notifications) error {
		mu.Lock()
		defer mu.Unlock()
		for _, it := range n.Value {
			line, err := json.Marshal(it)
			if err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "%s\n", line)
			got++
			if got == *count {
				close(done)
			}
		}
		return nil
	}}
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(m.Stdout, "listening on http://%s/\n", displayAddr(ln.Addr()))
	var timeout <-chan time.Time
	if *wait > 0 {
		timeout = time.After(*wait)
	}
	var result error
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	case <-done:
	case <-timeout:
		mu.Lock()
		result = fmt.Errorf("receive: %d of %d notifications after %s", got, *count, *wait)
		mu.Unlock()
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return result
}
