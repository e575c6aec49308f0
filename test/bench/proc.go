package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is USER_HZ, the unit of /proc/PID/stat and /proc/stat times. It is 100 on every
// Linux architecture Go supports; the kernel's CONFIG_HZ does not change it.
const clockTick = 100

// procCPU returns the user+system CPU seconds used so far by process pid (all its threads).
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces: split after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// After ")": state(3) ppid(4) ... utime(14) stime(15), so utime is f[11].
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return float64(ut+st) / clockTick, nil
}

// systemBusy returns the CPU seconds all CPUs spent not idle since boot, from /proc/stat
// (user, nice, system, irq, softirq, steal; guest time is already inside user).
func systemBusy() (float64, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 9 || fs[0] != "cpu" {
			continue
		}
		var busy uint64
		for _, k := range []int{1, 2, 3, 6, 7, 8} {
			v, err := strconv.ParseUint(fs[k], 10, 64)
			if err != nil {
				return 0, err
			}
			busy += v
		}
		return float64(busy) / clockTick, nil
	}
	return 0, errors.New("/proc/stat: no cpu line")
}

// memStatus returns VmRSS and VmHWM (peak RSS) of process pid, in bytes.
// threadSwitches sums the context switches (voluntary and not) of every
// thread of pid: how often the process woke up and went back to sleep.
func threadSwitches(pid int) (int64, error) {
	paths, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(paths) == 0 {
		return 0, fmt.Errorf("threads of %d: none found (%v)", pid, err)
	}
	var n int64
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread exited
		}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
				c, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				n += c
			}
		}
	}
	return n, nil
}

func memStatus(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		fs := strings.Fields(v) // "12345 kB"
		if len(fs) != 2 || fs[1] != "kB" {
			return 0, 0, fmt.Errorf("/proc/%d/status: odd %s line %q", pid, k, line)
		}
		n, err := strconv.ParseInt(fs[0], 10, 64)
		if err != nil {
			return 0, 0, err
		}
		if k == "VmRSS" {
			rss = n << 10
		} else {
			hwm = n << 10
		}
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, fmt.Errorf("/proc/%d/status: no VmRSS/VmHWM", pid)
	}
	return rss, hwm, nil
}

// cpuWindow measures a run: the proxy's CPU seconds, and the CPU seconds of the whole
// machine, between start and stop.
type cpuWindow struct {
	pids  []int // processes whose CPU is reported apart (the proxy; the origin)
	t0    time.Time
	cpu0  []float64
	busy0 float64
}

func startWindow(pids ...int) *cpuWindow {
	w := &cpuWindow{pids: pids, t0: time.Now(), cpu0: make([]float64, len(pids))}
	for i, p := range pids {
		w.cpu0[i], _ = procCPU(p)
	}
	w.busy0, _ = systemBusy()
	return w
}

// stop returns the wall seconds, the CPU seconds of each pid, and the machine's busy
// CPU seconds since startWindow.
func (w *cpuWindow) stop() (wall float64, cpu []float64, busy float64) {
	wall = time.Since(w.t0).Seconds()
	cpu = make([]float64, len(w.pids))
	for i, p := range w.pids {
		c, _ := procCPU(p)
		cpu[i] = c - w.cpu0[i]
	}
	b, _ := systemBusy()
	return wall, cpu, b - w.busy0
}

// command builds a bounded command: it runs in its own process group, pinned with taskset
// to cpus when cpus is not empty, and the whole group is killed when ctx ends.
func command(ctx context.Context, cpus, name string, args ...string) *exec.Cmd {
	if cpus != "" && haveTaskset {
		args = append([]string{"-c", cpus, name}, args...)
		name = "taskset"
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd) }
	cmd.WaitDelay = 3 * time.Second
	return cmd
}

// killGroup kills the process group of a started command (taskset execs the program, so
// the group leader is the program itself).
func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}

// haveTaskset is set by main when taskset is on PATH; without it nothing is pinned and the
// report says so.
var haveTaskset bool

// runOutput runs a bounded command and returns its combined output.
func runOutput(ctx context.Context, timeout time.Duration, dir, cpus string, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := command(ctx, cpus, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s: killed after %v", name, timeout)
	}
	return string(out), err
}
