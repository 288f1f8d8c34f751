package main

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// takeTerminal moves the runner into a process group of its own and makes that group the
// terminal's foreground, when the runner was started in the foreground of a terminal.
// Ctrl-C then reaches the runner alone. Otherwise make (and `go run`) would get the
// interrupt too, and report it as a failure ("make: *** Error 1", or status 130) even
// though the runner stopped cleanly. The returned function gives the terminal back to
// the group it came from; call it last, just before exiting.
//
// Without a terminal (a script, CI, `make run &`) nothing changes: the caller's signals
// reach the runner as before.
func takeTerminal() (giveBack func()) {
	noop := func() {}
	fd := int(os.Stdin.Fd())
	fg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	own := unix.Getpgrp()
	if err != nil || fg != own || own == os.Getpid() {
		// Not a terminal, started in the background, or already leading its own group
		// (run from the shell directly): Ctrl-C already reaches only what it should.
		return noop
	}
	if err := unix.Setpgid(0, 0); err != nil {
		return noop
	}
	err = setForeground(fd, os.Getpid())
	// Ignored signals stay ignored in the services the runner starts: restore it.
	signal.Reset(syscall.SIGTTOU)
	if err != nil {
		_ = unix.Setpgid(0, own)
		return noop
	}
	// Ctrl-Z would stop the runner alone, and the shell, which waits for make, would never
	// take the terminal back: the user would be left with a frozen terminal. Catch and
	// drop it (a caught signal, unlike an ignored one, is not passed on to the services).
	signal.Notify(make(chan os.Signal, 1), syscall.SIGTSTP)
	return func() { _ = setForeground(fd, fg) }
}

// setForeground makes pgrp the terminal's foreground process group. A process outside
// the foreground group that does so is sent SIGTTOU (which stops it) unless it ignores
// the signal. After giving the terminal back the runner keeps ignoring it, so that a
// terminal with `stty tostop` does not stop it while it prints its last lines.
func setForeground(fd, pgrp int) error {
	signal.Ignore(syscall.SIGTTOU)
	return unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, pgrp)
}
