package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
)

// terminal returns standard error when it is a terminal, else nil:
// progress is drawn for a person watching, never into a log or a pipe.
func (m *Main) terminal() *os.File {
	f, ok := m.Stderr.(*os.File)
	if !ok || !(isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		return nil
	}
	return f
}

// progress returns a function that draws a progress bar of done out of
// total on a terminal (standard error), and draws nothing elsewhere. The
// line ends when done reaches total.
func (m *Main) progress(what string, total int) func(done int) {
	f := m.terminal()
	if f == nil {
		return func(int) {}
	}
	start := time.Now()
	return func(done int) {
		const width = 30
		filled := width * done / max(total, 1)
		rate := float64(done) / max(time.Since(start).Seconds(), 1e-9)
		fmt.Fprintf(f, "\r%-12s [%s%s] %d/%d  %.0f/s ", what, repeat('#', filled), repeat('.', width-filled), done, total, rate)
		if done >= total {
			io.WriteString(f, "\n")
		}
	}
}

func repeat(c byte, n int) string { return strings.Repeat(string(c), max(n, 0)) }

// counter draws the progress of work of unknown size (a delta round) on a
// terminal: the count and rate, redrawn at most every 100 ms, and only
// once the work has taken a second, so that short runs draw nothing.
// Nothing is drawn elsewhere. It is not safe for concurrent use.
type counter struct {
	f     *os.File // nil: draw nothing
	what  string
	start time.Time
	drawn time.Time // last redraw; zero while nothing is drawn
	n     int
}

// counter returns a counter of what, started now.
func (m *Main) counter(what string) *counter {
	return &counter{f: m.terminal(), what: what, start: time.Now()}
}

// add counts n more and redraws when due.
func (c *counter) add(n int) {
	c.n += n
	if c.f == nil {
		return
	}
	now := time.Now()
	if now.Sub(c.start) < time.Second || now.Sub(c.drawn) < 100*time.Millisecond {
		return
	}
	c.drawn = now
	rate := float64(c.n) / now.Sub(c.start).Seconds()
	fmt.Fprintf(c.f, "\r%s: %d  %.0f/s ", c.what, c.n, rate)
}

// done ends the line, if one was drawn.
func (c *counter) done() {
	if c.f != nil && !c.drawn.IsZero() {
		fmt.Fprintf(c.f, "\r%s: %d, done\n", c.what, c.n)
	}
	c.drawn = time.Time{}
}
