#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Makes a small sound-localisation dataset in the Perception Test format.

    make-sample-dataset.py --output DIR [--clips 8] [--seed 0]
                           [--min-seconds 20] [--max-seconds 60]
                           [--valid-fraction 0.25] [--jobs N]

Every clip is a short video whose soundtrack holds recorded sound events at
known times over a quiet noise floor, and whose picture shows a visual cue
for some of the classes. Written:

    DIR/videos/<video_id>.webm  VP8 320x240 at 30 frame/s + Vorbis 48 kHz mono
    DIR/annotations.json        {video_id: {"metadata": {...},
                                 "sound_localisation": [{"id", "label",
                                 "label_id", "timestamps": [start_us, end_us]}]}}
    DIR/labels.json             the class names, in label_id order
    DIR/README.txt              how the set was made (command, classes, counts)

Classes and what feeds them (Debian 12 packages, files under /usr/share/sounds):

    id  label           source                                       visual cue
    0   speech          espeak-ng: one of 12 sentences, 6 voices,    red bar, bottom centre,
                        random speed and pitch                       height = loudness
    1   bell            sound-theme-freedesktop stereo/bell.oga,     yellow square, top left,
                        yaru-theme-sound Yaru/stereo/bell.oga;       while a strike sounds
                        struck 3-6 times
    2   alarm_clock     sound-theme-freedesktop                      none
                        stereo/alarm-clock-elapsed.oga, first 2-6 s
    3   phone_ring      sound-theme-freedesktop                      green square, top right,
                        stereo/phone-incoming-call.oga, 1-3 rings    while a ring sounds
    4   camera_shutter  sound-theme-freedesktop                      white flash of the whole
                        stereo/camera-shutter.oga, 1-3 shots         frame at each shot
    5   bird            sound-icons canary-long.wav, 2-4 calls       none
    6   glass_clink     sound-icons glass-water-1.wav, 1-3 clinks    none
    7   trumpet         sound-icons trumpet-1.wav, trumpet-12.wav    none

The packages are listed in tools/sample-dataset-packages.txt (with sox,
espeak-ng, numpy and the GStreamer tools and plugins).

How a clip is made:
- Length: uniform in [--min-seconds, --max-seconds], rounded to whole frames;
  the soundtrack has exactly 1600 samples (48000 / 30) per frame.
- Classes: drawn from successive random permutations of all classes, so that
  over the set every class occurs equally often (within one).
- Events: one per 4-7 s of clip on average, at least one. An event is 1-6
  repeats of one source (speech: one sentence), decoded, made mono,
  sped up or slowed down by up to 8 % (pitch and tempo together) and
  resampled to 48 kHz by sox; its peak is set to -12..-3 dBFS. Its annotated
  extent runs from the first to the last sample louder than 1 % of its peak,
  so the silence that the source files start and end with is not counted.
- Placement: events never overlap; at least 0.5 s of background lies between
  two events and between an event and either end of the clip. The free time
  is shared out at random. An event that does not fit is left for the next
  clip, which keeps the classes balanced.
- Background: sox's brown or pink noise (chosen per clip) at -50..-38 dBFS
  RMS, taken at a random offset of a longer run. Events are added to it with
  numpy at exact sample positions.
- Picture: a slowly drifting grating in a muted colour chosen per clip,
  with a small dot circling the centre, and the cues of the table above
  drawn over it. Frames are made with numpy and piped as raw RGB into
  gst-launch-1.0 (fdsrc ! rawvideoparse ! vp8enc), which muxes them with the
  Vorbis-coded soundtrack into WebM.
- Split: round(clips * --valid-fraction) clips chosen at random are "valid",
  the others "train".

