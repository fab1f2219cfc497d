#!/usr/bin/env python3
"""Run a command N times and print wall time, CPU time (user+sys) and peak RSS.

Usage: measure.py LABEL RUNS -- CMD ARGS...   (stdout of CMD goes to /dev/null)
Prints one line: LABEL wall_s cpu_s maxrss_mib (medians over RUNS).
Shared by the bench/*.sh scripts so every tool is measured the same way.
"""
import os
import resource
import statistics
import subprocess
import sys
import time


def once(cmd):
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    wall = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(cmd)} exited {code}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0


def main():
    label, runs = sys.argv[1], int(sys.argv[2])
    cmd = sys.argv[sys.argv.index("--") + 1:]
    samples = [once(cmd) for _ in range(runs)]
    wall = statistics.median(s[0] for s in samples)
    cpu = statistics.median(s[1] for s in samples)
    rss = statistics.median(s[2] for s in samples)
    print(f"{label}\t{wall:.3f}\t{cpu:.3f}\t{rss:.1f}")


if __name__ == "__main__":
    main()
