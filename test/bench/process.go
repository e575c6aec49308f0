package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// cmdProc is a long-running child (a proxy, the origin): its output goes to a log file
// and is kept (the first maxLines lines) for findLine and tail.
type cmdProc struct {
	cmd  *exec.Cmd
	pid  int
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid after done

	mu    sync.Mutex
	lines []string
}

const maxLines = 10000

// startProc starts name args in dir with env added, pinned to cpus, output to logFile.
// The process is killed (its whole group) when ctx ends.
func startProc(ctx context.Context, cpus, dir string, env []string, logFile, name string, args ...string) (*cmdProc, error) {
	cmd := command(ctx, cpus, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	log, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		log.Close()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		log.Close()
		pr.Close()
		pw.Close()
		return nil, err
	}
	pw.Close()
	p := &cmdProc{cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{})}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		defer log.Close()
		p.copyLines(pr, log)
	}()
	go func() {
		p.err = cmd.Wait()
		// A grandchild may keep the pipe open: give the copier a moment, then move on.
		select {
		case <-copied:
		case <-time.After(time.Second):
		}
		close(p.done)
	}()
	return p, nil
}

func (p *cmdProc) copyLines(r io.ReadCloser, log io.Writer) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fmt.Fprintln(log, sc.Text())
		p.mu.Lock()
		if len(p.lines) < maxLines {
			p.lines = append(p.lines, sc.Text())
		}
		p.mu.Unlock()
	}
}

// findLine returns the first output line starting with prefix.
func (p *cmdProc) findLine(prefix string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.lines {
		if strings.HasPrefix(l, prefix) {
			return l, true
		}
	}
	return "", false
}

// linesWith returns every output line starting with prefix.
func (p *cmdProc) linesWith(prefix string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// tail returns the last n output lines joined with " | ", for error messages.
func (p *cmdProc) tail(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.lines
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " | ")
}

// firstAlert returns the first line that looks like an error from a proxy, else tail(3).
func (p *cmdProc) firstAlert() string {
	p.mu.Lock()
	for _, l := range p.lines {
		if strings.Contains(l, "[ALERT]") || strings.Contains(strings.ToLower(l), "error") {
			p.mu.Unlock()
			return strings.TrimSpace(l)
		}
	}
	p.mu.Unlock()
	return p.tail(3)
}

func (p *cmdProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the group, then SIGKILL after 3 s, and waits for the exit.
func (p *cmdProc) stop() {
	if p.exited() {
		return
	}
	_ = syscall.Kill(-p.pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		<-p.done
	}
}
