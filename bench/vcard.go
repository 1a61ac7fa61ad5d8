package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/contactgraph/contactgraph"
)

// vcard renders a generated contact as a vCard 3.0 with the given UID, so
// that the CardDAV peers store the same people contactgraph does. title,
// when set, replaces the job title (the updates of the incremental cycles).
func vcard(uid string, in contactgraph.ContactInput, title string) string {
	str := func(name string) string {
		var s string
		_ = json.Unmarshal(in.Props[name], &s)
		return s
	}
	var emails []struct {
		Address string `json:"address"`
	}
	_ = json.Unmarshal(in.Props["emailAddresses"], &emails)
	var phones []string
	_ = json.Unmarshal(in.Props["businessPhones"], &phones)
	var adr struct {
		City, CountryOrRegion, PostalCode, State, Street string
	}
	_ = json.Unmarshal(in.Props["businessAddress"], &adr)
	if title == "" {
		title = str("jobTitle")
	}

	var b strings.Builder
	line := func(name, value string) {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(value)
		b.WriteString("\r\n")
	}
	given, sur := str("givenName"), str("surname")
	line("BEGIN", "VCARD")
	line("VERSION", "3.0")
	line("UID", uid)
	line("FN", esc(strings.TrimSpace(given+" "+sur)))
	line("N", esc(sur)+";"+esc(given)+";;;")
	line("ORG", esc(str("companyName"))+";"+esc(str("department")))
	line("TITLE", esc(title))
	for _, e := range emails {
		line("EMAIL;TYPE=INTERNET,WORK", esc(e.Address))
	}
	for _, p := range phones {
		line("TEL;TYPE=WORK,VOICE", esc(p))
	}
	if m := str("mobilePhone"); m != "" {
		line("TEL;TYPE=CELL", esc(m))
	}
	if adr.City != "" {
		line("ADR;TYPE=WORK", fmt.Sprintf(";;%s;%s;%s;%s;%s", esc(adr.Street), esc(adr.City), esc(adr.State), esc(adr.PostalCode), esc(adr.CountryOrRegion)))
	}
	line("CATEGORIES", "Customers")
	line("END", "VCARD")
	return b.String()
}

// esc escapes a vCard 3.0 text value (RFC 2426 §4).
func esc(s string) string {
	return strings.NewReplacer(`\`, `\\`, ",", `\,`, ";", `\;`, "\n", `\n`).Replace(s)
}
