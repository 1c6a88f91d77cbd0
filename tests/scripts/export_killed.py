"""Calls one function, says so, then waits to be killed with SIGKILL (export of an incomplete run)."""

import sys
import time


def step(n):
    return n + 1


def hang():
    time.sleep(60)


step(1)
print("ready", flush=True)
time.sleep(1.5)  # the log thread flushes at least every 0.5 s
sys.stdout.flush()
hang()
