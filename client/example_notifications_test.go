package client_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/contactgraph/contactgraph/client"
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
