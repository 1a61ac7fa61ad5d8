package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/contactgraph/contactgraph"
)

// davPeer is a CardDAV server the bench runs on loopback with throwaway
// storage.
type davPeer struct {
	name       string
	cmd        *exec.Cmd
	done       chan error
	collection string // address book URL, ending in /
	user, pass string
	hc         *http.Client
	// storage is the directory that holds the address book's card files
	// (the peers only: seedCards writes there); git when it is a Git work
	// tree whose commits are the store (Xandikos).
	storage string
	git     bool
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startRadicale runs Radicale on a free port with storage under dir (auth
// none: any login is accepted; rights owner_only) and creates the address
// book /bench/ab/ with an extended MKCOL.
func startRadicale(ctx context.Context, dir string, hc *http.Client, r *Report) (*davPeer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := []string{"--config", "", "--server-hosts", addr, "--storage-filesystem-folder", filepath.Join(dir, "collections"),
		"--auth-type", "none", "--rights-type", "owner_only", "--logging-level", "warning"}
	p := &davPeer{name: "radicale", collection: "http://" + addr + "/bench/ab/", user: "bench", pass: "x", hc: hc,
		storage: filepath.Join(dir, "collections", "collection-root", "bench", "ab")}
	if err := p.start(ctx, "radicale", args, dir, r); err != nil {
		return nil, err
	}
	if err := p.mkcol(ctx); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// startXandikos runs Xandikos on a free port with git storage under dir;
// --defaults creates the address book /bench/contacts/addressbook/.
func startXandikos(ctx context.Context, dir string, hc *http.Client, r *Report) (*davPeer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{"-d", dir, "-l", "127.0.0.1", "-p", strconv.Itoa(port), "--defaults", "--current-user-principal", "/bench/"}
	p := &davPeer{name: "xandikos", collection: "http://127.0.0.1:" + strconv.Itoa(port) + "/bench/contacts/addressbook/", user: "bench", pass: "x", hc: hc,
		storage: filepath.Join(dir, "bench", "contacts", "addressbook"), git: true}
	if err := p.start(ctx, "xandikos", args, dir, r); err != nil {
		return nil, err
	}
	return p, nil
}

// contactgraphDAV signs in to the CardDAV service of a contactgraph server
// (base: its …/v1.0 URL) with HTTP Basic, the UPN and an app password, and
// creates the address book /dav/U/contacts/<book>/ with an extended MKCOL,
// as for Radicale (U: the user id; the book is a new contact folder). The
// same client code then drives it and the peers.
func contactgraphDAV(ctx context.Context, base, upn, password, book string, hc *http.Client) (*davPeer, error) {
	root, ok := strings.CutSuffix(base, "/v1.0")
	if !ok {
		return nil, fmt.Errorf("base URL %q does not end in /v1.0", base)
	}
	user := contactgraph.UserID(contactgraph.TenantID(tenant), upn)
	p := &davPeer{name: "contactgraph", collection: root + "/dav/" + user + "/contacts/" + book + "/", user: upn, pass: password, hc: hc}
	if err := p.mkcol(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// seedCards writes cards 0..n-1 straight into a peer's storage, as files
// beside the ones its PUTs make (Xandikos: one Git commit of them all),
// for the sizes where PUT by PUT would take hours. The peer is idle
// meanwhile; its next request reads them.
func (p *davPeer) seedCards(ctx context.Context, ppl people, n int) error {
	if p.storage == "" {
		return fmt.Errorf("%s: no storage to seed", p.name)
	}
	if st, err := os.Stat(p.storage); err != nil || !st.IsDir() {
		return fmt.Errorf("%s: address book storage %s: not a directory (%v)", p.name, p.storage, err)
	}
	for i := range n {
		uid := ppl.uid(i)
		if err := os.WriteFile(filepath.Join(p.storage, uid+".vcf"), []byte(vcard(uid, ppl[i], "")), 0o644); err != nil {
			return err
		}
	}
	if !p.git {
		return nil
	}
	for _, args := range [][]string{{"add", "-A", "."}, {"commit", "-q", "-m", fmt.Sprintf("Seed %d cards", n)}} {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", p.storage, "-c", "user.name=bench", "-c", "user.email=bench@localhost"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: git %s: %v: %s", p.name, args[0], err, lastLines(string(out), 3))
		}
	}
	return nil
}

// start runs the peer and waits until it answers HTTP.
func (p *davPeer) start(ctx context.Context, prog string, args []string, dir string, r *Report) error {
	r.command(append([]string{prog}, quoteEmpty(args)...)...)
	p.cmd = exec.Command(prog, args...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logPath := filepath.Join(dir, prog+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	p.done = make(chan error, 1)
	go func() { p.done <- p.cmd.Wait(); logf.Close() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, "PROPFIND", p.collection, nil)
		req.SetBasicAuth(p.user, p.pass)
		req.Header.Set("Depth", "0")
		if resp, err := p.hc.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return nil
		}
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("%s exited: %v: %s", prog, err, tail(logPath))
		case <-ctx.Done():
			p.stop()
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return fmt.Errorf("%s did not answer within 60 seconds: %s", prog, tail(logPath))
		}
	}
}

func quoteEmpty(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" {
			a = `""`
		}
		out[i] = a
	}
	return out
}

