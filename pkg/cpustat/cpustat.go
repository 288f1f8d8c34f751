// Package cpustat measures CPU time for the benchmarks: this process's, and that of the
// Postgres backends serving a database (when Postgres runs on this machine). On a shared
// machine, wall-clock throughput depends on the neighbours; CPU time per operation does
// not, and tells what the work costs.
package cpustat

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ticksPerSecond is USER_HZ, 100 on every Linux platform Go supports.
const ticksPerSecond = 100

// Process returns the CPU time (user + system) this process has used.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Backends returns the CPU time used so far by the Postgres backends connected to the
// pool's database, by pid. ok is false when their /proc entries cannot be read
// (Postgres on another machine).
func Backends(ctx context.Context, pool *pgxpool.Pool) (map[int]time.Duration, bool) {
	rows, err := pool.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		return nil, false
	}
	defer rows.Close()
	out := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) != nil {
			return nil, false
		}
		d, err := Pid(pid)
		if err != nil {
			return nil, false
		}
		out[pid] = d
	}
	return out, rows.Err() == nil
}

// Since sums what the backends in now used after before (a backend that is new counts
// from zero).
func Since(before, now map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, t := range now {
		d += t - before[pid]
	}
	return d
}

// Pid returns the CPU time (user + system) process pid has used.
func Pid(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may contain spaces; the fields after it are plain.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	return time.Duration(utime+stime) * time.Second / ticksPerSecond, nil
}
