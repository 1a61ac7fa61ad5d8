package contactgraph_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/contactgraph/contactgraph"
)

func TestErrorAbout(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("lookup: %w", contactgraph.About(contactgraph.EUserNotFound, "ghost@contoso.com"))
	if contactgraph.ErrorCode(err) != contactgraph.EUserNotFound {
		t.Errorf("code %q", contactgraph.ErrorCode(err))
	}
	if got, want := contactgraph.ErrorMessage(err), "No such user: 'ghost@contoso.com'."; got != want {
		t.Errorf("ErrorMessage = %q, want %q", got, want)
	}
	if !errors.Is(contactgraph.About(contactgraph.ENotFound, "x"), contactgraph.ErrNotFound) {
		t.Error("an ENotFound with a subject is not ErrNotFound")
	}
	if errors.Is(contactgraph.ErrNotFound, contactgraph.About(contactgraph.ENotFound, "x")) {
		t.Error("an error with a subject matched as a sentinel")
	}
	for _, tt := range []struct {
		err  error
		want string
	}{
		{contactgraph.ErrNotFound, "Not found."},
		{contactgraph.Errorf(contactgraph.ENotFound, "The contact has no photo."), "The contact has no photo."},
		{contactgraph.About(contactgraph.EFolderExists, "Work"), "A folder of this name exists: 'Work'."},
		{&contactgraph.Error{Code: contactgraph.EInternal, Message: "secret"}, "An internal server error occurred."},
		{errors.New("disk on fire"), "An internal server error occurred."},
	} {
		if got := contactgraph.ErrorMessage(tt.err); got != tt.want {
			t.Errorf("ErrorMessage(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
