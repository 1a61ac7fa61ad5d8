package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns both ends of a new pseudo-terminal and a function that
// returns what was written to the terminal end so far.
func openPTY(t *testing.T) (*os.File, func() string) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got bytes.Buffer
	done := make(chan struct{})
	go func() { // drain the terminal, or writes to it block
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			mu.Lock()
			got.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { pts.Close(); ptmx.Close(); <-done })
	return pts, func() string {
		time.Sleep(50 * time.Millisecond) // let the reader catch up
		mu.Lock()
		defer mu.Unlock()
		return got.String()
	}
}

// TestProgressOnTerminal: seed draws its progress bars on a terminal and
// nothing anywhere else; the counter of sync rounds draws once a round
// has taken a second.
func TestProgressOnTerminal(t *testing.T) {
	pts, shown := openPTY(t)
	var out syncBuffer
	m := &Main{Stdout: &out, Stderr: pts, Getenv: func(string) string { return "" }}
	db := filepath.Join(t.TempDir(), "cg.db")
	if err := m.Run(context.Background(), []string{"seed", "--db", db, "--contacts", "300", "--batch", "100", "--org-contacts", "50"}); err != nil {
		t.Fatal(err)
	}
	s := shown()
	for _, want := range []string{"\rcontacts     [##########....................] 100/300", "300/300", "\rorg contacts [##############################] 50/50"} {
		if !strings.Contains(s, want) {
			t.Errorf("the terminal lacks %q:\n%q", want, s)
		}
	}

	c := m.counter("sync: changes applied")
	c.start = time.Now().Add(-2 * time.Second) // a round under way for 2 s
	c.add(1234)
	c.done()
	// The terminal turns \n into \r\n.
	if s := shown(); !strings.Contains(s, "\rsync: changes applied: 1234 ") || !strings.Contains(s, "1234, done\r\n") {
		t.Errorf("the counter drew %q", s)
	}

	// Not a terminal: a file, as when standard error is redirected.
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m = &Main{Stdout: &out, Stderr: f, Getenv: func(string) string { return "" }}
	if err := m.Run(context.Background(), []string{"seed", "--db", db, "--contacts", "300", "--batch", "100"}); err != nil {
		t.Fatal(err)
	}
	quiet := m.counter("sync")
	quiet.start = time.Now().Add(-2 * time.Second)
	quiet.add(10)
	quiet.done()
	if b, _ := os.ReadFile(f.Name()); len(b) != 0 {
		t.Errorf("progress drawn into a file: %q", b)
	}
	// /dev/null is a character device, not a terminal.
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if (&Main{Stderr: null}).terminal() != nil {
		t.Error("/dev/null taken for a terminal")
	}
}
