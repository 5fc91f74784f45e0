#!/usr/bin/python3
"""A su-like PAM application on a terminal: runs COMMAND (the PAM driver) as root in a new
session whose controlling terminal is a fresh pty, inside a session keyring of its own, then
reads whatever input is waiting on that terminal - what a helper could have pushed there with
TIOCSTI for root's shell to run after `su` returns.

    pty_app.py RESULT-FILE COMMAND...

RESULT-FILE gets: "exit N", "keyring ID" (the application's session keyring) and
"input <bytes>" (the waiting input, repr)."""
import ctypes
import os
import pty
import subprocess
import sys
import termios

SYS_KEYCTL = 250  # x86_64
KEYCTL_JOIN_SESSION_KEYRING = 1


def application(result_path, command):
    libc = ctypes.CDLL(None, use_errno=True)
    keyring = libc.syscall(SYS_KEYCTL, KEYCTL_JOIN_SESSION_KEYRING, b"pok-test-application")
    status = subprocess.call(command)
    attributes = termios.tcgetattr(0)
    attributes[3] &= ~(termios.ICANON | termios.ECHO)
    attributes[6][termios.VMIN] = 0
    attributes[6][termios.VTIME] = 0
    termios.tcsetattr(0, termios.TCSANOW, attributes)
    try:
        waiting = os.read(0, 4096)
    except OSError:
        waiting = b""
    with open(result_path, "w") as result:
        result.write(f"exit {status}\nkeyring {keyring}\ninput {waiting!r}\n")


def main():
    result_path, command = sys.argv[1], sys.argv[2:]
    pid, terminal = pty.fork()  # the child: setsid, the pty as controlling terminal
    if pid == 0:
        try:
            application(result_path, command)
        finally:
            os._exit(0)
    while True:
        try:
            if not os.read(terminal, 4096):
                break
        except OSError:
            break
    os.waitpid(pid, 0)


main()
