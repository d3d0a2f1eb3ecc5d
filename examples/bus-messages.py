#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Prints the `tsl-event` bus messages of the gst-tsl file pipeline.

    examples/bus-messages.py FEATURES MODEL [--streaming] [--window N] [--hop N]
                             [--latency SECONDS] [--backend auto|cpu|cuda]
    examples/bus-messages.py MEDIA MODEL --video-model V --audio-model A

With a media file and the two encoder models, the whole pipeline runs
(decodebin, tslvideoenc, tslaudioenc, tslfuse, tslactionformer, tsldecode
format=json) and each event is printed twice, the two ways an application
reads it: from its buffer (the JSON line, in a fakesink handoff) and from
the bus message. Try it on the demo:

    d=data/demo
    examples/bus-messages.py $d/sample.webm $d/localiser.safetensors \\
        --video-model $d/video.safetensors --audio-model $d/audio.safetensors

builds

    tslfeaturesrc location=FEATURES model=MODEL ! tslactionformer model=MODEL !
        tsldecode model=MODEL ! fakesink

in Python and prints one JSON object per `tsl-event` element message that
tsldecode posts on the bus, with the message's fields: label, label-id,
score, start and end (nanoseconds of stream time), stream-time and
running-time (nanoseconds; null when the event lies outside the segment),
plus start_s and end_s in seconds. The event buffers themselves go to
fakesink: an application that only needs the events can read them from the
bus like this.

Try it on the test model, which also holds a feature sequence (its weights
are random: the events are meaningless, but every element runs for real):

    examples/bus-messages.py tests/data/actionformer-fixture.safetensors:video0.feats \\
        tests/data/actionformer-fixture.safetensors

Needs PyGObject and GStreamer's introspection data (Debian: python3-gi,
gir1.2-gstreamer-1.0). The plugin is taken from GST_PLUGIN_PATH, by default
the build tree's build/plugins next to this repository's root.
"""
import argparse
import json
import os
import signal
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
# Before GStreamer initialises: where the plugin is, and OpenBLAS kernels that
# suit this CPU (Debian's OpenBLAS may not recognise a recent x86 CPU).
os.environ.setdefault("GST_PLUGIN_PATH", os.path.join(ROOT, "build", "plugins"))
if "OPENBLAS_CORETYPE" not in os.environ and os.path.exists("/proc/cpuinfo"):
    with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
        flags = set()
        for line in cpuinfo:
            if line.startswith("flags"):
                flags.update(line.split(":", 1)[1].split())
    if "avx512f" in flags:
        os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
    elif "avx2" in flags:
        os.environ["OPENBLAS_CORETYPE"] = "Haswell"

try:
    import gi

    gi.require_version("Gst", "1.0")
    from gi.repository import GLib, Gst
except (ImportError, ValueError) as e:
    sys.exit(f"{sys.argv[0]}: PyGObject with GStreamer is needed "
             f"(Debian: apt install python3-gi gir1.2-gstreamer-1.0): {e}")


def make(factory, **properties):
    element = Gst.ElementFactory.make(factory, None)
    if element is None:
        sys.exit(f"{sys.argv[0]}: no element {factory}; is the tsl plugin in "
                 f"GST_PLUGIN_PATH={os.environ.get('GST_PLUGIN_PATH')}?")
    for name, value in properties.items():
        element.set_property(name, value)
    return element


def build_media_pipeline(args):
    """The whole pipeline from a media file, as a launch description; the
    event buffers (JSON lines) go to a fakesink whose handoff signal hands
    each one to print_event_buffer."""
    description = (
        f'filesrc location="{args.source}" ! decodebin name=d '
        f'd. ! queue ! videoconvert ! tslvideoenc model="{args.video_model}" '
        f'backend={args.backend} ! f. '
        f'd. ! queue ! audioconvert ! audioresample ! tslaudioenc model="{args.audio_model}" '
        f'backend={args.backend} ! f. '
        f'tslfuse name=f ! tslactionformer model="{args.model}" backend={args.backend} ! '
        f'tsldecode model="{args.model}" format=json ! '
        f'fakesink name=events signal-handoffs=true')
    try:
        pipeline = Gst.parse_launch(description)
    except GLib.Error as e:
        sys.exit(f"{sys.argv[0]}: {e.message}")
    pipeline.get_by_name("events").connect("handoff", print_event_buffer)
    return pipeline


def print_event_buffer(sink, buffer, pad):
    """One event buffer: its JSON line, timed by the buffer's PTS."""
    ok, info = buffer.map(Gst.MapFlags.READ)
    if ok:
        event = json.loads(bytes(info.data).decode("utf-8"))
        buffer.unmap(info)
        print(json.dumps({"buffer": event, "pts_s": buffer.pts / Gst.SECOND}), flush=True)


