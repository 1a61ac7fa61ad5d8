package main

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// listen listens on addr for serve. The common failures get a sentence
// that says what to do: a port another program holds, a privileged port, an
// address this machine does not have.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	switch {
	case err == nil:
		return ln, nil
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("serve: %s is already in use by another program; stop it or give another --addr (env CONTACTGRAPH_ADDR)", addr)
	case errors.Is(err, syscall.EACCES):
		return nil, fmt.Errorf("serve: not allowed to listen on %s (ports below 1024 need privileges); give another --addr (env CONTACTGRAPH_ADDR)", addr)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return nil, fmt.Errorf("serve: %s is not an address of this machine; give another --addr (env CONTACTGRAPH_ADDR)", addr)
	}
	return nil, fmt.Errorf("serve: cannot listen on %s: %w", addr, err)
}
