package graphapi

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/notify"
)

// TestSubscriptionDeliveries: GET /subscriptions/{id}/deliveries lists the
// sender's attempts for the caller's own subscription only.
func TestSubscriptionDeliveries(t *testing.T) {
	log := &notify.DeliveryLog{}
	e := emulatorEnv(t, func(c *Config) { c.Now = time.Now; c.DeliveryLog = log })
	s := startSender(t, e)
	s.Log = log
	h := newHook(t, "ok")
	ada := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	alan := e.newUser("contoso", "alan@contoso.com", contactgraph.PermContactsReadWrite)
	id := str(t, ok(t, e.do(t, "POST", "/v1.0/subscriptions", ada.token, subBody(h, "me/contacts", time.Now().Add(time.Hour))), http.StatusCreated), "id")

	m := ok(t, e.do(t, "GET", "/v1.0/subscriptions/"+id+"/deliveries", ada.token, nil), http.StatusOK)
	if ds := values(t, m); len(ds) != 0 {
		t.Fatalf("deliveries before any change: %v", ds)
	}
	if got := str(t, m, "@odata.context"); !strings.HasSuffix(got, "/v1.0/$metadata#subscriptions('"+id+"')/deliveries") {
		t.Errorf("@odata.context %q", got)
	}
	ok(t, e.do(t, "POST", "/v1.0/me/contacts", ada.token, map[string]any{"givenName": "Ada"}), http.StatusCreated)
	h.await(t, 1)
	var ds []map[string]any
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ds = values(t, ok(t, e.do(t, "GET", "/v1.0/Subscriptions/"+id+"/Deliveries", ada.token, nil), http.StatusOK)); len(ds) > 0 {
			break
		}
	}
	if len(ds) != 1 || ds[0]["status"] != "delivered" || ds[0]["attempt"] != 1.0 || ds[0]["notificationCount"] != 1.0 ||
		ds[0]["url"] != h.url() || ds[0]["error"] != nil || ds[0]["dateTime"] == nil {
		t.Errorf("deliveries: %v", ds)
	}
	fails(t, e.do(t, "GET", "/v1.0/subscriptions/"+id+"/deliveries", alan.token, nil), http.StatusNotFound, "ResourceNotFound")
	fails(t, e.do(t, "GET", "/v1.0/subscriptions/not-a-guid/deliveries", ada.token, nil), http.StatusNotFound, "ResourceNotFound")
	res := e.do(t, "POST", "/v1.0/subscriptions/"+id+"/deliveries", ada.token, nil)
	if res.status != http.StatusMethodNotAllowed {
		t.Errorf("POST deliveries: %d", res.status)
	}
}
