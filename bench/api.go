package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/contactgraph/contactgraph/client"
)

// newHTTPClient returns a keep-alive client with enough idle connections
// per host for every concurrent client of the bench.
func newHTTPClient() *http.Client {
	return &http.Client{
		Timeout: time.Minute, // a request that hangs fails its workload instead of the run
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        128,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

// api calls one contactgraph server as one user.
type api struct {
	hc    *http.Client
	base  string // …/v1.0
	token string
	pid   int // the server process when the bench started it, else 0
}

// meter starts a CPU meter over the bench and the server, or returns nil
// for a server the bench did not start (it may run anywhere).
func (a *api) meter() *cpuMeter {
	if a.pid == 0 {
		return nil
	}
	return startMeter(a.pid)
}

// do sends a request and reads the whole answer (so that the connection
// is reused); an answer other than want is an error.
func (a *api) do(ctx context.Context, method, path string, body []byte, want int) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %d (want %d): %.300s", method, path, resp.StatusCode, want, out)
	}
	return out, nil
}

// idOf returns the id of an entity answer.
func idOf(body []byte) (string, error) {
	var v struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.ID == "" {
		return "", fmt.Errorf("an answer without an id: %.200s", body)
	}
	return v.ID, nil
}

// createFolder creates a top-level contact folder and returns its id.
func (a *api) createFolder(ctx context.Context, name string) (string, error) {
	body, _ := json.Marshal(map[string]string{"displayName": name})
	out, err := a.do(ctx, http.MethodPost, "/me/contactFolders", body, http.StatusCreated)
	if err != nil {
		return "", err
	}
	return idOf(out)
}

// createContact creates a contact in a folder and returns its id.
func (a *api) createContact(ctx context.Context, folder string, body []byte) (string, error) {
	out, err := a.do(ctx, http.MethodPost, "/me/contactFolders/"+folder+"/contacts", body, http.StatusCreated)
	if err != nil {
		return "", err
	}
	return idOf(out)
}

func (a *api) updateContact(ctx context.Context, id string, body []byte) error {
	_, err := a.do(ctx, http.MethodPatch, "/me/contacts/"+id, body, http.StatusOK)
	return err
}

func (a *api) deleteContact(ctx context.Context, id string) error {
	_, err := a.do(ctx, http.MethodDelete, "/me/contacts/"+id, nil, http.StatusNoContent)
	return err
}

// deltaURL is the first link of a contact delta round over a folder.
func (a *api) deltaURL(folder string) string {
	return a.base + "/me/contactFolders/" + folder + "/contacts/delta"
}

// deltaClient returns the project's delta client with pages of 200.
func (a *api) deltaClient() *client.Client {
	tok := a.token
	return &client.Client{
		HTTP:     a.hc,
		Token:    func(context.Context) (string, error) { return tok, nil },
		PageSize: pageSize,
		Retries:  -1, // a benchmark reports failures, it does not retry them
	}
}

// pageSize is the Prefer: odata.maxpagesize of every round.
const pageSize = 200
