// Package fakedata generates realistic contacts and org contacts (names,
// emails, phones, addresses, companies), deterministically from a seed, for
// `contactgraph seed`, load tests and benchmarks.
package fakedata

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/contactgraph/contactgraph"
)

var (
	givenNames = []string{"Ada", "Alan", "Amara", "Ana", "Ben", "Bianca", "Carlos", "Chen", "Chloe", "Dana", "David", "Elena", "Emeka",
		"Farah", "Grace", "Hana", "Hugo", "Ines", "Ivan", "Jamal", "Jana", "Jun", "Kai", "Kofi", "Lars", "Leila", "Liam", "Lucia",
		"Maya", "Mei", "Mohammed", "Nadia", "Noah", "Olga", "Omar", "Priya", "Rafael", "Rosa", "Sami", "Sara", "Sofia", "Tariq",
		"Tomas", "Uma", "Victor", "Wei", "Yara", "Yusuf", "Zoe", "Zanele"}
	surnames = []string{"Abara", "Andersen", "Bauer", "Bianchi", "Chen", "Costa", "Dubois", "Eriksson", "Fischer", "Garcia", "Haddad",
		"Ivanova", "Jensen", "Kim", "Kowalski", "Lee", "Lopez", "Mahlangu", "Meyer", "Moreau", "Nakamura", "Novak", "Okafor",
		"Olsen", "Patel", "Perez", "Rossi", "Santos", "Schmidt", "Silva", "Singh", "Smith", "Tanaka", "Torres", "Van Dijk",
		"Wagner", "Wang", "Yilmaz", "Zhang", "Zimmermann"}
	companies = []string{"Contoso", "Fabrikam", "Northwind Traders", "Tailspin Toys", "Wingtip Toys", "Adventure Works",
		"Alpine Ski House", "Blue Yonder Airlines", "Coho Winery", "Fourth Coffee", "Litware", "Lucerne Publishing",
		"Margie's Travel", "Proseware", "Trey Research", "Woodgrove Bank", "Wide World Importers", "Humongous Insurance"}
	departments = []string{"Sales", "Marketing", "Engineering", "Finance", "Legal", "Operations", "Support", "Research", "Purchasing", "HR"}
	titles      = []string{"Account Manager", "Engineer", "Senior Engineer", "Director", "Analyst", "Consultant", "Buyer",
		"Product Manager", "Designer", "Accountant", "Counsel", "Team Lead", "Vice President", "Coordinator"}
	cities = []struct{ City, State, Country, Code string }{
		{"Seattle", "WA", "United States", "98101"}, {"Austin", "TX", "United States", "73301"}, {"Toronto", "ON", "Canada", "M5H 2N2"},
		{"London", "", "United Kingdom", "EC1A 1BB"}, {"Berlin", "", "Germany", "10115"}, {"Paris", "", "France", "75001"},
		{"Madrid", "", "Spain", "28001"}, {"Lagos", "", "Nigeria", "100001"}, {"Nairobi", "", "Kenya", "00100"},
		{"Tokyo", "", "Japan", "100-0001"}, {"Sydney", "NSW", "Australia", "2000"}, {"São Paulo", "SP", "Brazil", "01000-000"},
		{"Mumbai", "MH", "India", "400001"}, {"Seoul", "", "South Korea", "04524"}, {"Stockholm", "", "Sweden", "111 20"}}
	streets = []string{"Main St", "Market St", "High St", "Station Rd", "Oak Ave", "Maple Dr", "Harbour Way", "King St", "Park Lane", "Mill Rd"}
)

// Generator makes fake data; it is not safe for concurrent use.
type Generator struct {
	r *rand.Rand
	n int
}

// New returns a generator; the same seed gives the same data.
func New(seed uint64) *Generator { return &Generator{r: rand.New(rand.NewPCG(seed, 0x636f6e74))} }

func (g *Generator) pick(list []string) string { return list[g.r.IntN(len(list))] }

func (g *Generator) phone() string {
	return fmt.Sprintf("+1 %03d 555 %04d", 200+g.r.IntN(800), g.r.IntN(10000))
}

func raw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

type address struct {
	City            string `json:"city"`
	CountryOrRegion string `json:"countryOrRegion"`
	PostalCode      string `json:"postalCode"`
	State           string `json:"state,omitempty"`
	Street          string `json:"street"`
}

