package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The filter workload: the lookup an integration makes on every sync,
// "is this address already a contact?", as
// GET /me/contactFolders/{id}/contacts?$filter=emailAddresses/any(a:a/address eq '…')
// over a seeded folder. The addresses are a sample of the folder (the
// first 1,000 contacts by id, which are random), each sent with its first
// letter upper-cased (the match ignores case); every answer must hold
// exactly the contact with that address. Misses ask for addresses no
// contact has and must answer an empty list.

// Lookups of the filter workload: warm-up (not counted), hits, misses.
const (
	lookupWarmup = 20
	lookupMisses = 100
)

// emailLookups measures email lookups by $filter over a folder of n contacts.
func (b *bench) emailLookups(ctx context.Context, a *api, folder string, n, lookups int) error {
	list := "/me/contactFolders/" + folder + "/contacts"
	sample, err := a.do(ctx, http.MethodGet, list+"?$select=emailAddresses&$top=1000", nil, http.StatusOK)
	if err != nil {
		return err
	}
	var page struct {
		Value []struct {
			ID     string `json:"id"`
			Emails []struct {
				Address string `json:"address"`
			} `json:"emailAddresses"`
		} `json:"value"`
	}
	if err := json.Unmarshal(sample, &page); err != nil {
		return err
	}
	type probe struct{ id, addr string }
	var probes []probe
	for _, c := range page.Value {
		if len(c.Emails) > 0 && c.Emails[0].Address != "" {
			probes = append(probes, probe{c.ID, c.Emails[0].Address})
		}
	}
	if len(probes) == 0 {
		return fmt.Errorf("no contact with an email address in the first page of the folder")
	}
	lookup := func(addr string) (int, string, time.Duration, error) {
		f := "emailAddresses/any(a:a/address eq '" + strings.ReplaceAll(addr, "'", "''") + "')"
		start := time.Now()
		body, err := a.do(ctx, http.MethodGet, list+"?$filter="+url.QueryEscape(f), nil, http.StatusOK)
		took := time.Since(start)
		if err != nil {
			return 0, "", 0, err
		}
		var got struct {
			Value []struct {
				ID string `json:"id"`
			} `json:"value"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			return 0, "", 0, err
		}
		first := ""
		if len(got.Value) > 0 {
			first = got.Value[0].ID
		}
		return len(got.Value), first, took, nil
	}
	r := rand.New(rand.NewPCG(b.cfg.Seed, 7))
	b.logf("email lookups by $filter over %d contacts: %d hits, %d misses", n, lookups, lookupMisses)
	m := a.meter()
	var hits, misses []time.Duration
	for i := range lookupWarmup + lookups {
		p := probes[r.IntN(len(probes))]
		addr := strings.ToUpper(p.addr[:1]) + p.addr[1:]
		k, id, took, err := lookup(addr)
		if err != nil {
			return err
		}
		if k != 1 || id != p.id {
			return fmt.Errorf("the lookup of %s found %d contacts (first %q), want %s", addr, k, id, p.id)
		}
		if i >= lookupWarmup {
			hits = append(hits, took)
		}
	}
	for i := range lookupMisses {
		k, _, took, err := lookup(fmt.Sprintf("nobody-%d-%d@example.invalid", b.cfg.Seed, i))
		if err != nil {
			return err
		}
		if k != 0 {
			return fmt.Errorf("the lookup of an unknown address found %d contacts", k)
		}
		misses = append(misses, took)
	}
	be := b.backend
	note := fmt.Sprintf("GET …/contactFolders/{id}/contacts?$filter=emailAddresses/any(a:a/address eq '…'), whole contacts, one client, keep-alive; %d lookups of sampled addresses (first letter upper-cased), %d warm-up not counted", lookups, lookupWarmup)
	b.report.addMeasured(Record{Name: recEmailLookupP50, Workload: wFilter, Backend: be, Size: n, Value: round3(ms(median(hits))), Unit: "ms", Samples: len(hits), Note: note}, m)
	b.report.add(Record{Name: "email_lookup_p99", Workload: wFilter, Backend: be, Size: n, Value: round3(ms(percentile(hits, 0.99))), Unit: "ms", Samples: len(hits)})
	b.report.add(Record{Name: "email_lookup_miss_p50", Workload: wFilter, Backend: be, Size: n, Value: round3(ms(median(misses))), Unit: "ms", Samples: len(misses),
		Note: "addresses no contact has: an empty list"})
	b.logf("email lookup over %d: p50 %.3f ms, p99 %.3f ms, miss p50 %.3f ms", n, ms(median(hits)), ms(percentile(hits, 0.99)), ms(median(misses)))
	return nil
}
