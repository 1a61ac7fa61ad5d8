package contactgraph

import (
	"crypto/sha1"
	"fmt"
	"strings"
	"time"
)

// User is a user of a tenant: the owner of a mailbox.
type User struct {
	ID          string // GUID
	UPN         string // userPrincipalName, unique in the tenant (case-insensitive)
	DisplayName string
	Mail        string
	Created     time.Time
}

// Mailbox identifies a user's mailbox: the scope of every contact and folder
// operation. Every store call is scoped by it; an object of another mailbox
// or tenant is "not found".
type Mailbox struct {
	TenantID string
	UserID   string
	RootID   string // id of the default "Contacts" folder
}

// TenantID returns the stable tenant id (a GUID) for a tenant name. A name
// that is already a GUID is returned as it is (lower case).
func TenantID(name string) string {
	if IsGUID(name) {
		return strings.ToLower(name)
	}
	return nameGUID("tenant", strings.ToLower(name))
}

// UserID returns the stable user id for a user principal name in a tenant.
func UserID(tenantID, upn string) string {
	return nameGUID("user", tenantID+"/"+strings.ToLower(upn))
}

// AppID returns the stable application id for an app name in a tenant.
func AppID(tenantID, name string) string {
	return nameGUID("app", tenantID+"/"+strings.ToLower(name))
}

// nameGUID derives a name-based (version 5 style) GUID.
func nameGUID(kind, name string) string {
	h := sha1.Sum([]byte("contactgraph:" + kind + ":" + name))
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	return formatGUID(h[:16])
}

func formatGUID(b []byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// IsGUID reports whether s is a GUID in its 8-4-4-4-12 hex form.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
