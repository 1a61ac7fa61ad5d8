package graphapi

import (
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
)

func TestFolders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	root := e.rootID(t, u)
	base := e.srv.URL + "/v1.0"

	// Create a top-level folder.
	r := e.do(t, "POST", "/v1.0/me/contactFolders", u.token, map[string]any{"displayName": "Friends", "@odata.type": "#microsoft.graph.contactFolder"})
	a := ok(t, r, 201)
	aID := str(t, a, "id")
	if str(t, a, "displayName") != "Friends" || str(t, a, "parentFolderId") != root ||
		str(t, a, "@odata.context") != base+"/$metadata#users('"+u.id+"')/contactFolders/$entity" {
		t.Fatalf("created %v", a)
	}
	if loc := r.header.Get("Location"); loc != base+"/users/"+u.id+"/contactFolders/"+aID {
		t.Errorf("Location %q", loc)
	}
	if got := ok(t, e.do(t, "GET", r.header.Get("Location"), u.token, nil), 200); str(t, got, "id") != aID {
		t.Errorf("Location does not serve the folder: %v", got)
	}
	if string(r.body) != `{"@odata.context":"`+base+`/$metadata#users('`+u.id+`')/contactFolders/$entity","id":"`+aID+`","displayName":"Friends","parentFolderId":"`+root+`"}` {
		t.Errorf("folder JSON %s", r.body)
	}

	// The default folder's parent is the message folder root, as in
	// Outlook: an id, never "", and not a contact folder.
	def := ok(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+root, u.token, nil), 200)
	if p := str(t, def, "parentFolderId"); !contactgraph.ValidID(p) || p == root || p != contactgraph.RootParentID(root) {
		t.Errorf("default folder's parentFolderId %q", p)
	} else {
		fails(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+p, u.token, nil), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "POST", "/v1.0/me/contactFolders", u.token, map[string]any{"displayName": "Top", "parentFolderId": p}), 404, "ErrorItemNotFound")
	}

	// A child folder, by POST childFolders and by parentFolderId.
	b := ok(t, e.do(t, "POST", "/v1.0/me/contactFolders/"+aID+"/childFolders", u.token, map[string]any{"displayName": "Close"}), 201)
	bID := str(t, b, "id")
	if str(t, b, "parentFolderId") != aID {
		t.Fatalf("child %v", b)
	}
	c := ok(t, e.do(t, "POST", "/v1.0/me/contactFolders", u.token, map[string]any{"displayName": "Far", "parentFolderId": aID}), 201)
	cID := str(t, c, "id")
	if str(t, c, "parentFolderId") != aID {
		t.Fatalf("child by parentFolderId %v", c)
	}
	fails(t, e.do(t, "POST", "/v1.0/me/contactFolders/"+aID+"/childFolders", u.token, map[string]any{"displayName": "X", "parentFolderId": root}), 400, "ErrorInvalidRequest")

	t.Run("list top level", func(t *testing.T) {
		l := ok(t, e.do(t, "GET", "/v1.0/me/contactFolders", u.token, nil), 200)
		vs := values(t, l)
		if len(vs) != 1 || str(t, vs[0], "id") != aID {
			t.Fatalf("top level %v", vs)
		}
		if str(t, l, "@odata.context") != base+"/$metadata#users('"+u.id+"')/contactFolders" {
			t.Errorf("context %v", l["@odata.context"])
		}
		if _, has := l["@odata.nextLink"]; has {
			t.Errorf("nextLink on a complete list: %v", l)
		}
	})
	t.Run("list children", func(t *testing.T) {
		l := ok(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+aID+"/childFolders?$select=displayName", u.token, nil), 200)
		vs := values(t, l)
		if len(vs) != 2 {
			t.Fatalf("children %v", vs)
		}
		for _, v := range vs {
			if len(v) != 2 || v["id"] == nil || v["displayName"] == nil {
				t.Errorf("$select=displayName gave %v", v)
			}
		}
		if !strings.HasSuffix(str(t, l, "@odata.context"), "/$metadata#users('"+u.id+"')/contactFolders('"+aID+"')/childFolders") {
			t.Errorf("context %v", l["@odata.context"])
		}
	})
	t.Run("get", func(t *testing.T) {
		for _, p := range []string{
			"/v1.0/me/contactFolders/" + bID,
			"/v1.0/me/contactFolders/" + aID + "/childFolders/" + bID,
			"/v1.0/me/contactFolders('" + aID + "')/childFolders('" + bID + "')",
			"/v1.0/me/CONTACTFOLDERS/" + aID + "/CHILDFOLDERS/" + bID,
		} {
			if got := ok(t, e.do(t, "GET", p, u.token, nil), 200); str(t, got, "displayName") != "Close" {
				t.Errorf("%s: %v", p, got)
			}
		}
		rootGot := ok(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+root, u.token, nil), 200)
		if str(t, rootGot, "displayName") != "Contacts" || str(t, rootGot, "parentFolderId") != contactgraph.RootParentID(root) {
			t.Errorf("root %v", rootGot)
		}
		sel := ok(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+aID+"?$select=parentFolderId", u.token, nil), 200)
		if len(sel) != 3 || sel["displayName"] != nil {
			t.Errorf("$select=parentFolderId gave %v", sel)
		}
		// Not a child of that folder.
		fails(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+bID+"/childFolders/"+aID, u.token, nil), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+bID+"/childFolders/"+cID+"/contacts", u.token, nil), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+contactgraph.NewID(), u.token, nil), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+contactgraph.NewID()+"/childFolders", u.token, nil), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "GET", "/v1.0/me/contactFolders/nope", u.token, nil), 400, "ErrorInvalidIdMalformed")
		fails(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+aID+"?$select=wellKnownName", u.token, nil), 400, "ErrorInvalidRequest")
	})
	t.Run("duplicate name", func(t *testing.T) {
		fails(t, e.do(t, "POST", "/v1.0/me/contactFolders", u.token, map[string]any{"displayName": "Friends"}), 409, "ErrorFolderExists")
		fails(t, e.do(t, "POST", "/v1.0/me/contactFolders/"+aID+"/childFolders", u.token, map[string]any{"displayName": "close"}), 409, "ErrorFolderExists")
		fails(t, e.do(t, "PATCH", "/v1.0/me/contactFolders/"+cID, u.token, map[string]any{"displayName": "Close"}), 409, "ErrorFolderExists")
	})
	t.Run("bad bodies", func(t *testing.T) {
		fails(t, e.do(t, "POST", "/v1.0/me/contactFolders", u.token, map[string]any{}), 400, "ErrorInvalidRequest")
		fails(t, e.do(t, "POST", "/v1.0/me/contactFolders", u.token, map[string]any{"displayName": 7}), 400, "ErrorInvalidRequest")
		fails(t, e.do(t, "POST", "/v1.0/me/contactFolders", u.token, map[string]any{"displayName": "x", "color": "red"}), 400, "ErrorInvalidRequest")
		fails(t, e.do(t, "POST", "/v1.0/me/contactFolders", u.token, map[string]any{"displayName": "x", "parentFolderId": "bad"}), 400, "ErrorInvalidIdMalformed")
		fails(t, e.do(t, "POST", "/v1.0/me/contactFolders", u.token, map[string]any{"displayName": "x", "parentFolderId": contactgraph.NewID()}), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "PATCH", "/v1.0/me/contactFolders/"+cID, u.token, map[string]any{"parentFolderId": cID}), 400, "ErrorInvalidRequest")
		fails(t, e.do(t, "PATCH", "/v1.0/me/contactFolders/"+aID, u.token, map[string]any{"parentFolderId": bID}), 400, "ErrorInvalidRequest")
	})
	t.Run("root is fixed", func(t *testing.T) {
		er := fails(t, e.do(t, "PATCH", "/v1.0/me/contactFolders/"+root, u.token, map[string]any{"displayName": "Mine"}), 400, "ErrorCannotMoveOrCopyDistinguishedFolder")
		if er.Message == "" {
			t.Error("no message")
		}
		fails(t, e.do(t, "PATCH", "/v1.0/me/contactFolders/"+root, u.token, map[string]any{"parentFolderId": aID}), 400, "ErrorCannotMoveOrCopyDistinguishedFolder")
		fails(t, e.do(t, "DELETE", "/v1.0/me/contactFolders/"+root, u.token, nil), 400, "ErrorDeleteDistinguishedFolder")
		if got := ok(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+root, u.token, nil), 200); str(t, got, "displayName") != "Contacts" {
			t.Errorf("root changed: %v", got)
		}
	})
	t.Run("rename and move", func(t *testing.T) {
		got := ok(t, e.do(t, "PATCH", "/v1.0/me/contactFolders/"+aID+"/childFolders/"+cID, u.token, map[string]any{"displayName": "Distant"}), 200)
		if str(t, got, "displayName") != "Distant" || str(t, got, "parentFolderId") != aID || got["@odata.context"] == nil {
			t.Fatalf("renamed %v", got)
		}
		got = ok(t, e.do(t, "PATCH", "/v1.0/me/contactFolders/"+cID, u.token, map[string]any{"parentFolderId": root}), 200)
		if str(t, got, "parentFolderId") != root {
			t.Fatalf("moved %v", got)
		}
		// No longer under A.
		fails(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+aID+"/childFolders/"+cID, u.token, nil), 404, "ErrorItemNotFound")
		if vs := values(t, ok(t, e.do(t, "GET", "/v1.0/me/contactFolders", u.token, nil), 200)); len(vs) != 2 {
			t.Errorf("top level after move %v", vs)
		}
	})
	t.Run("delete", func(t *testing.T) {
		ct := ok(t, e.do(t, "POST", "/v1.0/me/contactFolders/"+aID+"/childFolders/"+bID+"/contacts", u.token, map[string]any{"givenName": "Inside"}), 201)
		fails(t, e.do(t, "DELETE", "/v1.0/me/contactFolders/"+cID+"/childFolders/"+bID, u.token, nil), 404, "ErrorItemNotFound")
		ok(t, e.do(t, "DELETE", "/v1.0/me/contactFolders/"+aID, u.token, nil), 204)
		fails(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+aID, u.token, nil), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+bID, u.token, nil), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "GET", "/v1.0/me/contacts/"+str(t, ct, "id"), u.token, nil), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "DELETE", "/v1.0/me/contactFolders/"+aID, u.token, nil), 404, "ErrorItemNotFound")
	})
}

