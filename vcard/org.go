package vcard

import (
	"encoding/json"

	"github.com/contactgraph/contactgraph"
)

// EncodeOrgContact returns the card of an org contact (a directory entry)
// in version ("3.0" or "4.0"): its names, mail, job, company, department,
// business and mobile phones and first office address, with the org
// contact's id as UID. It maps through the contact fields, so a directory
// card reads as a contact card does.
func EncodeOrgContact(o *contactgraph.OrgContact, version string) []byte {
	doc := map[string]any{}
	for _, k := range []string{"displayName", "givenName", "surname", "jobTitle", "companyName", "department"} {
		var s string
		if raw, ok := o.Props[k]; ok && json.Unmarshal(raw, &s) == nil && s != "" {
			doc[k] = s
		}
	}
	var mail string
	if raw, ok := o.Props["mail"]; ok && json.Unmarshal(raw, &mail) == nil && mail != "" {
		doc["emailAddresses"] = []map[string]string{{"address": mail}}
	}
	var phones []struct{ Type, Number string }
	if raw, ok := o.Props["phones"]; ok && json.Unmarshal(raw, &phones) == nil {
		var business []string
		for _, p := range phones {
			switch p.Type {
			case "business":
				business = append(business, p.Number)
			case "mobile":
				doc["mobilePhone"] = p.Number
			}
		}
		if business != nil {
			doc["businessPhones"] = business
		}
	}
	var addrs []struct{ Street, City, State, PostalCode, CountryOrRegion string }
	if raw, ok := o.Props["addresses"]; ok && json.Unmarshal(raw, &addrs) == nil && len(addrs) > 0 {
		a := addrs[0]
		doc["businessAddress"] = map[string]string{"street": a.Street, "city": a.City, "state": a.State, "postalCode": a.PostalCode, "countryOrRegion": a.CountryOrRegion}
	}
	b, _ := json.Marshal(doc)
	return Encode(b, Parts{UID: o.ID}, version)
}
