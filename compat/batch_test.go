package compat

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// registerBatchErrors registers, once per process, the error mappings
// GetBatchResponseById turns an inner 4xx or 5xx into (the SDK keeps them
// in a global registry).
var registerBatchErrors = sync.OnceValue(func() error {
	return msgraphcore.RegisterError(msgraphcore.BatchRequestErrorRegistryKey, abstractions.ErrorMappings{
		"4XX": odataerrors.CreateODataErrorFromDiscriminatorValue,
		"5XX": odataerrors.CreateODataErrorFromDiscriminatorValue,
	})
})

// TestBatch sends batches with the SDK's BatchRequest: three creates at
// once, read back with GetBatchResponseById, then a chain built with
// DependsOnItem whose first request fails, so that the others are 424.
func TestBatch(t *testing.T) {
	if err := registerBatchErrors(); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t)
	c := srv.client(t, srv.delegatedToken(t, uniqueUPN("batch"), "Contacts.ReadWrite"))
	ctx := t.Context()
	adapter := c.GetAdapter()

	batch := msgraphcore.NewBatchRequest(adapter)
	names := []string{"Ana", "Bob", "Cho"}
	var items []msgraphcore.BatchItem
	for _, n := range names {
		info, err := c.Me().Contacts().ToPostRequestInformation(ctx, newContact(n, "Batch"), nil)
		check(t, err, "ToPostRequestInformation")
		item, err := batch.AddBatchRequestStep(*info)
		check(t, err, "AddBatchRequestStep")
		items = append(items, item)
	}
	resp, err := batch.Send(ctx, adapter)
	check(t, err, "POST /$batch")
	ex := c.rec.last()
	if ex.method != http.MethodPost || !strings.HasSuffix(ex.url, "/v1.0/$batch") || ex.status != http.StatusOK {
		t.Fatalf("the SDK sent %s %s, answered %d", ex.method, ex.url, ex.status)
	}
	var sent struct {
		Requests []struct {
			URL       string   `json:"url"`
			DependsOn []string `json:"dependsOn"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(ex.reqBody, &sent); err != nil || len(sent.Requests) != 3 || sent.Requests[0].URL != "/me/contacts" {
		t.Errorf("the SDK's batch body (%v): %s", err, ex.reqBody)
	}
	if len(resp.GetResponses()) != 3 || len(resp.GetFailedResponses()) != 0 {
		t.Fatalf("statuses %v", resp.GetStatusCodes())
	}
	ids := map[string]bool{}
	for i, item := range items {
		if st := resp.GetStatusCodes()[*item.GetId()]; st != http.StatusCreated {
			t.Errorf("create %s: status %d", names[i], st)
		}
		ct, err := msgraphcore.GetBatchResponseById[models.Contactable](resp, *item.GetId(), models.CreateContactFromDiscriminatorValue)
		check(t, err, "GetBatchResponseById "+names[i])
		if deref(ct.GetGivenName()) != names[i] || deref(ct.GetDisplayName()) != names[i]+" Batch" || deref(ct.GetId()) == "" {
			t.Errorf("create %s: got %q %q id %q", names[i], deref(ct.GetGivenName()), deref(ct.GetDisplayName()), deref(ct.GetId()))
		}
		ids[deref(ct.GetId())] = true
	}
	page, err := c.Me().Contacts().Get(ctx, nil)
	check(t, err, "GET /me/contacts")
	if len(page.GetValue()) != 3 || len(ids) != 3 {
		t.Fatalf("after the batch: %d contacts, %d distinct ids", len(page.GetValue()), len(ids))
	}

	// A chain: a GET of a contact that does not exist, then two creates,
	// each DependsOnItem the one before (the SDK names the whole chain).
	chain := msgraphcore.NewBatchRequest(adapter)
	info, err := c.Me().Contacts().ByContactId(strings.Repeat("A", 32)).ToGetRequestInformation(ctx, nil)
	check(t, err, "ToGetRequestInformation")
	prev, err := chain.AddBatchRequestStep(*info)
	check(t, err, "AddBatchRequestStep")
	first := prev
	var dependents []msgraphcore.BatchItem
	for _, n := range []string{"Never", "Nope"} {
		info, err := c.Me().Contacts().ToPostRequestInformation(ctx, newContact(n, "Batch"), nil)
		check(t, err, "ToPostRequestInformation")
		item, err := chain.AddBatchRequestStep(*info)
		check(t, err, "AddBatchRequestStep")
		item.DependsOnItem(prev)
		dependents = append(dependents, item)
		prev = item
	}
	if len(prev.GetDependsOn()) != 2 {
		t.Fatalf("the SDK's DependsOnItem gave %v", prev.GetDependsOn())
	}
	resp, err = chain.Send(ctx, adapter)
	check(t, err, "POST /$batch (chain)")
	if st := resp.GetStatusCodes(); st[*first.GetId()] != http.StatusNotFound || len(resp.GetFailedResponses()) != 3 {
		t.Fatalf("chain statuses %v", st)
	}
	_, err = msgraphcore.GetBatchResponseById[models.Contactable](resp, *first.GetId(), models.CreateContactFromDiscriminatorValue)
	batchError(t, err, "the GET of a missing contact", "ErrorItemNotFound")
	for _, item := range dependents {
		if st := resp.GetStatusCodes()[*item.GetId()]; st != http.StatusFailedDependency {
			t.Errorf("a request after the failed one: status %d, want 424", st)
		}
		_, err := msgraphcore.GetBatchResponseById[models.Contactable](resp, *item.GetId(), models.CreateContactFromDiscriminatorValue)
		batchError(t, err, "a request after the failed one", "FailedDependency")
	}
	page, err = c.Me().Contacts().Get(ctx, nil)
	check(t, err, "GET /me/contacts")
	if len(page.GetValue()) != 3 {
		t.Errorf("after the failed chain: %d contacts, want 3", len(page.GetValue()))
	}
}

// batchError checks that GetBatchResponseById failed with an ODataError
// of the given code, with a message and an innerError request-id.
func batchError(t *testing.T, err error, what, code string) {
	t.Helper()
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) {
		t.Fatalf("%s: got %T %q, want *odataerrors.ODataError", what, err, describe(err))
	}
	main := oe.GetErrorEscaped()
	if main == nil || deref(main.GetCode()) != code || deref(main.GetMessage()) == "" ||
		main.GetInnerError() == nil || deref(main.GetInnerError().GetRequestId()) == "" {
		t.Errorf("%s: %s, want code %s with a message and a request-id", what, describe(err), code)
	}
}
