package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/contactgraph/contactgraph/auth"
	"github.com/contactgraph/contactgraph/client"
	"github.com/contactgraph/contactgraph/graphapi"
	"github.com/contactgraph/contactgraph/sqlite"
)

// Receive change notifications for a subscription made with clientState
// "secret" and this server's URL as notificationUrl: Graph first checks the
// URL with a handshake, then posts notifications. An item with another
// clientState is dropped.
func ExampleReceiver() {
	rc := &client.Receiver{
		ClientState: "secret",
		Handle: func(ctx context.Context, n client.Notifications) error {
			for _, it := range n.Value {
				if it.LifecycleEvent != "" {
					fmt.Printf("lifecycle %s for %s\n", it.LifecycleEvent, it.SubscriptionID)
					continue
				}
				fmt.Printf("%s %s (%s)\n", it.ChangeType, it.ResourceData.ID, it.Resource)
			}
			return nil // persisted; a later job runs a delta round
		},
	}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	// The handshake: echo the decoded token as text/plain.
	token := "Validation: a b+c/d%e"
	resp, err := http.Post(srv.URL+"?validationToken="+url.QueryEscape(token), "text/plain; charset=utf-8", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("handshake: %d %s %q\n", resp.StatusCode, resp.Header.Get("Content-Type"), body)

	// A notification POST.
	resp, err = http.Post(srv.URL, "application/json", strings.NewReader(`{"value":[
	  {"subscriptionId":"sub-1","clientState":"secret","changeType":"created",
	   "resource":"Users/u1/Contacts/AAMk","tenantId":"t1",
	   "resourceData":{"@odata.type":"#Microsoft.Graph.Contact","@odata.id":"Users/u1/Contacts/AAMk","@odata.etag":"W/\"1\"","id":"AAMk"}},
	  {"subscriptionId":"sub-1","clientState":"secret","lifecycleEvent":"missed","tenantId":"t1"},
	  {"subscriptionId":"sub-2","clientState":"guess","changeType":"deleted","resource":"Users/u1/Contacts/x"}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("notifications:", resp.StatusCode, "rejected:", rc.Rejected.Load())
	// Output:
	// handshake: 200 text/plain; charset=utf-8 "Validation: a b+c/d%e"
	// created AAMk (Users/u1/Contacts/AAMk)
	// lifecycle missed for sub-1
	// notifications: 202 rejected: 1
}

// Check the validationTokens of a POST of rich notifications: fetch the
// key set the server publishes once, then verify every token of every POST
// for the receiving application's id. A contactgraph server runs in the
// process; its signing key stands in for the sender's.
func ExampleValidationKeys() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	store, _ := sqlite.Open(ctx, filepath.Join(dir, "cg.db"), sqlite.Options{})
	defer store.Close()
	issuer, _ := auth.NewLocal(ctx, store, auth.LocalOptions{})
	jwks, _ := issuer.PublicJWKS()
	api, _ := graphapi.New(graphapi.Config{Store: store, Auth: issuer, JWKS: jwks})
	srv := httptest.NewServer(api)
	defer srv.Close()

	keys, err := client.FetchValidationKeys(ctx, nil, srv.URL+"/common/discovery/v2.0/keys")
	if err != nil {
		fmt.Println(err)
		return
	}
	const myApp = "11111111-2222-3333-4444-555555555555"
	token, _ := issuer.ValidationToken(myApp, "84bd8158-6d4d-4958-8b9f-9d6445542f95", time.Now()) // as in n.ValidationTokens
	fmt.Println("for my app:", keys.Verify(token, myApp, time.Now()))
	err = keys.Verify(token, "another-app", time.Now())
	fmt.Println("for another app refused:", errors.Is(err, client.ErrBadValidationToken))
	// Output:
	// for my app: <nil>
	// for another app refused: true
}