Determinism: the same seed and options give the same annotations.json,
labels.json and soundtrack, and with the same Debian packages the same
WebM files, byte for byte: vp8enc runs single-threaded in "good" mode
(its "realtime" mode adapts to the time it takes), webmmux is given a fixed
creation date, and the TrackUIDs that it draws at random are replaced by
ones from the seed (see set_track_uids). README.txt differs: it records
how long the run took and the package versions found.
"""
import argparse
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from concurrent.futures import ProcessPoolExecutor

import numpy as np

FPS = 30
SAMPLE_RATE = 48000
SAMPLES_PER_FRAME = SAMPLE_RATE // FPS
WIDTH, HEIGHT = 320, 240
SOUNDS = "/usr/share/sounds"
FREEDESKTOP = f"{SOUNDS}/freedesktop/stereo"
SOUND_ICONS = f"{SOUNDS}/sound-icons"

MIN_GAP_S = 0.5              # background between events and at the clip ends
MAX_SPEED_CHANGE = 0.08      # pitch and tempo change of one event, either way
PEAK_DBFS = (-12.0, -3.0)    # peak level of one event
NOISE_DBFS = (-50.0, -38.0)  # RMS level of the background
SECONDS_PER_EVENT = (4.0, 7.0)
EXTENT_THRESHOLD = 0.01      # an event's extent: samples above this share of its peak
NOISE_OFFSET_MAX_S = 8.0     # the background is cut from a run this much longer
MUX_ATTEMPTS = 8             # see encode


class SoundClass:
    """One class: where its sound comes from and how an event of it is built.

    sources: (path, Debian package) pairs, one chosen per event.
    repeats: (min, max) number of times the source sounds in one event.
    spacing: (min, max) seconds from the end of one repeat to the start of
             the next; negative values let repeats overlap (a glass still
             rings when it is clinked again). Repeats start at least 0.1 s
             apart.
    cut: (min, max) seconds kept from the start of the source, or None.
    cue: what the picture shows while it sounds (see cue_timeline), or None.
    """

    def __init__(self, label, sources, repeats=(1, 1), spacing=(0.0, 0.0), cut=None, cue=None):
        self.label = label
        self.sources = sources
        self.repeats = repeats
        self.spacing = spacing
        self.cut = cut
        self.cue = cue


CLASSES = [
    SoundClass("speech", [], cue="speech_bar"),
    SoundClass("bell",
               [(f"{FREEDESKTOP}/bell.oga", "sound-theme-freedesktop"),
                (f"{SOUNDS}/Yaru/stereo/bell.oga", "yaru-theme-sound")],
               repeats=(3, 6), spacing=(0.05, 0.35), cue="yellow_square"),
    SoundClass("alarm_clock",
               [(f"{FREEDESKTOP}/alarm-clock-elapsed.oga", "sound-theme-freedesktop")],
               cut=(2.0, 6.0)),
    SoundClass("phone_ring",
               [(f"{FREEDESKTOP}/phone-incoming-call.oga", "sound-theme-freedesktop")],
               repeats=(1, 3), spacing=(0.3, 0.8), cue="green_square"),
    SoundClass("camera_shutter",
               [(f"{FREEDESKTOP}/camera-shutter.oga", "sound-theme-freedesktop")],
               repeats=(1, 3), spacing=(0.2, 0.9), cue="white_flash"),
    SoundClass("bird",
               [(f"{SOUND_ICONS}/canary-long.wav", "sound-icons")],
               repeats=(2, 4), spacing=(0.1, 0.6)),
    SoundClass("glass_clink",
               [(f"{SOUND_ICONS}/glass-water-1.wav", "sound-icons")],
               repeats=(1, 3), spacing=(-0.3, 0.4)),
    SoundClass("trumpet",
               [(f"{SOUND_ICONS}/trumpet-1.wav", "sound-icons"),
                (f"{SOUND_ICONS}/trumpet-12.wav", "sound-icons")]),
]

SENTENCES = [
    "The kettle has boiled, shall I pour the tea?",
    "Please close the window before you leave.",
    "I think the bus is running late again this morning.",
    "Put the red box on the top shelf.",
    "Can you hear that noise coming from the kitchen?",
    "We should water the plants tomorrow.",
    "The meeting starts at half past nine.",
    "Turn left at the bakery and walk straight on.",
    "My keys were in my coat pocket all along.",
    "It is going to rain later, take an umbrella.",
    "Three apples, two pears and a lemon, please.",
    "Let me know when the washing machine has finished.",
]
VOICES = ["en-gb", "en-us", "en-gb-scotland", "en-029", "en-us+f3", "en-gb+f2"]

PROGRAMS = {  # program: Debian package
    "sox": "sox",
    "espeak-ng": "espeak-ng",
    "gst-launch-1.0": "gstreamer1.0-tools",
}
GST_ELEMENTS = {  # element: Debian package
    "rawvideoparse": "gstreamer1.0-plugins-base",
    "videoconvert": "gstreamer1.0-plugins-base",
    "wavparse": "gstreamer1.0-plugins-good",
    "audioconvert": "gstreamer1.0-plugins-base",
    "vorbisenc": "gstreamer1.0-plugins-base",
    "vp8enc": "gstreamer1.0-plugins-good",
    "webmmux": "gstreamer1.0-plugins-good",
}


def missing_requirements():
    """What this machine lacks, as 'thing (Debian package)' strings."""
    missing = [f"{p} ({pkg})" for p, pkg in PROGRAMS.items() if shutil.which(p) is None]
    for c in CLASSES:
        missing += [f"{path} ({pkg})" for path, pkg in c.sources if not os.path.exists(path)]
    if shutil.which("gst-inspect-1.0"):
        for element, pkg in GST_ELEMENTS.items():
            found = subprocess.run(["gst-inspect-1.0", "--exists", element]).returncode == 0
            if not found:
                missing.append(f"GStreamer element {element} ({pkg})")
    else:
        missing.append("gst-inspect-1.0 (gstreamer1.0-tools)")
    return missing


# ---- sound ----

def sox_to_float(args, effects=()):
    """Runs sox with input `args` and returns 48 kHz mono float32 samples."""
    cmd = (["sox", "-R", "-V1"] + list(args) +
           ["-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1",
            "-r", str(SAMPLE_RATE), "-"] + list(effects))
    run = subprocess.run(cmd, capture_output=True, check=True)
    return np.frombuffer(run.stdout, dtype="<f4").astype(np.float32)


def load_source(path, speed):
    """One source file, mono, at `speed` times its pitch and tempo, 48 kHz."""
    return sox_to_float([path], ["remix", "-", "speed", f"{speed:.4f}", "rate", "-h",
                                 str(SAMPLE_RATE)])


def speak(rng, tmp):
    """One sentence from espeak-ng in a random voice, speed and pitch."""
    text = SENTENCES[rng.integers(len(SENTENCES))]
    voice = VOICES[rng.integers(len(VOICES))]
    words_per_minute = int(rng.integers(140, 191))
    pitch = int(rng.integers(30, 71))
    path = os.path.join(tmp, "speech.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-p", str(pitch),
                    "-w", path, text], check=True, capture_output=True)
    return load_source(path, 1.0), f'"{text}" ({voice}, {words_per_minute} wpm, pitch {pitch})'


def extent(samples):
    """[first, last + 1) of the samples louder than EXTENT_THRESHOLD of the peak."""
    loud = np.flatnonzero(np.abs(samples) > EXTENT_THRESHOLD * np.abs(samples).max())
    return int(loud[0]), int(loud[-1]) + 1


def make_event(sound_class, rng, tmp):
    """Builds one event: its samples (trimmed to its extent, peak set) and the
    [start, end) sample ranges of its repeats within them."""
    if sound_class.label == "speech":
        samples, how = speak(rng, tmp)
        parts = [(0, len(samples))]
    else:
        path, _ = sound_class.sources[rng.integers(len(sound_class.sources))]
        speed = 1.0 + rng.uniform(-MAX_SPEED_CHANGE, MAX_SPEED_CHANGE)
        one = load_source(path, speed)
        first, last = extent(one)
        one = one[first:last]
        if sound_class.cut is not None:
            keep = int(rng.uniform(*sound_class.cut) * SAMPLE_RATE)
            one = one[:keep].copy()
            fade = min(len(one), SAMPLE_RATE // 50)
            one[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
        n = int(rng.integers(sound_class.repeats[0], sound_class.repeats[1] + 1))
        starts = [0]
        for _ in range(n - 1):
            gap = rng.uniform(*sound_class.spacing)
            starts.append(max(starts[-1] + SAMPLE_RATE // 10,
                              starts[-1] + len(one) + int(gap * SAMPLE_RATE)))
        samples = np.zeros(starts[-1] + len(one), dtype=np.float32)
        for s in starts:
            samples[s:s + len(one)] += one
        parts = [(s, s + len(one)) for s in starts]
        how = f"{os.path.basename(path)} x{n} at speed {speed:.3f}"
    first, last = extent(samples)
    samples = samples[first:last]
    parts = [(max(a - first, 0), min(b - first, len(samples))) for a, b in parts]
    peak_db = rng.uniform(*PEAK_DBFS)
    samples = samples * np.float32(10 ** (peak_db / 20) / np.abs(samples).max())
    return samples, parts, f"{how}, peak {peak_db:.1f} dBFS"


def background(rng, n_samples):
    """Brown or pink noise from sox at a random RMS level."""
    colour = "brownnoise" if rng.random() < 0.5 else "pinknoise"
    offset = int(rng.uniform(0, NOISE_OFFSET_MAX_S) * SAMPLE_RATE)
    total_s = (offset + n_samples) / SAMPLE_RATE + 0.1
    noise = sox_to_float(["-n"], ["synth", f"{total_s:.4f}", colour])[offset:offset + n_samples]
    rms_db = rng.uniform(*NOISE_DBFS)
    rms = np.sqrt(np.mean(noise.astype(np.float64) ** 2))
    noise = noise * np.float32(10 ** (rms_db / 20) / rms)
    return noise, f"{colour} at {rms_db:.1f} dBFS RMS"


def write_wav(path, samples):
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())


# ---- the plan: lengths, classes, event times ----

class ClassStream:
    """Classes from successive random permutations; returned ones come first."""

    def __init__(self, rng):
        self.rng = rng
        self.queue = []

    def take(self):
        if not self.queue:
            self.queue = [int(i) for i in self.rng.permutation(len(CLASSES))]
        return self.queue.pop(0)

    def give_back(self, class_ids):
        self.queue = list(class_ids) + self.queue


def place(rng, lengths, n_samples):
    """Random non-overlapping start samples for events of `lengths`, in order,
    with MIN_GAP_S of background around each (they must fit)."""
    min_gap = int(MIN_GAP_S * SAMPLE_RATE)
    slack = n_samples - sum(lengths) - min_gap * (len(lengths) + 1)
    shares = rng.random(len(lengths) + 1)
    extra = np.floor(slack * shares / shares.sum()).astype(np.int64)
    starts, at = [], 0
    for length, e in zip(lengths, extra):
        at += min_gap + int(e)
        starts.append(at)
        at += length
    return starts


def make_clip_sound(n_frames, class_ids, rng, stream, tmp):
    """The soundtrack of one clip and its events; events that do not fit
    go back to `stream`."""
    n_samples = n_frames * SAMPLES_PER_FRAME
    min_gap = int(MIN_GAP_S * SAMPLE_RATE)
    events = [(c,) + make_event(CLASSES[c], rng, tmp) for c in class_ids]
    while sum(len(e[1]) + min_gap for e in events) + min_gap > n_samples:
        stream.give_back([events.pop()[0]])
    events = [events[i] for i in rng.permutation(len(events))]
    starts = place(rng, [len(e[1]) for e in events], n_samples)

    audio, noise_how = background(rng, n_samples)
    placed = []
    for (c, samples, parts, how), start in zip(events, starts):
        audio[start:start + len(samples)] += samples
        placed.append({"class_id": c, "start": start, "end": start + len(samples),
                       "parts": [(start + a, start + b) for a, b in parts],
                       "samples": samples, "how": how})
    return audio, placed, noise_how


# ---- picture ----

def cue_timeline(events, n_frames):
    """Per frame, what each cue shows: {cue: float array of n_frames}.

    speech_bar: loudness of the speech (0..1, RMS per frame over the event's
    loudest frame); yellow_square, green_square: 1 while a repeat sounds;
    white_flash: 1 on the frame a shot starts, fading over 4 frames."""
    cues = {name: np.zeros(n_frames, dtype=np.float32)
            for name in ("speech_bar", "yellow_square", "green_square", "white_flash")}
    for e in events:
        cue = CLASSES[e["class_id"]].cue
        if cue is None:
            continue
        if cue == "speech_bar":
            first = e["start"] // SAMPLES_PER_FRAME
            padded = np.zeros(((e["end"] - first * SAMPLES_PER_FRAME + SAMPLES_PER_FRAME - 1)
                               // SAMPLES_PER_FRAME) * SAMPLES_PER_FRAME, dtype=np.float32)
            offset = e["start"] - first * SAMPLES_PER_FRAME
            padded[offset:offset + len(e["samples"])] = e["samples"]
            rms = np.sqrt(np.mean(padded.reshape(-1, SAMPLES_PER_FRAME) ** 2, axis=1))
            frames = slice(first, min(first + len(rms), n_frames))
            cues[cue][frames] = (rms / rms.max())[:frames.stop - frames.start]
        elif cue == "white_flash":
            for a, _ in e["parts"]:
                f = a // SAMPLES_PER_FRAME
                for k in range(4):
                    if f + k < n_frames:
                        cues[cue][f + k] = max(cues[cue][f + k], 1.0 - k / 4)
        else:
            for a, b in e["parts"]:
                cues[cue][a // SAMPLES_PER_FRAME:(b - 1) // SAMPLES_PER_FRAME + 1] = 1.0
    return cues


def frames(look, cues, n_frames):
    """Yields the RGB frames (HEIGHT, WIDTH, 3) uint8 of one clip."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    base = np.array(look["colour"], dtype=np.float32)
    phase0 = (x * math.cos(look["angle"]) + y * math.sin(look["angle"])) / look["period"]
    cx, cy, r = WIDTH / 2, HEIGHT / 2, 60.0
    for f in range(n_frames):
        t = f / FPS
        shade = 0.75 + 0.25 * np.sin(2 * np.pi * (phase0 - look["drift"] * t))
        img = base[None, None, :] * shade[:, :, None]
        a = 2 * np.pi * t / look["orbit_s"]
        dx, dy = int(cx + r * math.cos(a)), int(cy + r * math.sin(a))
        img[dy - 4:dy + 4, dx - 4:dx + 4] = (230, 230, 230)
        if cues["yellow_square"][f] > 0:
            img[12:52, 12:52] = (250, 220, 30)
        if cues["green_square"][f] > 0:
            img[12:52, WIDTH - 52:WIDTH - 12] = (30, 230, 50)
        height = int(round(60 * cues["speech_bar"][f]))
        if height > 0:
            img[HEIGHT - 12 - height:HEIGHT - 12, WIDTH // 2 - 20:WIDTH // 2 + 20] = (220, 40, 40)
        flash = cues["white_flash"][f]
        if flash > 0:
            img = img * (1 - flash) + 255.0 * flash
        yield np.clip(img, 0, 255).astype(np.uint8)


def ebml_element(data, pos):
    """(id, payload start, payload end) of the EBML element at `pos`."""
    length = 8 - data[pos].bit_length() + 1
    element_id = int.from_bytes(data[pos:pos + length], "big")
    pos += length
    length = 8 - data[pos].bit_length() + 1
    size = int.from_bytes(data[pos:pos + length], "big") & ((1 << (7 * length)) - 1)
    pos += length
    return element_id, pos, pos + size


def ebml_children(data, start, end):
    while start < end:
        element_id, payload, start = ebml_element(data, start)
        yield element_id, payload, start


SEGMENT, TRACKS, TRACK_ENTRY, TRACK_UID = 0x18538067, 0x1654AE6B, 0xAE, 0x73C5


def set_track_uids(path, rng):
    """Replaces the random TrackUIDs that webmmux writes with ones from `rng`.
    webmmux writes each in as few bytes as its value needs, so only a file
    whose UIDs all take 8 bytes (and appear once: nothing refers to them) can
    be made the same every time; returns False, changing nothing, otherwise."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    uids = []
    for element_id, start, end in ebml_children(data, 0, len(data)):
        if element_id != SEGMENT:
            continue
        for tracks_id, tracks_start, tracks_end in ebml_children(data, start, end):
            if tracks_id != TRACKS:
                continue
            for entry_id, entry_start, entry_end in ebml_children(data, tracks_start, tracks_end):
                if entry_id == TRACK_ENTRY:
                    uids += [(a, b) for uid_id, a, b in ebml_children(data, entry_start, entry_end)
                             if uid_id == TRACK_UID]
            break
        break
    if not uids or any(b - a != 8 or data.count(data[a:b]) != 1 for a, b in uids):
        return False
    for a, b in uids:
        data[a:b] = int(rng.integers(1 << 56, 1 << 63)).to_bytes(8, "big")
    with open(path, "wb") as f:
        f.write(data)
    return True


def encode(job):
    """Renders and encodes one clip; returns its path and the seconds it took.
    When webmmux drew a short TrackUID (1 clip in 128) it is run again."""
    t0 = time.monotonic()
    pipeline = (
        f"fdsrc fd=0 blocksize={WIDTH * HEIGHT * 3} "
        f"! rawvideoparse width={WIDTH} height={HEIGHT} format=rgb framerate={FPS}/1 "
        "! videoconvert ! video/x-raw,format=I420 "
        "! vp8enc deadline=1000000 cpu-used=4 threads=1 target-bitrate=300000 "
        "keyframe-max-dist=60 "
        "! queue ! webmmux name=mux writing-app=gst-tsl creation-time=2000-01-01T00:00:00Z "
        f"! filesink location={shlex.quote(job['path'])} "
        f"filesrc location={shlex.quote(job['wav'])} ! wavparse ! audioconvert "
        "! vorbisenc quality=0.4 ! queue ! mux.")
    for _ in range(MUX_ATTEMPTS):
        proc = subprocess.Popen(["gst-launch-1.0", "-q"] + shlex.split(pipeline),
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        try:
            for img in frames(job["look"], job["cues"], job["n_frames"]):
                proc.stdin.write(img.tobytes())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        err = proc.stderr.read().decode(errors="replace")
        if proc.wait() != 0:
            raise RuntimeError(f"gst-launch-1.0 failed on {job['path']}: {err.strip()}")
        if set_track_uids(job["path"], np.random.default_rng(job["uid_seed"])):
            break
    else:
        print(f"{job['path']}: its TrackUIDs are webmmux's random ones", file=sys.stderr)
    return job["path"], time.monotonic() - t0


# ---- the set ----

def package_versions():
    pkgs = sorted({pkg for c in CLASSES for _, pkg in c.sources} |
                  set(PROGRAMS.values()) | set(GST_ELEMENTS.values()))
    out = []
    for pkg in pkgs:
        run = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg],
                             capture_output=True, text=True) if shutil.which("dpkg-query") else None
        out.append(f"{pkg} {run.stdout.strip() if run and run.returncode == 0 else '(unknown)'}")
    return out


def write_readme(path, args, annotations, counts, clip_notes, seconds):
    lines = [
        "Sample sound-localisation dataset made by gst-tsl's tools/make-sample-dataset.py.",
        "",
        "Command: " + " ".join(shlex.quote(a) for a in sys.argv),
        f"Seed {args.seed}, {args.clips} clips of {args.min_seconds:g}-{args.max_seconds:g} s, "
        f"valid fraction {args.valid_fraction:g}; made in {seconds:.1f} s.",
        "",
        "videos/<video_id>.webm: VP8 320x240 at 30 frame/s, Vorbis 48 kHz mono.",
        "annotations.json: Perception Test format, sound_localisation timestamps in",
        "microseconds; labels.json: class names in label_id order.",
        "Events never overlap and have at least 0.5 s of background around them.",
        "",
        "Classes (events per split: train / valid) and visual cues:",
    ]
    cue_text = {"speech_bar": "red bar at the bottom, height follows the loudness",
                "yellow_square": "yellow square top left while a strike sounds",
                "green_square": "green square top right while a ring sounds",
                "white_flash": "the frame flashes white at each shot",
                None: "no visual cue"}
    for i, c in enumerate(CLASSES):
        sources = ", ".join(f"{p} [{pkg}]" for p, pkg in c.sources) or "espeak-ng"
        lines.append(f"  {i} {c.label:<15} {counts['train'][i]:3d} / {counts['valid'][i]:3d}  "
                     f"{cue_text[c.cue]}")
        lines.append(f"      from {sources}")
    lines += ["", "Clips:"]
    for vid, rec in annotations.items():
        m = rec["metadata"]
        lines.append(f"  {vid} ({m['split']}, {m['num_frames'] / FPS:.2f} s): "
                     f"{clip_notes[vid]['noise']}")
        for e, how in zip(rec["sound_localisation"], clip_notes[vid]["events"]):
            a, b = e["timestamps"]
            lines.append(f"    {a / 1e6:7.3f}-{b / 1e6:7.3f} s  {e['label']}: {how}")
    lines += ["", "Debian packages used:"] + ["  " + v for v in package_versions()]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", required=True, help="directory to write the set into")
    parser.add_argument("--clips", type=int, default=8, help="number of clips (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--min-seconds", type=float, default=20.0,
                        help="shortest clip in seconds (default 20)")
    parser.add_argument("--max-seconds", type=float, default=60.0,
                        help="longest clip in seconds (default 60)")
    parser.add_argument("--valid-fraction", type=float, default=0.25,
                        help="share of the clips in the valid split (default 0.25)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="clips encoded at once (default: the number of CPUs)")
    args = parser.parse_args()
    if args.clips < 1 or args.jobs < 1:
        parser.error("--clips and --jobs must be at least 1")
    if not 2 * MIN_GAP_S < args.min_seconds <= args.max_seconds:
        parser.error(f"need {2 * MIN_GAP_S:g} < --min-seconds <= --max-seconds")
    if not 0.0 <= args.valid_fraction <= 1.0:
        parser.error("--valid-fraction must lie in [0, 1]")
    missing = missing_requirements()
    if missing:
        sys.exit("make-sample-dataset: missing: " + ", ".join(missing) +
                 "\n(see tools/sample-dataset-packages.txt)")

    t0 = time.monotonic()
    rng = np.random.default_rng(args.seed)
    stream = ClassStream(rng)
    n_valid = int(round(args.clips * args.valid_fraction))
    valid = set(int(i) for i in rng.permutation(args.clips)[:n_valid])
    os.makedirs(os.path.join(args.output, "videos"), exist_ok=True)

    annotations, clip_notes, jobs = {}, {}, []
    counts = {"train": [0] * len(CLASSES), "valid": [0] * len(CLASSES)}
    with tempfile.TemporaryDirectory(prefix="tsl-sample-") as tmp:
        for i in range(args.clips):
            video_id = f"video_{i:04d}"
            split = "valid" if i in valid else "train"
            seconds = rng.uniform(args.min_seconds, args.max_seconds)
            n_frames = max(1, int(round(seconds * FPS)))
            n_events = max(1, int(round(seconds / rng.uniform(*SECONDS_PER_EVENT))))
            class_ids = [stream.take() for _ in range(n_events)]
            audio, events, noise_how = make_clip_sound(n_frames, class_ids, rng, stream, tmp)
            wav = os.path.join(tmp, video_id + ".wav")
            write_wav(wav, audio)

            entries = []
            for k, e in enumerate(events):
                c = e["class_id"]
                counts[split][c] += 1
                entries.append({"id": k, "label": CLASSES[c].label, "label_id": c,
                                "timestamps": [e["start"] * 1000000 // SAMPLE_RATE,
                                               -(-e["end"] * 1000000 // SAMPLE_RATE)]})
            annotations[video_id] = {
                "metadata": {"video_id": video_id, "split": split, "num_frames": n_frames,
                             "frame_rate": float(FPS), "resolution": [HEIGHT, WIDTH]},
                "sound_localisation": entries,
            }
            clip_notes[video_id] = {"noise": noise_how, "events": [e["how"] for e in events]}
            look = {"colour": [float(v) for v in rng.uniform(70, 120, size=3)],
                    "angle": float(rng.uniform(0, np.pi)), "period": float(rng.uniform(20, 60)),
                    "drift": float(rng.uniform(0.1, 0.5)), "orbit_s": float(rng.uniform(3, 9))}
            jobs.append({"path": os.path.join(args.output, "videos", video_id + ".webm"),
                         "wav": wav, "look": look, "uid_seed": [args.seed, i], "n_frames": n_frames,
                         "cues": cue_timeline(events, n_frames)})

        with ProcessPoolExecutor(max_workers=min(args.jobs, len(jobs))) as pool:
            for path, took in pool.map(encode, jobs):
                print(f"{path}: {took:.1f} s", flush=True)

    with open(os.path.join(args.output, "annotations.json"), "w") as f:
        json.dump(annotations, f, indent=1)
        f.write("\n")
    with open(os.path.join(args.output, "labels.json"), "w") as f:
        json.dump([c.label for c in CLASSES], f, indent=1)
        f.write("\n")
    write_readme(os.path.join(args.output, "README.txt"), args, annotations, counts, clip_notes,
                 time.monotonic() - t0)
    print(f"{args.output}: {args.clips} clips, "
          f"{sum(map(sum, counts.values()))} events in {time.monotonic() - t0:.1f} s")


if __name__ == "__main__":
    main()
