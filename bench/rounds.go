package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/contactgraph/contactgraph/client"
	"github.com/contactgraph/contactgraph/fakedata"
)

// firstRounds runs reps full first rounds over a folder of n contacts with
// the project's delta client (every page and item decoded), and as many
// rounds that only read the bytes, alternately. It records the medians when
// timed, and returns the ids of the folder and the last deltaLink.
func (b *bench) firstRounds(ctx context.Context, a *api, folder string, n, reps int, timed bool) (*idList, string, error) {
	c := a.deltaClient()
	ids := &idList{}
	var link string
	var decoded, raw []time.Duration
	items := 0 // delivered by the current decoded round
	k := 0     // delivered by a first round: the rates count these
	if timed {
		b.logf("first round over %d contacts, %d times (pages of %d)", n, reps, pageSize)
	}
	m := a.meter()
	for i := range reps {
		// A round may deliver an object twice (on two pages, when it
		// changed after the seeding): ids are kept once.
		start := time.Now()
		dl, err := c.Round(ctx, a.deltaURL(folder), func(it client.Item) error {
			if it.Removed != "" {
				return fmt.Errorf("a first round carries a tombstone for %s", it.ID)
			}
			items++
			if i == 0 {
				return ids.add(it.ID)
			}
			return nil
		})
		if err != nil {
			return nil, "", err
		}
		decoded = append(decoded, time.Since(start))
		link = dl
		delivered := items
		items = 0
		if i == 0 && ids.len() < n {
			return nil, "", fmt.Errorf("the first round over %d contacts returned %d", n, ids.len())
		}
		if !timed {
			break
		}
		start = time.Now()
		rawItems, _, err := rawRound(ctx, a, a.deltaURL(folder))
		if err != nil {
			return nil, "", err
		}
		raw = append(raw, time.Since(start))
		if rawItems != delivered {
			return nil, "", fmt.Errorf("an undecoded first round counted %d items, the decoded one %d", rawItems, delivered)
		}
		k = delivered
	}
	if timed {
		be := b.backend
		b.report.addMeasured(Record{Name: recFirstRound, Workload: wFirst, Backend: be, Size: n, Value: round3(perSecond(k, median(decoded))), Unit: "contacts/s", Samples: len(decoded),
			Note: fmt.Sprintf("median of %d full rounds of %d items, client.Client decoding every page and item, maxpagesize=%d; median %s per round", len(decoded), k, pageSize, median(decoded).Round(time.Millisecond))}, m)
		b.report.addMeasured(Record{Name: recFirstRoundUndecoded, Workload: wFirst, Backend: be, Size: n, Value: round3(perSecond(k, median(raw))), Unit: "contacts/s", Samples: len(raw),
			Note: "the same round reading the bytes only (links taken from the head of each page): the server's side of the figure"}, m)
		b.logf("first round over %d: %.0f contacts/s decoded, %.0f contacts/s undecoded", k, perSecond(k, median(decoded)), perSecond(k, median(raw)))
	}
	return ids, link, nil
}

// itemMark starts every contact item of a delta page.
var itemMark = []byte(`{"@odata.type":"#microsoft.graph.contact"`)

// rawRound follows a round reading each page's bytes and taking the link
// from the page's head (the server writes its links before "value"),
// without decoding the items. It returns the number of items and the
// round's deltaLink.
func rawRound(ctx context.Context, a *api, link string) (int, string, error) {
	var buf bytes.Buffer
	items := 0
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
		if err != nil {
			return 0, "", err
		}
		req.Header.Set("Authorization", "Bearer "+a.token)
		req.Header.Set("Prefer", "odata.maxpagesize="+strconv.Itoa(pageSize))
		resp, err := a.hc.Do(req)
		if err != nil {
			return 0, "", err
		}
		buf.Reset()
		_, err = buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, "", err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, "", fmt.Errorf("GET %s: %d: %.300s", link, resp.StatusCode, buf.Bytes())
		}
		items += bytes.Count(buf.Bytes(), itemMark)
		next, delta, err := pageLinks(buf.Bytes())
		if err != nil {
			return 0, "", err
		}
		if delta != "" {
			return items, delta, nil
		}
		link = next
	}
}

// pageLinks reads the members of a delta page that come before "value".
func pageLinks(page []byte) (next, delta string, err error) {
	dec := json.NewDecoder(bytes.NewReader(page))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", "", errors.New("a delta page is not a JSON object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", "", err
		}
		switch t {
		case "value":
			if next == "" && delta == "" {
				return "", "", errors.New("a delta page without a link before its value")
			}
			return next, delta, nil
		case "@odata.nextLink":
			err = dec.Decode(&next)
		case "@odata.deltaLink":
			err = dec.Decode(&delta)
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return "", "", err
		}
	}
	if next == "" && delta == "" {
		return "", "", errors.New("a delta page without a link")
	}
	return next, delta, nil
}

