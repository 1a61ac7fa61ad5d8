package main

import (
	"slices"
	"time"
)

// percentile returns the q-quantile (0 < q <= 1) of ds by the nearest-rank
// method: the smallest value with at least q of the samples at or below it.
// It returns 0 for no samples.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(q*float64(len(s)) + 0.999999999)
	return s[min(max(rank, 1), len(s))-1]
}

// median is the 0.5 percentile.
func median(ds []time.Duration) time.Duration { return percentile(ds, 0.5) }

// ms converts a duration to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// perSecond returns n per elapsed second.
func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