def build_pipeline(args):
    if args.video_model or args.audio_model:
        if not (args.video_model and args.audio_model):
            sys.exit(f"{sys.argv[0]}: a media file needs both --video-model and --audio-model")
        return build_media_pipeline(args)
    src = make("tslfeaturesrc", location=args.source, model=args.model)
    net = make("tslactionformer", model=args.model)
    # Enum properties are set by nick; the others take Python values.
    Gst.util_set_object_arg(net, "backend", args.backend)
    if args.streaming:
        Gst.util_set_object_arg(net, "mode", "streaming")
        net.set_property("window", args.window)
        net.set_property("hop", args.hop)
    decode = make("tsldecode", model=args.model, latency=int(args.latency * Gst.SECOND))
    sink = make("fakesink")

    pipeline = Gst.Pipeline.new("tsl")
    for element in (src, net, decode, sink):
        pipeline.add(element)
    if not (src.link(net) and net.link(decode) and decode.link(sink)):
        sys.exit(f"{sys.argv[0]}: cannot link the pipeline")
    return pipeline


def event_fields(structure):
    """The fields of a tsl-event message as a JSON-ready dict."""
    fields = {name: structure.get_value(name)
              for name in ("label", "label-id", "score", "start", "end", "stream-time",
                           "running-time")}
    if fields["running-time"] == Gst.CLOCK_TIME_NONE:
        fields["running-time"] = None
    fields["start_s"] = fields["start"] / Gst.SECOND
    fields["end_s"] = fields["end"] / Gst.SECOND
    return fields


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="features: FILE.npy [T, D] or FILE.safetensors:NAME "
                        "[D, T]; with --video-model and --audio-model, a media file")
    parser.add_argument("model", help="ActionFormer model file (.safetensors)")
    parser.add_argument("--video-model", help="VideoMAE model: SOURCE is a media file")
    parser.add_argument("--audio-model", help="audio model: SOURCE is a media file")
    parser.add_argument("--streaming", action="store_true",
                        help="sliding inference windows instead of one at the end")
    parser.add_argument("--window", type=int, default=0,
                        help="streaming: feature vectors per inference (0: max_seq_len)")
    parser.add_argument("--hop", type=int, default=0,
                        help="streaming: feature vectors between inferences (0: window / 2)")
    parser.add_argument("--latency", type=float, default=10.0,
                        help="streaming: seconds tsldecode waits after an event's end")
    parser.add_argument("--backend", choices=("auto", "cpu", "cuda"), default="auto")
    args = parser.parse_args()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet exit when piped into head
    if args.window < 0 or args.hop < 0 or args.latency < 0:
        parser.error("window, hop and latency cannot be negative")

    Gst.init(None)
    pipeline = build_pipeline(args)
    bus = pipeline.get_bus()
    # A failing element posts an ERROR message, which the loop below reports.
    pipeline.set_state(Gst.State.PLAYING)

    status = 0
    while True:
        msg = bus.timed_pop_filtered(Gst.CLOCK_TIME_NONE, Gst.MessageType.ELEMENT
                                     | Gst.MessageType.ERROR | Gst.MessageType.EOS)
        if msg.type == Gst.MessageType.ELEMENT:
            structure = msg.get_structure()
            if structure is not None and structure.get_name() == "tsl-event":
                print(json.dumps(event_fields(structure)), flush=True)
        elif msg.type == Gst.MessageType.ERROR:
            error, debug = msg.parse_error()
            print(f"{sys.argv[0]}: {msg.src.get_name()}: {error.message}", file=sys.stderr)
            status = 1
            break
        else:  # EOS: every event has been posted
            break
    pipeline.set_state(Gst.State.NULL)
    return status


if __name__ == "__main__":
    sys.exit(main())