type email struct {
	Address string `json:"address"`
	Name    string `json:"name"`
}

// person is the shared part of both kinds of contact.
type person struct {
	given, surname, company, dept, title, mail, nick string
}

func (g *Generator) person() person {
	g.n++
	p := person{given: g.pick(givenNames), surname: g.pick(surnames), company: g.pick(companies), dept: g.pick(departments), title: g.pick(titles)}
	domain := strings.ToLower(strings.NewReplacer(" ", "", "'", "").Replace(p.company)) + ".com"
	p.nick = strings.ToLower(strings.ReplaceAll(p.given+"."+p.surname, " ", "")) + fmt.Sprint(g.n)
	p.mail = p.nick + "@" + domain
	return p
}

// Contact returns a validated, canonical contact input.
func (g *Generator) Contact() contactgraph.ContactInput {
	p := g.person()
	c := cities[g.r.IntN(len(cities))]
	props := map[string]json.RawMessage{
		"givenName":      raw(p.given),
		"surname":        raw(p.surname),
		"companyName":    raw(p.company),
		"department":     raw(p.dept),
		"jobTitle":       raw(p.title),
		"emailAddresses": raw([]email{{p.mail, p.given + " " + p.surname}}),
		"businessPhones": raw([]string{g.phone()}),
		"mobilePhone":    raw(g.phone()),
		"businessAddress": raw(address{City: c.City, CountryOrRegion: c.Country, PostalCode: c.Code, State: c.State,
			Street: fmt.Sprintf("%d %s", 1+g.r.IntN(999), g.pick(streets))}),
		"categories": raw([]string{"Customers"}),
	}
	if g.r.IntN(4) == 0 {
		props["birthday"] = raw(fmt.Sprintf("%d-%02d-%02dT00:00:00Z", 1950+g.r.IntN(50), 1+g.r.IntN(12), 1+g.r.IntN(28)))
	}
	return contactgraph.ContactInput{Props: props}
}

// ContactJSON returns a contact as a JSON request body.
func (g *Generator) ContactJSON() []byte { return raw(g.Contact().Props) }

// OrgContact returns a validated, canonical org contact input.
func (g *Generator) OrgContact() contactgraph.OrgContactInput {
	p := g.person()
	c := cities[g.r.IntN(len(cities))]
	type office struct {
		City            string `json:"city"`
		CountryOrRegion string `json:"countryOrRegion"`
		OfficeLocation  string `json:"officeLocation"`
		PostalCode      string `json:"postalCode"`
		State           string `json:"state,omitempty"`
		Street          string `json:"street"`
	}
	type phone struct {
		Number string `json:"number"`
		Type   string `json:"type"`
	}
	return contactgraph.OrgContactInput{Props: map[string]json.RawMessage{
		"displayName":    raw(p.given + " " + p.surname),
		"givenName":      raw(p.given),
		"surname":        raw(p.surname),
		"companyName":    raw(p.company),
		"department":     raw(p.dept),
		"jobTitle":       raw(p.title),
		"mail":           raw(p.mail),
		"mailNickname":   raw(p.nick),
		"proxyAddresses": raw([]string{"SMTP:" + p.mail}),
		"phones":         raw([]phone{{g.phone(), "business"}, {g.phone(), "mobile"}}),
		"addresses": raw([]office{{City: c.City, CountryOrRegion: c.Country, OfficeLocation: fmt.Sprintf("Building %d", 1+g.r.IntN(40)),
			PostalCode: c.Code, State: c.State, Street: fmt.Sprintf("%d %s", 1+g.r.IntN(999), g.pick(streets))}}),
	}}
}

// NumberedUPNs returns the n mailboxes of `contactgraph seed --users n`:
// the local part of upn, a dash and a number from 1, zero-padded to five
// digits (more when n needs them), then @ and the domain. upn must
// contain an @. cap@contoso.com, 3 gives cap-00001@contoso.com,
// cap-00002@contoso.com, cap-00003@contoso.com.
func NumberedUPNs(upn string, n int) []string {
	at := strings.LastIndexByte(upn, '@')
	local, domain := upn[:at], upn[at:]
	width := max(5, len(fmt.Sprint(n)))
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%0*d%s", local, width, i+1, domain)
	}
	return out
}
