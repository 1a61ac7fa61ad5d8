package vcard

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"slices"
	"strings"

	"github.com/contactgraph/contactgraph"
)

// Extended properties under which a contact keeps what its vCard holds
// beside the Graph fields. They are written with the contact's document,
// in the same transaction, and a Graph PATCH of other fields keeps them.
const (
	// UIDProperty holds the card's UID when it is not the contact's id
	// (a card a CardDAV client made with its own UID).
	UIDProperty = "String {00020329-0000-0000-c000-000000000046} Name contactgraph.vcard.uid"
	// ExtraProperty holds, one content line each, the properties of the
	// card that have no Graph field, given back unchanged.
	ExtraProperty = "StringArray {00020329-0000-0000-c000-000000000046} Name contactgraph.vcard.extra"
)

// Mapped lists the Graph contact properties a vCard sets. A card written
// over CardDAV replaces all of them (an absent one is cleared) and keeps
// every other property of the contact.
var Mapped = []string{
	"displayName", "givenName", "surname", "middleName", "title", "generation", "nickName",
	"companyName", "department", "jobTitle", "emailAddresses", "businessPhones", "homePhones",
	"mobilePhone", "businessAddress", "homeAddress", "otherAddress", "businessHomePage",
	"birthday", "personalNotes", "categories",
}

// Decoded is what a vCard becomes on the Graph side.
type Decoded struct {
	// Body is a JSON object for contactgraph.ParseContactInput that sets
	// every property of Mapped (null or empty when the card has none).
	Body []byte
	// UID is the card's UID, "" when it has none.
	UID string
	// Extra are the content lines of the properties with no Graph field.
	Extra []string
	// Photo is the first PHOTO given inline as a JPEG or PNG image (the
	// contact's photo); nil when the card has none. A PHOTO that refers to
	// a URI, or holds another image type, is kept in Extra.
	Photo *contactgraph.Photo
}

type address struct {
	Street          string `json:"street,omitempty"`
	City            string `json:"city,omitempty"`
	State           string `json:"state,omitempty"`
	CountryOrRegion string `json:"countryOrRegion,omitempty"`
	PostalCode      string `json:"postalCode,omitempty"`
}

type email struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
}

var bdayRE = regexp.MustCompile(`^(\d{4})-?(\d{2})-?(\d{2})(T.*)?$`)

// Decode maps a parsed card to the Graph contact. EInvalid when it has no
// FN (or only an empty one together with no N).
func Decode(c *Card) (Decoded, error) {
	props := map[string]any{}
	for _, n := range Mapped {
		props[n] = nil
	}
	for _, n := range []string{"emailAddresses", "businessPhones", "homePhones", "categories"} {
		props[n] = []any{}
	}
	var d Decoded
	var emails []email
	var business, home, cats []string
	seenFN, seenN := false, false
	set := func(name, v string) bool {
		if props[name] != nil {
			return false
		}
		if v != "" {
			props[name] = v
		}
		return true
	}
	for i := range c.Props {
		p := &c.Props[i]
		kept := true
		switch p.Name {
		case "VERSION", "REV":
		case "UID":
			if d.UID == "" {
				d.UID = strings.TrimSpace(p.Value)
			} else {
				kept = false
			}
		case "FN":
			if !seenFN {
				seenFN = true
				set("displayName", strings.TrimSpace(Unescape(p.Value)))
			} else {
				kept = false
			}
		case "N":
			if seenN {
				kept = false
				break
			}
			seenN = true
			n := Split(p.Value, ';')
			for len(n) < 5 {
				n = append(n, "")
			}
			for j, f := range []string{"surname", "givenName", "middleName", "title", "generation"} {
				set(f, strings.TrimSpace(n[j]))
			}
		case "NICKNAME":
			kept = set("nickName", strings.TrimSpace(Split(p.Value, ',')[0]))
		case "ORG":
			o := Split(p.Value, ';')
			if props["companyName"] != nil || props["department"] != nil {
				kept = false
				break
			}
			set("companyName", strings.TrimSpace(o[0]))
			if len(o) > 1 {
				set("department", strings.TrimSpace(strings.Join(o[1:], ";")))
			}
		case "TITLE":
			kept = set("jobTitle", strings.TrimSpace(Unescape(p.Value)))
		case "EMAIL":
			if a := strings.TrimSpace(Unescape(p.Value)); a != "" {
				emails = append(emails, email{Address: a})
			}
		case "TEL":
			v := strings.TrimSpace(strings.TrimPrefix(Unescape(p.Value), "tel:"))
			switch {
			case v == "":
			case p.HasType("cell") && props["mobilePhone"] == nil:
				props["mobilePhone"] = v
			case p.HasType("home") && !p.HasType("fax"):
				home = append(home, v)
			case p.HasType("work") && !p.HasType("fax") || onlyVoice(p):
				business = append(business, v)
			default:
				kept = false
			}
		case "ADR":
			slot := "otherAddress"
			if p.HasType("work") {
				slot = "businessAddress"
			} else if p.HasType("home") {
				slot = "homeAddress"
			}
			if props[slot] != nil {
				kept = false
				break
			}
			a := Split(p.Value, ';')
			for len(a) < 7 {
				a = append(a, "")
			}
			props[slot] = address{Street: strings.TrimSpace(a[2]), City: strings.TrimSpace(a[3]), State: strings.TrimSpace(a[4]),
				PostalCode: strings.TrimSpace(a[5]), CountryOrRegion: strings.TrimSpace(a[6])}
		case "URL":
			kept = set("businessHomePage", strings.TrimSpace(Unescape(p.Value)))
		case "BDAY":
			m := bdayRE.FindStringSubmatch(strings.TrimSpace(p.Value))
			if m == nil || props["birthday"] != nil {
				kept = false
				break
			}
			props["birthday"] = m[1] + "-" + m[2] + "-" + m[3] + "T00:00:00Z"
		case "NOTE":
			kept = set("personalNotes", Unescape(p.Value))
		case "PHOTO":
			ph, err := inlinePhoto(p)
			if err != nil {
				return Decoded{}, err
			}
			if ph == nil || d.Photo != nil {
				kept = false
				break
			}
			d.Photo = ph
		case "CATEGORIES":
			for _, s := range Split(p.Value, ',') {
				if s = strings.TrimSpace(s); s != "" {
					cats = append(cats, s)
				}
			}
		default:
			kept = false
		}
		if !kept {
			d.Extra = append(d.Extra, p.Line())
		}
	}
	if !seenFN {
		return Decoded{}, invalid("FN is missing.")
	}
	if emails != nil {
		props["emailAddresses"] = emails
	}
	if business != nil {
		props["businessPhones"] = business
	}
	if home != nil {
		props["homePhones"] = home
	}
	if cats != nil {
		props["categories"] = cats
	}
	body, err := json.Marshal(props)
	if err != nil {
		return Decoded{}, err
	}
	d.Body = body
	return d, nil
}