// stop ends the peer (SIGTERM, then SIGKILL after 10 seconds).
func (p *davPeer) stop() {
	if p == nil || p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
	}
}

// do sends one WebDAV request and reads the whole answer.
func (p *davPeer) do(ctx context.Context, method, url string, body []byte, header map[string]string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	req.SetBasicAuth(p.user, p.pass)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

const mkcolBody = `<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>
<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>bench</D:displayname>
</D:prop></D:set></D:mkcol>`

// mkcol creates the address book (RFC 5689 extended MKCOL).
func (p *davPeer) mkcol(ctx context.Context) error {
	st, out, err := p.do(ctx, "MKCOL", p.collection, []byte(mkcolBody), map[string]string{"Content-Type": "application/xml; charset=utf-8"})
	if err != nil {
		return err
	}
	if st != http.StatusCreated {
		return fmt.Errorf("%s: MKCOL %s: %d: %.300s", p.name, p.collection, st, out)
	}
	return nil
}

func (p *davPeer) href(uid string) string { return p.collection + uid + ".vcf" }

// put stores a vCard (201 created, 204 replaced).
func (p *davPeer) put(ctx context.Context, uid, card string) error {
	st, out, err := p.do(ctx, http.MethodPut, p.href(uid), []byte(card), map[string]string{"Content-Type": "text/vcard; charset=utf-8"})
	if err != nil {
		return err
	}
	if st < 200 || st > 299 {
		return fmt.Errorf("%s: PUT %s: %d: %.300s", p.name, uid, st, out)
	}
	return nil
}

func (p *davPeer) remove(ctx context.Context, uid string) error {
	st, out, err := p.do(ctx, http.MethodDelete, p.href(uid), nil, nil)
	if err != nil {
		return err
	}
	if st < 200 || st > 299 {
		return fmt.Errorf("%s: DELETE %s: %d: %.300s", p.name, uid, st, out)
	}
	return nil
}

// multistatus is the answer of a sync-collection REPORT (RFC 6578).
type multistatus struct {
	Responses []struct {
		Href     string `xml:"href"`
		Status   string `xml:"status"`
		Propstat []struct {
			Status string `xml:"status"`
		} `xml:"propstat"`
	} `xml:"response"`
	SyncToken string `xml:"sync-token"`
}

// sync runs a sync-collection REPORT from token ("" for the initial one)
// asking for etags, and returns the new token, the member responses and
// how many of them are removals (404).
func (p *davPeer) sync(ctx context.Context, token string) (string, int, int, error) {
	var tok bytes.Buffer
	if err := xml.EscapeText(&tok, []byte(token)); err != nil {
		return "", 0, 0, err
	}
	body := `<?xml version="1.0" encoding="utf-8"?>
<D:sync-collection xmlns:D="DAV:"><D:sync-token>` + tok.String() + `</D:sync-token><D:sync-level>1</D:sync-level>
<D:prop><D:getetag/></D:prop></D:sync-collection>`
	st, out, err := p.do(ctx, "REPORT", p.collection, []byte(body), map[string]string{"Content-Type": "application/xml; charset=utf-8", "Depth": "1"})
	if err != nil {
		return "", 0, 0, err
	}
	if st != http.StatusMultiStatus {
		return "", 0, 0, fmt.Errorf("%s: REPORT sync-collection: %d: %.300s", p.name, st, out)
	}
	var ms multistatus
	if err := xml.Unmarshal(out, &ms); err != nil {
		return "", 0, 0, fmt.Errorf("%s: REPORT answer: %w", p.name, err)
	}
	if ms.SyncToken == "" {
		return "", 0, 0, errors.New(p.name + ": REPORT answer without a sync-token")
	}
	members, removed := 0, 0
	for _, r := range ms.Responses {
		if strings.TrimSuffix(r.Href, "/") == strings.TrimSuffix(strings.TrimPrefix(p.collection, hostOf(p.collection)), "/") {
			continue // the collection itself
		}
		members++
		if strings.Contains(r.Status, " 404") {
			removed++
		}
	}
	return ms.SyncToken, members, removed, nil
}

// hostOf returns the scheme and host of a URL ("http://127.0.0.1:5232").
func hostOf(u string) string {
	rest, ok := strings.CutPrefix(u, "http://")
	if !ok {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	return "http://" + host
}