// changesPerRound is the mix of every incremental round.
const (
	updatesPerRound = 5
	createsPerRound = 3
	deletesPerRound = 2
	changesPerRound = updatesPerRound + createsPerRound + deletesPerRound
)

// incremental runs rounds of 10 changes (5 updates, 3 creates, 2 deletes,
// over HTTP) each followed by the deltaLink round, which is what is timed.
func (b *bench) incremental(ctx context.Context, a *api, folder string, n int, ids *idList, link string, rounds int) error {
	b.logf("incremental rounds over %d contacts: %d rounds of %d changes", n, rounds, changesPerRound)
	c := a.deltaClient()
	w := &churn{a: a, folder: folder, ids: ids, rng: rand.New(rand.NewPCG(b.cfg.Seed, uint64(n))), gen: fakedata.New(b.cfg.Seed + uint64(n))}
	const warmup = 3
	var lat, changeLat []time.Duration
	m := a.meter()
	for r := range rounds + warmup {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		cl, err := w.changes(ctx, r)
		if err != nil {
			return err
		}
		got := 0
		start := time.Now()
		next, err := c.Round(ctx, link, func(client.Item) error { got++; return nil })
		d := time.Since(start)
		if err != nil {
			return err
		}
		if got != changesPerRound {
			return fmt.Errorf("an incremental round after %d changes returned %d items", changesPerRound, got)
		}
		link = next
		if r >= warmup {
			lat = append(lat, d)
			changeLat = append(changeLat, cl...)
		}
	}
	be := b.backend
	note := fmt.Sprintf("deltaLink round after %d changes (%d updates, %d creates, %d deletes), client.Client, %d rounds", changesPerRound, updatesPerRound, createsPerRound, deletesPerRound, len(lat))
	b.report.addMeasured(Record{Name: recIncrementalP50, Workload: wIncremental, Backend: be, Size: n, Value: round3(ms(percentile(lat, 0.5))), Unit: "ms", Samples: len(lat), Note: note}, m)
	b.report.add(Record{Name: "incremental_p99", Workload: wIncremental, Backend: be, Size: n, Value: round3(ms(percentile(lat, 0.99))), Unit: "ms", Samples: len(lat)})
	b.report.add(Record{Name: "change_p50", Workload: wIncremental, Backend: be, Size: n, Value: round3(ms(percentile(changeLat, 0.5))), Unit: "ms", Samples: len(changeLat),
		Note: "one PATCH, POST or DELETE into the folder (the changes of the incremental rounds)"})
	b.logf("incremental over %d: p50 %.3f ms, p99 %.3f ms; changes p50 %.3f ms", n, ms(percentile(lat, 0.5)), ms(percentile(lat, 0.99)), ms(percentile(changeLat, 0.5)))
	return nil
}

// churn makes the changes of incremental rounds in one folder.
type churn struct {
	a      *api
	folder string
	ids    *idList // contacts that exist
	rng    *rand.Rand
	gen    *fakedata.Generator
}

// changes makes one round's changes and returns each one's latency.
func (w *churn) changes(ctx context.Context, round int) ([]time.Duration, error) {
	if w.ids.len() < updatesPerRound+deletesPerRound {
		return nil, errors.New("the folder is too small for a round of changes")
	}
	// Distinct victims: the first ones are updated, the last ones deleted.
	pick := map[int]bool{}
	var victims []int
	for len(victims) < updatesPerRound+deletesPerRound {
		if i := w.rng.IntN(w.ids.len()); !pick[i] {
			pick[i] = true
			victims = append(victims, i)
		}
	}
	lat := make([]time.Duration, 0, changesPerRound)
	timed := func(f func() error) error {
		t := time.Now()
		err := f()
		lat = append(lat, time.Since(t))
		return err
	}
	patch := []byte(`{"jobTitle":"Bench round ` + strconv.Itoa(round) + `","personalNotes":"changed by the incremental workload"}`)
	for _, i := range victims[:updatesPerRound] {
		if err := timed(func() error { return w.a.updateContact(ctx, w.ids.at(i), patch) }); err != nil {
			return nil, err
		}
	}
	for range createsPerRound {
		body := w.gen.ContactJSON()
		var id string
		if err := timed(func() (err error) { id, err = w.a.createContact(ctx, w.folder, body); return err }); err != nil {
			return nil, err
		}
		if err := w.ids.add(id); err != nil {
			return nil, err
		}
	}
	dels := victims[updatesPerRound:]
	for _, i := range dels {
		if err := timed(func() error { return w.a.deleteContact(ctx, w.ids.at(i)) }); err != nil {
			return nil, err
		}
	}
	// Forget the deleted ids, the highest index first.
	slices.Sort(dels)
	for _, i := range slices.Backward(dels) {
		w.ids.remove(i)
	}
	return lat, nil
}