// inlinePhoto returns the JPEG or PNG image a PHOTO holds inline: base64
// under ENCODING=b (vCard 3.0) or a base64 data: URI (4.0). nil for a
// PHOTO that refers to a URI or holds another type of image; EInvalid for
// base64 that does not decode or a JPEG or PNG whose header is broken.
func inlinePhoto(p *Property) (*contactgraph.Photo, error) {
	v := strings.TrimSpace(p.Value)
	var payload string
	switch {
	case len(v) >= 5 && strings.EqualFold(v[:5], "data:"):
		meta, data, ok := strings.Cut(v[5:], ",")
		if !ok || !strings.HasSuffix(strings.ToLower(meta), ";base64") {
			return nil, nil // a data: URI we cannot read: kept as it is
		}
		payload = data
	case slices.ContainsFunc(p.Param("ENCODING"), func(e string) bool { return strings.EqualFold(e, "b") || strings.EqualFold(e, "base64") }):
		payload = v
	default:
		return nil, nil
	}
	payload = strings.TrimRight(strings.Join(strings.Fields(payload), ""), "=")
	raw, err := base64.RawStdEncoding.DecodeString(payload)
	if err != nil {
		return nil, invalid("the PHOTO is not valid base64.")
	}
	if len(raw) == 0 {
		return nil, invalid("the PHOTO is empty.")
	}
	if contactgraph.SniffPhoto(raw) == "" {
		return nil, nil // another type of image (GIF, say): kept as it is
	}
	ph, err := contactgraph.ParsePhoto("", raw)
	if err != nil {
		return nil, err
	}
	return &ph, nil
}

// onlyVoice reports whether a TEL has no TYPE, or only VOICE/PREF ones.
func onlyVoice(p *Property) bool {
	for _, v := range p.Param("TYPE") {
		for _, s := range strings.Split(v, ",") {
			if s = strings.ToLower(strings.TrimSpace(s)); s != "voice" && s != "pref" && s != "" {
				return false
			}
		}
	}
	return true
}

// Input decodes a card's text into a validated contact input: the Graph
// fields (ParseContactInput's checks) and the extended properties that keep
// the card's UID (when it is not selfID, the id of the contact it
// replaces; "" for a new one) and its other properties. Errors are
// EInvalid or ETooLarge, never a partial input.
func Input(text []byte, selfID string) (contactgraph.ContactInput, Decoded, error) {
	c, err := Parse(text)
	if err != nil {
		return contactgraph.ContactInput{}, Decoded{}, err
	}
	d, err := Decode(c)
	if err != nil {
		return contactgraph.ContactInput{}, Decoded{}, err
	}
	in, err := contactgraph.ParseContactInput(d.Body)
	if err != nil {
		return contactgraph.ContactInput{}, Decoded{}, err
	}
	uid := contactgraph.ExtendedProperty{ID: UIDProperty, Value: d.UID}
	if d.UID == "" || d.UID == selfID {
		uid.Remove = true
	}
	in.Photo, in.RemovePhoto = d.Photo, d.Photo == nil && selfID != ""
	extra := contactgraph.ExtendedProperty{ID: ExtraProperty, Multi: true, Values: d.Extra}
	if len(d.Extra) == 0 {
		extra.Remove = true
	}
	for _, ep := range []contactgraph.ExtendedProperty{uid, extra} {
		if ep.Remove && selfID == "" {
			continue // nothing to remove on a new contact
		}
		if ep.Key, err = contactgraph.ExtendedPropertyKey(ep.ID); err != nil {
			return contactgraph.ContactInput{}, Decoded{}, err
		}
		for _, v := range append([]string{ep.Value}, ep.Values...) {
			if len(v) > 32<<10 {
				return contactgraph.ContactInput{}, Decoded{}, contactgraph.Errorf(contactgraph.ETooLarge, "A vCard property without a Graph field is at most 32 KiB.")
			}
		}
		in.Extended = append(in.Extended, ep)
	}
	return in, d, nil
}