// TestFolderChainThreeDeep checks nested paths of more than two folders:
// every link of the chain is checked, not only the last one.
func TestFolderChainThreeDeep(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	a := str(t, ok(t, e.do(t, "POST", "/v1.0/me/contactFolders", u.token, map[string]any{"displayName": "A"}), 201), "id")
	b := str(t, ok(t, e.do(t, "POST", "/v1.0/me/contactFolders/"+a+"/childFolders", u.token, map[string]any{"displayName": "B"}), 201), "id")
	c := str(t, ok(t, e.do(t, "POST", "/v1.0/me/contactFolders/"+b+"/childFolders", u.token, map[string]any{"displayName": "C"}), 201), "id")
	other := str(t, ok(t, e.do(t, "POST", "/v1.0/me/contactFolders", u.token, map[string]any{"displayName": "Other"}), 201), "id")
	chain := "/v1.0/me/contactFolders/" + a + "/childFolders/" + b + "/childFolders/" + c
	ct := ok(t, e.do(t, "POST", chain+"/contacts", u.token, map[string]any{"givenName": "Deep"}), 201)
	if str(t, ct, "parentFolderId") != c {
		t.Fatalf("contact created in %v", ct)
	}
	if got := ok(t, e.do(t, "GET", chain, u.token, nil), 200); str(t, got, "id") != c || str(t, got, "displayName") != "C" {
		t.Errorf("GET of the chain: %v", got)
	}
	if vs := values(t, ok(t, e.do(t, "GET", chain+"/contacts", u.token, nil), 200)); len(vs) != 1 || str(t, vs[0], "givenName") != "Deep" {
		t.Errorf("contacts of the chain: %v", vs)
	}
	// A broken link anywhere in the chain is 404, even when the last links hold.
	for _, p := range []string{
		"/v1.0/me/contactFolders/" + other + "/childFolders/" + b + "/childFolders/" + c,
		"/v1.0/me/contactFolders/" + a + "/childFolders/" + other + "/childFolders/" + c,
		"/v1.0/me/contactFolders/" + a + "/childFolders/" + b + "/childFolders/" + other,
	} {
		fails(t, e.do(t, "GET", p, u.token, nil), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "GET", p+"/contacts", u.token, nil), 404, "ErrorItemNotFound")
	}
}
