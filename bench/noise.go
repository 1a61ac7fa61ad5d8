package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// cpuMeter measures how much of the machine's CPU other processes used
// while a figure was measured: the busy time of all CPUs (/proc/stat) minus
// that of the bench and of the processes it measures. On a shared machine
// this says how far a figure can be trusted.
type cpuMeter struct {
	pids  []int
	total uint64 // busy jiffies of the machine
	idle  uint64
	own   uint64 // jiffies of the bench and pids
}

// startMeter starts measuring; pids are the processes measured besides
// the bench itself (the server, a peer).
func startMeter(pids ...int) *cpuMeter {
	m := &cpuMeter{pids: pids}
	m.total, m.idle = machineJiffies()
	m.own = m.ownJiffies()
	return m
}

func (m *cpuMeter) ownJiffies() uint64 {
	n := procJiffies("self")
	for _, pid := range m.pids {
		n += procJiffies(strconv.Itoa(pid))
	}
	return n
}

// others returns the share (0 to 1) of the machine's CPU time that other
// processes used since the meter started, or -1 when unknown.
func (m *cpuMeter) others() float64 {
	total, idle := machineJiffies()
	own := m.ownJiffies()
	all := (total - m.total) + (idle - m.idle)
	if all == 0 || total == 0 {
		return -1
	}
	busy := float64(total-m.total) - float64(own-m.own)
	return round3(max(busy, 0) / float64(all))
}

// niceness returns the scheduling niceness of this process (field 19 of
// /proc/self/stat), 0 when unknown.
func niceness() int {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 17 {
		return 0
	}
	n, _ := strconv.Atoi(f[16])
	return n
}

// machineJiffies returns the busy and idle jiffies of all CPUs.
func machineJiffies() (busy, idle uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		switch i {
		case 3, 4: // idle, iowait
			idle += n
		case 8, 9: // guest time is already counted in user
		default:
			busy += n
		}
	}
	return busy, idle
}

// procJiffies returns utime+stime of a process and of its waited-for
// children (/proc/<pid>/stat fields 14 to 17).
func procJiffies(pid string) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%s/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	// The command name may hold spaces: fields start after the last ')'.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	var n uint64
	for _, k := range []int{11, 12, 13, 14} { // utime stime cutime cstime (fields 14-17)
		if k < len(f) {
			v, _ := strconv.ParseUint(f[k], 10, 64)
			n += v
		}
	}
	return n
}
