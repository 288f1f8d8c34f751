package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/treue/treue/pkg/testkit"
)

// The test binary plays two parts of `make run` in a terminal: "make" (a parent that
// waits for its child, and that SIGINT kills, as it kills make) and the runner.
const roleEnv = "TREUE_DEV_TERMINAL_TEST_ROLE"

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "make":
		os.Exit(playMake())
	case "runner":
		os.Exit(playRunner())
	}
	testkit.Main(m)
}

func playMake() int {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), roleEnv+"=runner")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Println("make: runner failed:", err)
		return 2
	}
	if fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP); err != nil || fg != unix.Getpgrp() {
		fmt.Println("make: the terminal was not given back:", fg, err)
		return 2
	}
	fmt.Println("make: runner exited 0, terminal back")
	return 0
}

func playRunner() int {
	giveBack := takeTerminal()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Println("runner: ready")
	select {
	case <-ctx.Done():
		fmt.Println("runner: interrupted, stopping cleanly")
	case <-time.After(20 * time.Second):
		fmt.Println("runner: no interrupt within 20 s")
		return 3
	}
	giveBack()
	return 0
}

// TestCtrlCReachesOnlyTheRunner presses Ctrl-C on a terminal where "make" waits for the
// runner: the runner stops cleanly and "make" is not interrupted, so it exits 0. Without
// takeTerminal, SIGINT reaches the whole job and kills "make".
func TestCtrlCReachesOnlyTheRunner(t *testing.T) {
	ptm, pts, err := pty.Open()
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	defer ptm.Close()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), roleEnv+"=make")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	// A session of its own with the pseudo-terminal as its controlling terminal, and
	// "make" in the foreground: as a shell starts a job.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pts.Close()

	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(ptm)
		for sc.Scan() {
			lines <- strings.TrimSpace(sc.Text())
		}
		close(lines)
	}()
	var out []string
	timeout := time.After(30 * time.Second)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("terminal closed before the runner was ready: %q", out)
			}
			out = append(out, l)
			if l == "runner: ready" {
				break wait
			}
		case <-timeout:
			t.Fatalf("runner not ready within 30 s: %q", out)
		}
	}
	if _, err := ptm.Write([]byte{0x03}); err != nil { // Ctrl-C, as typed
		t.Fatal(err)
	}
	err = cmd.Wait()
	for l := range lines {
		out = append(out, l)
	}
	if err != nil {
		t.Fatalf("make: %v (SIGINT reached it); terminal:\n%s", err, strings.Join(out, "\n"))
	}
	text := strings.Join(out, "\n")
	for _, want := range []string{"runner: interrupted, stopping cleanly", "make: runner exited 0, terminal back"} {
		if !strings.Contains(text, want) {
			t.Errorf("terminal lacks %q:\n%s", want, text)
		}
	}
}

// Without a terminal the runner stays in its caller's process group, so a signal to the
// group (a script stopping `make run`) still reaches it.
func TestNoTerminalLeavesTheProcessGroupAlone(t *testing.T) {
	before := unix.Getpgrp()
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	stdin := os.Stdin
	os.Stdin = devNull
	defer func() { os.Stdin = stdin }()
	takeTerminal()()
	if after := unix.Getpgrp(); after != before {
		t.Errorf("process group %d, want %d", after, before)
	}
}
