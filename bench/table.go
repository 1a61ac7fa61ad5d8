package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
)

// printTable prints the records, ratios, targets and skipped workloads.
func printTable(w io.Writer, r *Report) {
	fmt.Fprintf(w, "\ncontactgraph bench, %s, backend %s%s, %d CPU, %s, load %s -> %s\n\n", r.Date, r.Backend,
		map[bool]string{true: " (quick sizes)", false: ""}[r.Quick], r.Machine.NumCPU, r.Machine.GoVersion, r.Machine.LoadStart, r.Machine.LoadEnd)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tfigure\tbackend\tsize\tvalue\tunit\tn\tother CPU\t")
	for _, rec := range r.Records {
		n, oc := "", ""
		if rec.Samples > 0 {
			n = strconv.Itoa(rec.Samples)
		}
		if rec.OtherCPU != nil {
			oc = strconv.Itoa(int(*rec.OtherCPU*100+0.5)) + "%"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t\n", rec.Workload, rec.Name, rec.Backend, rec.Size, num(rec.Value), rec.Unit, n, oc)
	}
	tw.Flush()
	if len(r.Ratios) > 0 {
		fmt.Fprintln(w, "\nratios")
		tw = tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		for _, x := range r.Ratios {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", x.Name, num(x.Value), x.Of)
		}
		tw.Flush()
	}
	if len(r.Targets) > 0 {
		if r.Quick {
			fmt.Fprintln(w, "\ntargets (quick sizes: not comparable with the goals, which are for the full run)")
		} else {
			fmt.Fprintf(w, "\ntargets (goals of the full run on %s; reported, not asserted)\n", r.Backend)
		}
		tw = tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		for _, t := range r.Targets {
			mark := "not met"
			if t.Met {
				mark = "met"
			}
			fmt.Fprintf(tw, "  %s\t%s %s\tgoal %s\t%s\n", t.Name, num(t.Value), t.Unit, t.Goal, mark)
		}
		tw.Flush()
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "not run: %s: %s\n", s.Workload, s.Reason)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
}

// num formats a figure with three significant decimals at most.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1000:
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

// human names a size: 10k, 1m, 2000.
func human(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "m"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}