// Encode renders a contact's Graph document (or a delta item holding it)
// as a vCard of version "3.0" or "4.0", with the UID and photo of p and its
// extra content lines appended unchanged.
func Encode(doc json.RawMessage, p Parts, version string) []byte {
	var c struct {
		DisplayName, GivenName, Surname, MiddleName, Title, Generation, NickName string
		CompanyName, Department, JobTitle, MobilePhone, BusinessHomePage         string
		Birthday, PersonalNotes                                                  string
		EmailAddresses                                                           []email
		BusinessPhones, HomePhones, Categories                                   []string
		BusinessAddress, HomeAddress, OtherAddress                               address
		ID                                                                       string
	}
	_ = json.Unmarshal(doc, &c)
	uid := p.UID
	if uid == "" {
		uid = c.ID
	}
	v4 := version == "4.0"
	if !v4 {
		version = "3.0"
	}
	var b bytes.Buffer
	w := func(line string) { writeFolded(&b, line) }
	typ := func(t3, t4 string) string {
		if v4 {
			return t4
		}
		return t3
	}
	w("BEGIN:VCARD")
	w("VERSION:" + version)
	w("UID:" + uid)
	fn := c.DisplayName
	if fn == "" && len(c.EmailAddresses) > 0 {
		fn = c.EmailAddresses[0].Address
	}
	w("FN:" + Escape(fn))
	w("N:" + strings.Join([]string{Escape(c.Surname), Escape(c.GivenName), Escape(c.MiddleName), Escape(c.Title), Escape(c.Generation)}, ";"))
	if c.NickName != "" {
		w("NICKNAME:" + Escape(c.NickName))
	}
	if c.CompanyName != "" || c.Department != "" {
		w("ORG:" + Escape(c.CompanyName) + ";" + Escape(c.Department))
	}
	if c.JobTitle != "" {
		w("TITLE:" + Escape(c.JobTitle))
	}
	for _, e := range c.EmailAddresses {
		if e.Address != "" {
			w("EMAIL" + typ(";TYPE=INTERNET", "") + ":" + Escape(e.Address))
		}
	}
	for _, t := range c.BusinessPhones {
		w("TEL;" + typ("TYPE=WORK,VOICE", "VALUE=text;TYPE=work,voice") + ":" + Escape(t))
	}
	for _, t := range c.HomePhones {
		w("TEL;" + typ("TYPE=HOME,VOICE", "VALUE=text;TYPE=home,voice") + ":" + Escape(t))
	}
	if c.MobilePhone != "" {
		w("TEL;" + typ("TYPE=CELL", "VALUE=text;TYPE=cell") + ":" + Escape(c.MobilePhone))
	}
	for _, a := range []struct {
		t string
		a address
	}{{"WORK", c.BusinessAddress}, {"HOME", c.HomeAddress}, {"", c.OtherAddress}} {
		if a.a == (address{}) {
			continue
		}
		param := ""
		if a.t != "" {
			param = ";TYPE=" + typ(a.t, strings.ToLower(a.t))
		}
		w("ADR" + param + ":;;" + strings.Join([]string{Escape(a.a.Street), Escape(a.a.City), Escape(a.a.State), Escape(a.a.PostalCode), Escape(a.a.CountryOrRegion)}, ";"))
	}
	if c.BusinessHomePage != "" {
		w("URL:" + Escape(c.BusinessHomePage))
	}
	if len(c.Birthday) >= 10 {
		d := c.Birthday[:10]
		if v4 {
			d = strings.ReplaceAll(d, "-", "")
		}
		w("BDAY:" + d)
	}
	if c.PersonalNotes != "" {
		w("NOTE:" + Escape(c.PersonalNotes))
	}
	if len(c.Categories) > 0 {
		cats := make([]string, len(c.Categories))
		for i, s := range c.Categories {
			cats[i] = Escape(s)
		}
		w("CATEGORIES:" + strings.Join(cats, ","))
	}
	if ph := p.Photo; ph != nil && len(ph.Data) > 0 {
		data := base64.StdEncoding.EncodeToString(ph.Data)
		if v4 {
			w("PHOTO:data:" + ph.ContentType + ";base64," + data)
		} else {
			w("PHOTO;ENCODING=b;TYPE=" + strings.ToUpper(strings.TrimPrefix(ph.ContentType, "image/")) + ":" + data)
		}
	}
	for _, l := range p.Extra {
		w(l)
	}
	w("END:VCARD")
	return b.Bytes()
}
