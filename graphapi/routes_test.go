package graphapi

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
)

const (
	idA = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	idB = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
	idC = "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
)

func TestParseTarget(t *testing.T) {
	t.Parallel()
	type test struct {
		path string
		want target
	}
	tests := []test{
		{"/v1.0/users", target{kind: kUsers}},
		{"/v1.0/users/", target{kind: kUsers}},
		{"/v1.0/users/ada@contoso.com", target{kind: kUser, user: "ada@contoso.com"}},
		{"/v1.0/users/ada%40contoso.com", target{kind: kUser, user: "ada@contoso.com"}},
		{"/v1.0/users('ada@contoso.com')", target{kind: kUser, user: "ada@contoso.com"}},
		{"/v1.0/USERS/x@y", target{kind: kUser, user: "x@y"}},
		{"/V1.0/me/contacts", target{kind: kContacts, me: true}},
		{"/v1.0/me/contacts/" + idA, target{kind: kContact, me: true, item: idA}},
		{"/v1.0/me/contacts('" + idA + "')", target{kind: kContact, me: true, item: idA}},
		{"/v1.0/users/me-token-to-replace/contacts", target{kind: kContacts, me: true}},
		{"/v1.0/me", target{kind: kMe, me: true}},
		{"/v1.0/users/me-token-to-replace", target{kind: kMe, me: true}},
		{"/v1.0/users/ME-TOKEN-TO-REPLACE/contactFolders", target{kind: kFolders, me: true}},
		{"/v1.0/users/u@x/contacts", target{kind: kContacts, user: "u@x"}},
		{"/v1.0/$batch", target{kind: kBatch}},
		{"/v1.0/%24BATCH/", target{kind: kBatch}},
		{"/v1.0/me/contactFolders", target{kind: kFolders, me: true}},
		{"/v1.0/me/contactfolders", target{kind: kFolders, me: true}},
		{"/v1.0/me/ContactFolders/" + idA, target{kind: kFolder, me: true, folders: []string{idA}}},
		{"/v1.0/me/contactFolders('" + idA + "')", target{kind: kFolder, me: true, folders: []string{idA}}},
		{"/v1.0/me/contactFolders(" + idA + ")/contacts", target{kind: kContacts, me: true, folders: []string{idA}}},
		{"/v1.0/me/contactFolders/" + idA + "/childFolders", target{kind: kFolders, me: true, folders: []string{idA}}},
		{"/v1.0/me/contactFolders/" + idA + "/childfolders/" + idB, target{kind: kFolder, me: true, folders: []string{idA, idB}}},
		{"/v1.0/me/contactFolders/" + idA + "/childFolders('" + idB + "')/contacts/" + idC, target{kind: kContact, me: true, folders: []string{idA, idB}, item: idC}},
		{"/v1.0/me/contactFolders/" + idA + "/childFolders/" + idB + "/childFolders/" + idC, target{kind: kFolder, me: true, folders: []string{idA, idB, idC}}},
		{"/v1.0/me/contactFolders/" + idA + "/contacts/" + idB, target{kind: kContact, me: true, folders: []string{idA}, item: idB}},
		// A contact's photo and extensions, under every contact path.
		{"/v1.0/me/contacts/" + idA + "/photo", target{kind: kContactPhoto, me: true, item: idA}},
		{"/v1.0/me/contacts/" + idA + "/Photo/$value", target{kind: kContactPhotoValue, me: true, item: idA}},
		{"/v1.0/me/contacts('" + idA + "')/photo/%24value", target{kind: kContactPhotoValue, me: true, item: idA}},
		{"/v1.0/users/u@x/contacts/" + idA + "/photo/$value", target{kind: kContactPhotoValue, user: "u@x", item: idA}},
		{"/v1.0/me/contactFolders/" + idA + "/contacts/" + idB + "/photo", target{kind: kContactPhoto, me: true, folders: []string{idA}, item: idB}},
		{"/v1.0/me/contactFolders/" + idA + "/childFolders/" + idB + "/contacts/" + idC + "/photo/$value",
			target{kind: kContactPhotoValue, me: true, folders: []string{idA, idB}, item: idC}},
		{"/v1.0/me/contacts/" + idA + "/extensions", target{kind: kContactExtensions, me: true, item: idA}},
		{"/v1.0/users/u@x/contactFolders/" + idA + "/contacts/" + idB + "/Extensions", target{kind: kContactExtensions, user: "u@x", folders: []string{idA}, item: idB}},
		{"/v1.0/me/contacts/" + idA + "/extensions/Com.Contoso.X", target{kind: kContactExtension, me: true, item: idA, ext: "Com.Contoso.X"}},
		{"/v1.0/me/contacts/" + idA + "/extensions('Microsoft.OutlookServices.OpenTypeExtension.Com.Contoso.X')",
			target{kind: kContactExtension, me: true, item: idA, ext: "Microsoft.OutlookServices.OpenTypeExtension.Com.Contoso.X"}},
		{"/v1.0/me/contactFolders/" + idA + "/childFolders/" + idB + "/contacts/" + idC + "/extensions/X",
			target{kind: kContactExtension, me: true, folders: []string{idA, idB}, item: idC, ext: "X"}},
		// An encoded slash stays inside its segment.
		{"/v1.0/me/contacts/a%2Fb", target{kind: kContact, me: true, item: "a/b"}},
		{"/v1.0/me/contacts/" + idA[:31] + "%3D", target{kind: kContact, me: true, item: idA[:31] + "="}},
	}
	// Every delta spelling on every delta route.
	for _, d := range []string{"delta", "delta()", "Delta", "microsoft.graph.delta", "microsoft.graph.delta()", "Microsoft.Graph.Delta()", "delta%28%29", "microsoft.graph.delta%28%29"} {
		tests = append(tests,
			test{"/v1.0/me/contacts/" + d, target{kind: kContactDelta, me: true}},
			test{"/v1.0/me/contactFolders/" + d, target{kind: kFolderDelta, me: true}},
			test{"/v1.0/users/u@x/contactFolders/" + idA + "/contacts/" + d, target{kind: kContactDelta, user: "u@x", folders: []string{idA}}},
			test{"/v1.0/me/contactFolders/" + idA + "/childFolders/" + idB + "/contacts/" + d, target{kind: kContactDelta, me: true, folders: []string{idA, idB}}},
			test{"/v1.0/me/contactFolders/" + idA + "/childFolders/" + d, target{kind: kFolderDelta, me: true, folders: []string{idA}}},
			test{"/v1.0/me/contactFolders('" + idA + "')/childFolders/" + d, target{kind: kFolderDelta, me: true, folders: []string{idA}}},
		)
	}
	for _, tt := range tests {
		segs, err := splitPath(tt.path)
		if err != nil {
			t.Errorf("splitPath(%q): %v", tt.path, err)
			continue
		}
		got, err := parseTarget(segs)
		if err != nil {
			t.Errorf("parseTarget(%q): %v", tt.path, err)
			continue
		}
		if got.kind != tt.want.kind || got.me != tt.want.me || got.user != tt.want.user || got.item != tt.want.item || got.ext != tt.want.ext ||
			!slices.Equal(got.folders, tt.want.folders) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.path, got, tt.want)
		}
	}
}

func TestParseTargetErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path string
		code contactgraph.Code
		msg  string
	}{
		{"/", eBadRequest, "Invalid version: ''. This server serves v1.0."},
		{"/beta/me/contacts", eBadRequest, "Invalid version: 'beta'. This server serves v1.0."},
		{"/v1.0", eBadRequest, "Resource not found for the segment 'v1.0'."},
		{"/v1.0/me/photos", eBadRequest, "Resource not found for the segment 'photos'."},
		{"/v1.0/me/contacts/" + idA + "/photos", eBadRequest, "Resource not found for the segment 'photos'."},
		{"/v1.0/me/contacts/" + idA + "/photo/48x48/$value", eBadRequest, "Resource not found for the segment '48x48'."},
		{"/v1.0/me/contacts/" + idA + "/photo/value", eBadRequest, "Resource not found for the segment 'value'."},
		{"/v1.0/me/contacts/" + idA + "/extensions/a/b", eBadRequest, "Resource not found for the segment 'b'."},
		{"/v1.0/me/contacts/delta/x", eBadRequest, "Resource not found for the segment 'x'."},
		{"/v1.0/me/contactFolders/delta/x", eBadRequest, "Resource not found for the segment 'x'."},
		{"/v1.0/me/contactFolders/" + idA + "/messages", eBadRequest, "Resource not found for the segment 'messages'."},
		{"/v1.0/me//contacts", eBadRequest, "Resource not found for the segment ''."},
		{"/v1.0/contacts/" + idA + "/photo", eBadRequest, "Resource not found for the segment 'photo'."},
		{"/v1.0/directory", eBadRequest, "Resource not found for the segment 'directory'."},
		{"/v1.0/directory/roles", eBadRequest, "Resource not found for the segment 'roles'."},
		{"/v1.0/directory/deletedItems/x/y/z", eBadRequest, "Resource not found for the segment 'z'."},
		{"/v1.0/me/contacts/%zz", eBadRequest, "The path segment '%zz' is not correctly percent-encoded."},
		{"/v1.0/me/contacts()", eBadRequest, "Resource not found for the segment 'contacts()'."},
		{"/v1.0/$batch/x", eBadRequest, "Resource not found for the segment 'x'."},
	}
	for _, tt := range tests {
		segs, err := splitPath(tt.path)
		if err == nil {
			_, err = parseTarget(segs)
		}
		if contactgraph.ErrorCode(err) != tt.code || contactgraph.ErrorMessage(err) != tt.msg {
			t.Errorf("%s: got %v, want %s %q", tt.path, err, tt.code, tt.msg)
		}
	}
}

func TestCheckIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path string
		code contactgraph.Code
	}{
		{"/v1.0/me/contacts/" + idA, ""},
		{"/v1.0/me/contacts/nope", contactgraph.EMalformedID},
		{"/v1.0/me/contacts/a%2Fb", contactgraph.EMalformedID},
		{"/v1.0/me/contactFolders/" + idA[:31] + "%3D", contactgraph.EMalformedID},
		{"/v1.0/me/contactFolders/" + idA + "/childFolders/x/contacts", contactgraph.EMalformedID},
		{"/v1.0/users/not-a-user/contacts", contactgraph.EUserNotFound},
		{"/v1.0/users/a%2Fb@x/contacts", contactgraph.EUserNotFound},
		{"/v1.0/users/not-a-user", contactgraph.ENotFound},
		{"/v1.0/users/0B5C6B4A-1F5E-4C1B-9E7E-0A1B2C3D4E5F/contacts", ""},
		{"/v1.0/users/ada@contoso.com/contacts", ""},
	}
	for _, tt := range tests {
		segs, err := splitPath(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		tg, err := parseTarget(segs)
		if err != nil {
			t.Fatal(err)
		}
		if got := contactgraph.ErrorCode(tg.checkIDs()); got != tt.code {
			t.Errorf("%s: code %q, want %q", tt.path, got, tt.code)
		}
	}
}

// TestDeltaScope checks which folder each delta route hands the delta
// handlers: the default folder for /contacts/delta, the last folder of the
// path otherwise, and "" (every folder) for /contactFolders/delta.
func TestDeltaScope(t *testing.T) {
	t.Parallel()
	mb := contactgraph.Mailbox{TenantID: "t", UserID: "u", RootID: idC}
	tests := []struct {
		path string
		want string
	}{
		{"/v1.0/me/contacts/delta()", idC},
		{"/v1.0/me/contactFolders/" + idA + "/contacts/delta", idA},
		{"/v1.0/me/contactFolders/" + idA + "/childFolders/" + idB + "/contacts/delta", idB},
		{"/v1.0/me/contactFolders/delta", ""},
		{"/v1.0/me/contactFolders/" + idA + "/childFolders/delta", idA},
	}
	for _, tt := range tests {
		segs, _ := splitPath(tt.path)
		tg, err := parseTarget(segs)
		if err != nil {
			t.Fatal(err)
		}
		c := &call{t: tg, mb: mb}
		var got string
		switch tg.kind {
		case kContactDelta:
			got = c.folderID()
		case kFolderDelta:
			got = c.deltaParent()
		default:
			t.Fatalf("%s: kind %d", tt.path, tg.kind)
		}
		if got != tt.want {
			t.Errorf("%s: scope %q, want %q", tt.path, got, tt.want)
		}
	}
}

// TestRouteTable checks that the table has one row per shape and method
// and that every shape answers GET.
func TestRouteTable(t *testing.T) {
	t.Parallel()
	seen := map[[2]any]bool{}
	kinds := map[kind]bool{}
	for _, rt := range routes {
		k := [2]any{rt.kind, rt.method}
		if seen[k] {
			t.Errorf("duplicate route %v", k)
		}
		seen[k] = true
		kinds[rt.kind] = true
		if (len(rt.perms) == 0) != rt.kind.ownScope() || rt.handle == nil {
			t.Errorf("route %v lacks permissions or handler", k)
		}
	}
	for k := kUsers; k <= kContactDelta; k++ {
		if _, _, ok := lookupRoute(k, http.MethodGet); !ok {
			t.Errorf("kind %d has no GET", k)
		}
	}
	if _, allowed, ok := lookupRoute(kContact, http.MethodPut); ok || !slices.Equal(allowed, []string{"GET", "PATCH", "DELETE"}) {
		t.Errorf("PUT on a contact: ok %v, allowed %v", ok, allowed)
	}
}

func TestValidUPN(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"ada@contoso.com": true, "a.b+c@x.y": true, "@x": false, "x@": false, "nope": false,
		"a b@x": false, "a/b@x": false, "a\"@x": false, "": false, "a@b@c": true,
		// At most 256 bytes.
		strings.Repeat("a", 250) + "@x.com": true, strings.Repeat("a", 251) + "@x.com": false,
	} {
		if got := validUPN(s); got != want {
			t.Errorf("validUPN(%q) = %v", s, got)
		}
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"/v1.0/me/contacts", "/v1.0/me/contactFolders('x')/childFolders/delta()", "/v1.0/users/%2F/contacts", "/v1.0/me/contacts(''')"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		segs, err := splitPath(path)
		if err != nil {
			if contactgraph.ErrorCode(err) != eBadRequest {
				t.Fatalf("splitPath(%q): code %s", path, contactgraph.ErrorCode(err))
			}
			return
		}
		tg, err := parseTarget(segs)
		if err != nil {
			if contactgraph.ErrorCode(err) != eBadRequest {
				t.Fatalf("parseTarget(%q): code %s", path, contactgraph.ErrorCode(err))
			}
			return
		}
		if tg.kind == 0 {
			t.Fatalf("parseTarget(%q): no kind", path)
		}
		_ = tg.checkIDs()
	})
}
