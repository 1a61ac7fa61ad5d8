package main

import (
	"strings"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph/fakedata"
)

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(101-i)*time.Millisecond) // unsorted on purpose
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0.001, time.Millisecond}} {
		if got := percentile(ds, c.q); got != c.want {
			t.Errorf("percentile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if got := percentile([]time.Duration{7}, 0.99); got != 7 {
		t.Errorf("one sample: %v", got)
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("no samples: %v", got)
	}
	if ds[0] != 100*time.Millisecond {
		t.Error("percentile sorted its argument")
	}
}

func TestPageLinks(t *testing.T) {
	next, delta, err := pageLinks([]byte(`{"@odata.context":"c","@odata.nextLink":"http://h/x?$skiptoken=a\u0026b","value":[{"id":"1"}]}`))
	if err != nil || next != "http://h/x?$skiptoken=a&b" || delta != "" {
		t.Errorf("next page: %q %q %v", next, delta, err)
	}
	next, delta, err = pageLinks([]byte(`{"@odata.context":"c","@odata.deltaLink":"d","value":[]}`))
	if err != nil || next != "" || delta != "d" {
		t.Errorf("last page: %q %q %v", next, delta, err)
	}
	for _, bad := range []string{`[]`, `{"value":[]}`, `{"@odata.context":"c"}`, `not json`} {
		if _, _, err := pageLinks([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestSeedOutput(t *testing.T) {
	out := "created 10 contacts in folder Bench of a@b.c (folder id AvzxhyEX6J5GiruoUd_3ZUMILlwYGXqQ)\ntook 1s\n"
	m := folderIDRe.FindStringSubmatch(out)
	if m == nil || m[1] != "AvzxhyEX6J5GiruoUd_3ZUMILlwYGXqQ" {
		t.Fatalf("folder id: %v", m)
	}
}

func TestVCard(t *testing.T) {
	in := fakedata.New(1).Contact()
	card := vcard("bench-000001", in, "Chief, Bench; Tests")
	for _, want := range []string{"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:bench-000001\r\n", "TITLE:Chief\\, Bench\\; Tests\r\n", "END:VCARD\r\n"} {
		if !strings.Contains(card, want) {
			t.Errorf("card lacks %q:\n%s", want, card)
		}
	}
}

func TestFormatting(t *testing.T) {
	for n, want := range map[int]string{2000: "2k", 1_000_000: "1m", 100: "100", 1500: "1500"} {
		if got := human(n); got != want {
			t.Errorf("human(%d) = %q, want %q", n, got, want)
		}
	}
	for v, want := range map[float64]float64{123456: 123456, 0.123456: 0.123, 12.3456: 12.3} {
		if got := round3(v); got != want {
			t.Errorf("round3(%v) = %v, want %v", v, got, want)
		}
	}
}

func TestTargets(t *testing.T) {
	r := newReport("sqlite", false, "local")
	add := func(name RecordName, backend string, size int, v float64) {
		r.add(Record{Name: name, Backend: backend, Size: size, Value: v})
	}
	add(recIncrementalP50, "sqlite", 10_000, 0.5)
	add(recIncrementalP50, "sqlite", 100_000, 0.3)
	add(recIncrementalP50, "sqlite", 1_000_000, 0.6)
	add(recPeerWrites, "sqlite", 2000, 3000)
	add(recPeerWrites, "radicale", 2000, 20)
	add(recPeerWrites, "xandikos", 2000, 30)
	// contactgraph over CardDAV: both peers at 2,000, only Radicale at
	// 100,000 (Xandikos given up there).
	add(recDavWrites, "sqlite", 2000, 2500)
	add(recDavIncrementalSync, "sqlite", 2000, 0.5)
	add(recPeerIncrementalSync, "radicale", 2000, 80)
	add(recPeerIncrementalSync, "xandikos", 2000, 20)
	add(recDavWrites, "sqlite", 100_000, 2000)
	add(recPeerWrites, "radicale", 100_000, 4)
	r.finish()
	if v, ok := r.ratioValue("incremental_p50_1m_vs_10k"); !ok || v != 1.2 {
		t.Errorf("incremental ratio %v %v", v, ok)
	}
	if v, ok := r.ratioValue("speedup_vs_xandikos_writes"); !ok || v != 100 {
		t.Errorf("xandikos speedup %v %v", v, ok)
	}
	for name, want := range map[string]float64{
		"carddav_speedup_vs_radicale_writes_2k":           125,
		"carddav_speedup_vs_xandikos_writes_2k":           83.3,
		"carddav_speedup_vs_xandikos_incremental_sync_2k": 40,
		"carddav_speedup_vs_radicale_writes_100k":         500,
	} {
		if v, ok := r.ratioValue(name); !ok || v != want {
			t.Errorf("%s = %v %v, want %v", name, v, ok, want)
		}
	}
	if _, ok := r.ratioValue("carddav_speedup_vs_xandikos_writes_100k"); ok {
		t.Error("a ratio against a peer that did not run")
	}
	met := map[string]bool{}
	for _, x := range r.Targets {
		met[x.Name] = x.Met
		if strings.HasPrefix(x.Name, "speedup_vs_faster_peer_writes") && (!strings.Contains(x.Name, "xandikos") || !x.Met) {
			t.Errorf("faster peer target: %+v", x)
		}
		if strings.HasSuffix(x.Name, "_100k (radicale)") && !strings.Contains(x.Goal, "only radicale") {
			t.Errorf("a target against one peer does not say so: %+v", x)
		}
	}
	// incremental_p50 at 100,000 and the ratio of 1M to 10k (1.2 is
	// over 1.1), the Graph writes against the faster peer, and over
	// CardDAV: writes and incremental sync at 2,000, writes at 100,000 (no
	// incremental figure of a peer there).
	want := map[string]bool{
		"incremental_p50_100k":                                          true,
		"incremental_p50_1m_vs_10k":                                     false,
		"speedup_vs_faster_peer_writes (xandikos)":                      true,
		"carddav_speedup_vs_faster_peer_writes_2k (xandikos)":           false,
		"carddav_speedup_vs_faster_peer_incremental_sync_2k (xandikos)": false,
		"carddav_speedup_vs_faster_peer_writes_100k (radicale)":         true,
	}
	sameTargets(t, met, want)
}

// sameTargets fails t unless the targets reported (name to met) are
// exactly want.
func sameTargets(t *testing.T, met, want map[string]bool) {
	t.Helper()
	if len(met) != len(want) {
		t.Errorf("targets %v, want %v", met, want)
	}
	for name, w := range want {
		if m, ok := met[name]; !ok || m != w {
			t.Errorf("target %s: met %v (present %v), want met %v", name, m, ok, w)
		}
	}
}

// TestPostgresTargets: the PostgreSQL run has goals of its own.
func TestPostgresTargets(t *testing.T) {
	r := newReport("postgres", false, "local")
	add := func(name RecordName, size int, v float64) {
		r.add(Record{Name: name, Backend: "postgres", Size: size, Value: v})
	}
	add(recIncrementalP50, 10_000, 0.8)
	add(recIncrementalP50, 1_000_000, 1.2)
	add(recWritesSeq, 10_000, 2100)
	add(recWritesC16, 10_000, 3000)
	add(recCapWritesC16, 10_000, 4000)
	add(recSeed, 10_000, 20_000)
	add(recSeed, 1_000_000, 16_000)
	r.finish()
	met := map[string]bool{}
	for _, x := range r.Targets {
		met[x.Name] = x.Met
	}
	want := map[string]bool{
		"incremental_p50_1m":  false,
		"writes_seq":          true,
		"capacity_writes_c16": false,
		"seed_1m":             false,
	}
	sameTargets(t, met, want)
}

func TestIDList(t *testing.T) {
	var l idList
	a, b, c := strings.Repeat("a", 32), strings.Repeat("b", 32), strings.Repeat("c", 32)
	for _, id := range []string{a, b, a, c} {
		if err := l.add(id); err != nil {
			t.Fatal(err)
		}
	}
	if l.len() != 3 || l.at(0) != a || l.at(2) != c {
		t.Fatalf("after adds: %d %q", l.len(), l.at(0))
	}
	l.remove(0)
	if l.len() != 2 || l.at(0) != c || l.at(1) != b {
		t.Fatalf("after remove: %q %q", l.at(0), l.at(1))
	}
	if err := l.add(a); err != nil || l.len() != 3 {
		t.Fatalf("a removed id comes back: %v %d", err, l.len())
	}
	if err := l.add("short"); err == nil {
		t.Fatal("a short id was accepted")
	}
}

func TestCapacityHelpers(t *testing.T) {
	dsn := withApplicationName("postgres://u@h:5432/test?sslmode=disable&search_path=s", "x")
	if !strings.Contains(dsn, "application_name=x") || !strings.Contains(dsn, "search_path=s") || !strings.Contains(dsn, "sslmode=disable") {
		t.Errorf("withApplicationName: %s", dsn)
	}
	if kv := withApplicationName("host=h dbname=test", "x"); kv != "host=h dbname=test" {
		t.Errorf("a key=value DSN changed: %s", kv)
	}
	s := &capServers{apis: []*api{{base: "http://127.0.0.1:1/v1.0"}, {base: "http://127.0.0.1:2/v1.0"}}}
	link, err := s.rebase("http://127.0.0.1:1/v1.0/users/a/contacts/delta?$deltatoken=t", s.apis[1])
	if err != nil || link != "http://127.0.0.1:2/v1.0/users/a/contacts/delta?$deltatoken=t" {
		t.Errorf("rebase: %q %v", link, err)
	}
	if _, err := s.rebase("http://elsewhere/v1.0/x", s.apis[0]); err == nil {
		t.Error("rebase of a foreign link: no error")
	}
	if a, b := s.pick(), s.pick(); a == b {
		t.Error("pick returned the same server twice in a row")
	}
}
