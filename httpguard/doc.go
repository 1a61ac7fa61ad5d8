// Package httpguard guards the connections of an HTTP server below what a
// handler sees:
//
//   - a limit on the open connections of one client address
//     (Config.MaxConnsPerClient), so that one client cannot hold every
//     connection the process can take; reverse proxies are exempt;
//   - a framing check for request smuggling: net/http serves a request
//     with both Content-Length and Transfer-Encoding, reading it as
//     chunked and removing Content-Length before a handler can see it.
//     The Listener follows the request stream of each HTTP/1 connection
//     and Ambiguous tells a handler that the request's head was such a
//     one, so that it can answer 400 and close the connection, as
//     RFC 9112 §6.3 advises.
//
// Over TLS the check needs the decrypted stream, so the Listener runs the
// handshake itself: HTTP/2 connections (which have no Transfer-Encoding)
// go to net/http as *tls.Conn, HTTP/1 ones as plain connections whose
// requests Handler gives their TLS state back.
//
// The package knows nothing of Graph: what to answer is the handler's.
package httpguard
