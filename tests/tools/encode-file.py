#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The encoders from a media file, through gst-launch-1.0 and
`gst-tsl-train encode`:

- encode on the audio fixture's waveforms reproduces its recorded 'vat'
  features and log-mel (PyTorch, tools/make-audio-fixture.py);
- an AVI file with picture (MJPEG, 25 fps, 3 s) and sound (8 kHz PCM) goes
  through `decodebin`, `tslvideoenc` (stride 5, clips of 6 frames) and
  `tslaudioenc` (grid 15/8 per second): each stream has the expected
  vector size, number of vectors (15 video: 14 whole clips and the padded last
  one; 6 audio: every vector whose PTS lies in the 3 s) and PTS (k x 5 / 25
  s and k x 8 / 15 s);
- with both streams into `tslfuse`, the output vectors have 36 + 12
  values and the video stream's buffers and PTS.

Arguments: gst-launch-1.0, gst-tsl-train. Exit 77 (skipped) without numpy
or the jpegenc/avimux plugins.
"""
import os
import re
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError as e:
    print(f"# skipped: {e}")
    sys.exit(77)

SOURCE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_ROOT, "tools"))
import tsl_safetensors  # noqa: E402

DATA = os.path.join(SOURCE_ROOT, "tests", "data")
VIDEO_MODEL = os.path.join(DATA, "videomae-fixture.safetensors")
AUDIO_MODEL = os.path.join(DATA, "audio-fixture.safetensors")
LAUNCH, TRAIN = sys.argv[1], sys.argv[2]
n_test = 0


def ok(condition, message):
    global n_test
    n_test += 1
    print(f"{'ok' if condition else 'not ok'} {n_test} - {message}")
    if not condition:
        sys.exit(1)


def launch(description):
    result = subprocess.run([LAUNCH, "-m"] + description.split(), capture_output=True,
                            text=True)
    if result.returncode != 0:
        print(result.stdout[-3000:] + result.stderr[-3000:])
    return result


def sink(tmp, name):
    """A multifilesink writing each buffer to its own file and posting one
    bus message per buffer (which gst-launch-1.0 -m prints: unlike
    fakesink's last-message, none is skipped or repeated)."""
    return (f"multifilesink name={name} location={os.path.join(tmp, name)}-%05d "
            f"post-messages=true")


def buffers(output, tmp, name):
    """[(PTS in seconds, bytes)] of the buffers sink `name` received, in order."""
    pattern = re.compile(r'from element "' + name + r'" \(element\): GstMultiFileSink, '
                         r'filename=\(string\)([^,]+), index=\(int\)(\d+), '
                         r'timestamp=\(guint64\)(\d+)')
    found = sorted((int(i), int(t), f) for f, i, t in pattern.findall(output))
    return [(t / 1e9, os.path.getsize(f)) for _, t, f in found]


def check_encode_audio(tmp):
    out = os.path.join(tmp, "audio.safetensors")
    result = subprocess.run([TRAIN, "encode", "--model", AUDIO_MODEL, "--input",
                             AUDIO_MODEL + ":__waveform", "--output", out, "--dump-hidden",
                             "--backend", "cpu"], capture_output=True, text=True)
    ok(result.returncode == 0, "encode runs the audio model: " + result.stdout.strip())
    got, _ = tsl_safetensors.read(out)
    want, _ = tsl_safetensors.read(AUDIO_MODEL)
    diff = float(np.abs(got["features"] - want["__vat"]).max())
    ok(diff < 1e-4, f"audio features match the PyTorch fixture (max abs diff {diff:.3g})")
    diff = float(np.abs(got["logmel"] - want["__logmel"]).max())
    ok(diff < 1e-4, f"log-mel matches (max abs diff {diff:.3g})")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        check_encode_audio(tmp)
        media = os.path.join(tmp, "clip.avi")
        made = launch(f"videotestsrc num-buffers=75 pattern=ball ! video/x-raw,width=64,"
                      f"height=48,framerate=25/1 ! jpegenc ! avimux name=m ! filesink "
                      f"location={media} audiotestsrc num-buffers=30 samplesperbuffer=800 ! "
                      f"audio/x-raw,rate=8000,channels=1 ! m.")
        if made.returncode != 0:
            print("# skipped: cannot write an MJPEG/PCM AVI with this GStreamer")
            return 77
        encoders = (f"filesrc location={media} ! decodebin name=d "
                    f"d. ! queue ! videoconvert ! tslvideoenc model={VIDEO_MODEL} stride=5 "
                    f"backend=cpu ! {{video_sink}} "
                    f"d. ! queue ! audioconvert ! audioresample ! tslaudioenc "
                    f"model={AUDIO_MODEL} backend=cpu ! {{audio_sink}}")
        result = launch(encoders.format(video_sink=sink(tmp, "v"), audio_sink=sink(tmp, "a")))
        ok(result.returncode == 0, "file -> decodebin -> tslvideoenc + tslaudioenc runs")
        video_buffers = buffers(result.stdout, tmp, "v")
        audio_buffers = buffers(result.stdout, tmp, "a")
        video = [t for t, _ in video_buffers]
        audio = [t for t, _ in audio_buffers]
        ok(video_buffers and all(size == 36 * 4 for _, size in video_buffers),
           "video vectors of 36 floats, one per buffer")
        ok(audio_buffers and all(size == 12 * 4 for _, size in audio_buffers),
           "audio vectors of 12 floats, one per buffer")
        ok(len(video) == 15 and all(abs(t - k * 0.2) < 1e-6 for k, t in enumerate(video)),
           f"15 video vectors at k x 0.2 s: {video}")
        ok(len(audio) == 6 and all(abs(t - k * 8 / 15) < 1e-6 for k, t in enumerate(audio)),
           f"6 audio vectors at k x 8/15 s: {audio}")

        fused = launch(encoders.format(video_sink="f.", audio_sink="f.") +
                       " tslfuse name=f ! " + sink(tmp, "o"))
        ok(fused.returncode == 0, "both streams into tslfuse")
        out = buffers(fused.stdout, tmp, "o")
        ok(out and all(size == 48 * 4 for _, size in out),
           "fused vectors of 36 + 12 floats, one per buffer")
        out = [t for t, _ in out]
        ok(out == video, f"fused buffers on the video grid: {out}")
    print(f"1..{n_test}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
