package client_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/contactgraph/contactgraph/auth"
	"github.com/contactgraph/contactgraph/client"
	"github.com/contactgraph/contactgraph/graphapi"
	"github.com/contactgraph/contactgraph/sqlite"
)

// Mirror a user's contacts, then bring the mirror up to date from the
// saved deltaLink. Against Microsoft Graph, the first URL would be
// https://graph.microsoft.com/v1.0/me/contacts/delta and the token one
// from Entra ID; here a contactgraph server runs in the process.
func ExampleClient_Sync() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	store, _ := sqlite.Open(ctx, filepath.Join(dir, "cg.db"), sqlite.Options{})
	defer store.Close()
	issuer, _ := auth.NewLocal(ctx, store, auth.LocalOptions{})
	api, _ := graphapi.New(graphapi.Config{Store: store, Auth: issuer})
	srv := httptest.NewServer(api)
	defer srv.Close()
	token, _ := issuer.Mint(auth.MintOptions{TenantName: "contoso", UPN: "ada@contoso.com", Scopes: []string{"Contacts.ReadWrite"}})
	post := func(body string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1.0/me/contacts", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, _ := http.DefaultClient.Do(req)
		resp.Body.Close()
	}
	post(`{"givenName":"Ada","surname":"Lovelace"}`)
	post(`{"givenName":"Alan","surname":"Turing"}`)

	c := &client.Client{
		Token:    func(context.Context) (string, error) { return token, nil },
		PageSize: 1, // re-sent on every page
	}
	mirror := &client.MapMirror{}
	first := srv.URL + "/v1.0/me/contacts/delta?$select=displayName"
	deltaLink, err := c.Sync(ctx, first, "", mirror)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("after the first round:", mirror.Len(), "contacts")

	post(`{"givenName":"Grace","surname":"Hopper"}`)
	deltaLink, err = c.Sync(ctx, first, deltaLink, mirror) // only the change
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("after the next round:", mirror.Len(), "contacts")
	// Output:
	// after the first round: 2 contacts
	// after the next round: 3 contacts
}
