#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""examples/live-events.sh for 30 s on live test sources (videotestsrc and
audiotestsrc is-live=true), with the demo's models, no display:

- it runs and stops cleanly (EOS at 30 s, exit status 0);
- tsldecode posts `tsl-event` messages while the sources are still live;
- every event is announced within a bounded delay of its end: at most the
  latencies the elements add (the slower encoder branch: video clip 16/30 s
  or audio window 1/(2R) + 1.6 s; tslfuse 1/R; tslactionformer
  (m + hop)/R with window 32, hop 8; tsldecode 2 s) plus 5 s for computing
  on a loaded CPU. Arrival times are
  the wall clock, counted from the moment the pipeline starts playing.

Argument: the shell to run the example with. Exit 77 (skipped) without
textoverlay (Debian: gstreamer1.0-x).
"""
import os
import re
import shutil
import subprocess
import sys
import time

SOURCE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEMO = os.path.join(SOURCE_ROOT, "data", "demo")
SECONDS = 30
R = 15 / 8                       # the encoders' grid: vectors per second
WINDOW, HOP, DECODE_LATENCY = 32, 8, 2.0
ADDED = max(16 / 30, 1 / (2 * R) + 1.6) + 1 / R + ((WINDOW - HOP) // 2 + HOP) / R + \
    DECODE_LATENCY
BOUND = ADDED + 5.0
n_test = 0


def ok(condition, message):
    global n_test
    n_test += 1
    print(f"{'ok' if condition else 'not ok'} {n_test} - {message}")
    if not condition:
        sys.exit(1)


def main():
    if subprocess.run(["gst-inspect-1.0", "textoverlay"], capture_output=True).returncode != 0:
        print("# skipped: no textoverlay (gstreamer1.0-x)")
        return 77
    command = [sys.argv[1] if len(sys.argv) > 1 else shutil.which("sh"),
               os.path.join(SOURCE_ROOT, "examples", "live-events.sh"),
               os.path.join(DEMO, "video.safetensors"), os.path.join(DEMO, "audio.safetensors"),
               os.path.join(DEMO, "localiser.safetensors"), "--test-sources", "--no-display",
               "--seconds", str(SECONDS), "--window", str(WINDOW), "--hop", str(HOP),
               "--latency", str(DECODE_LATENCY)]
    event = re.compile(r'tsl-event, label=\(string\)([^,]+), .*end=\(guint64\)(\d+)')
    started = None
    arrivals = []                # (seconds since PLAYING, end in seconds, label)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, bufsize=1)
    for line in process.stdout:
        now = time.monotonic()
        if started is None and "Setting pipeline to PLAYING" in line:
            started = now
        match = event.search(line)
        if match and started is not None:
            arrivals.append((now - started, int(match.group(2)) / 1e9, match.group(1)))
    status = process.wait()
    ok(status == 0, f"the live example ran {SECONDS} s and ended (exit status {status})")
    during = [a for a in arrivals if a[0] <= SECONDS]
    ok(len(during) > 0, f"{len(during)} events announced while the sources were live "
       f"({len(arrivals)} in all)")
    worst = max(a[0] - a[1] for a in arrivals)
    ok(worst <= BOUND, f"every event announced within {worst:.1f} s of its end "
       f"(elements add {ADDED:.1f} s; bound {BOUND:.1f} s)")
    print(f"1..{n_test}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
