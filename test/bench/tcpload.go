package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The closed-loop TCP load generator: conns connections, each sending one line and
// waiting for one line back, again and again, for a fixed time. It is this binary started
// again with -role tcpload (so it can be pinned apart from the runner) and prints one JSON
// tcpLoadReport on stdout.

type tcpLoadReport struct {
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	Seconds  float64 `json:"seconds"`
	P50MS    float64 `json:"p50_ms"`
	P99MS    float64 `json:"p99_ms"`
}

// tcpLoadMain parses the tcpload role's flags and runs it.
func tcpLoadMain(args []string) error {
	fs := flag.NewFlagSet("tcpload", flag.ContinueOnError)
	addr := fs.String("addr", "", "address to load")
	conns := fs.Int("conns", 32, "connections")
	d := fs.Duration("duration", 3*time.Second, "how long")
	line := fs.String("line", "ping\n", "line to send (with its newline)")
	banner := fs.Bool("banner", false, "read and discard one line after connecting")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rep := tcpLoad(*addr, *conns, *d, *line, *banner)
	return json.NewEncoder(os.Stdout).Encode(rep)
}

// tcpLoad runs the closed loop and computes its own latency percentiles.
func tcpLoad(addr string, conns int, d time.Duration, line string, banner bool) tcpLoadReport {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		lat    []time.Duration
		errs   int64
		start  = time.Now()
		end    = start.Add(d)
		maxLat = d + 5*time.Second // a reply slower than this counts as an error
	)
	for range conns {
		wg.Go(func() {
			l, e := tcpLoadConn(addr, line, banner, end, maxLat)
			mu.Lock()
			lat = append(lat, l...)
			errs += e
			mu.Unlock()
		})
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	rep := tcpLoadReport{Requests: int64(len(lat)), Errors: errs, Seconds: secs}
	if len(lat) > 0 {
		slices.Sort(lat)
		rep.P50MS = ms(lat[len(lat)*50/100])
		rep.P99MS = ms(lat[min(len(lat)-1, len(lat)*99/100)])
	}
	return rep
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// tcpLoadConn runs one connection's loop until end; a failed connection is reopened.
func tcpLoadConn(addr, line string, banner bool, end time.Time, maxLat time.Duration) (lat []time.Duration, errs int64) {
	lat = make([]time.Duration, 0, 1<<14)
	msg := []byte(line)
	for time.Now().Before(end) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			errs++
			time.Sleep(10 * time.Millisecond)
			continue
		}
		r := bufio.NewReader(c)
		if banner {
			c.SetReadDeadline(time.Now().Add(maxLat))
			if _, err := r.ReadSlice('\n'); err != nil {
				errs++
				c.Close()
				continue
			}
		}
		for time.Now().Before(end) {
			t := time.Now()
			c.SetDeadline(t.Add(maxLat))
			if _, err := c.Write(msg); err != nil {
				errs++
				break
			}
			if _, err := r.ReadSlice('\n'); err != nil {
				errs++
				break
			}
			lat = append(lat, time.Since(t))
		}
		c.Close()
	}
	return lat, errs
}

// tcpLoadSpec says how a scenario drives its TCP load.
type tcpLoadSpec struct {
	Line   string // sent each round trip, newline included
	Banner bool   // the server sends one line first
}

// runTCPLoad runs the tcpload role with conns connections, pinned to cpus, against addr for d.
func runTCPLoad(ctx context.Context, self, cpus, addr string, spec tcpLoadSpec, conns int, d time.Duration) (loadResult, error) {
	timeout := d + 20*time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := []string{"-role", "tcpload", "-addr", addr, "-conns", strconv.Itoa(conns),
		"-duration", d.String(), "-line", spec.Line}
	if spec.Banner {
		args = append(args, "-banner")
	}
	cmd := command(ctx, cpus, self, args...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return loadResult{}, fmt.Errorf("tcpload killed after %v", timeout)
	}
	if err != nil {
		return loadResult{}, fmt.Errorf("tcpload: %v: %s", err, stderr.String())
	}
	var rep tcpLoadReport
	if err := json.Unmarshal(out, &rep); err != nil {
		return loadResult{}, fmt.Errorf("tcpload output %q: %v", out, err)
	}
	if rep.Requests == 0 {
		return loadResult{}, errors.New("tcpload: no round trip completed")
	}
	r := loadResult{
		Requests: rep.Requests, Seconds: rep.Seconds, RPS: float64(rep.Requests) / rep.Seconds,
		P50: rep.P50MS, P99: rep.P99MS, Errors: rep.Errors,
	}
	if st := cmd.ProcessState; st != nil {
		r.CPU = (st.UserTime() + st.SystemTime()).Seconds()
	}
	return r, nil
}
