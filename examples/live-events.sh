#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# live-events.sh: sound events, live, from a camera and a microphone,
# drawn as captions on the video and printed as they are decided.
#
#   camera ─ videorate 30 fps ─ tee ─ tslvideoenc ─┐
#   microphone ─ audioresample ─── tslaudioenc ────┴─ tslfuse ─ tslactionformer mode=streaming
#       ─ tsldecode format=text ─ textoverlay (over the tee's other branch) ─ display
#
# Usage: examples/live-events.sh VIDEO_MODEL AUDIO_MODEL LOCALISER [options]
#
#   --test-sources   videotestsrc/audiotestsrc is-live=true instead of
#                    autovideosrc/autoaudiosrc (no camera or microphone needed)
#   --seconds N      stop after N seconds (sends EOS; default: run until Ctrl-C)
#   --no-display     fakesink instead of autovideosink (captions are still
#                    rendered, events still printed)
#   --window W --hop H --latency S
#                    tslactionformer's window and hop (vectors; default 64
#                    and 16) and tsldecode's latency (seconds; default 4)
#
# The localiser runs in streaming mode: a window of W vectors every H
# vectors, each event emitted once nothing later can change it. The whole
# pipeline's latency (encoders' clips and windows, the localiser's window,
# tsldecode's latency) is reported through GStreamer's LATENCY query, so
# the display is delayed by as much and the captions land on the frames
# they belong to. Events are printed as bus messages (`tsl-event`) by
# gst-launch-1.0 -m.
#
# The models are those of the demo (tools/make-demo-models.sh) or any
# compatible trio: the localiser's input_dim must equal the video model's
# embed_dim plus the audio model's output size.
set -eu

usage () {
    echo "usage: $0 VIDEO_MODEL AUDIO_MODEL LOCALISER [--test-sources] [--seconds N]" \
         "[--no-display] [--window W] [--hop H] [--latency S]" >&2
    exit 2
}
[ $# -ge 3 ] || usage
video_model=$1
audio_model=$2
localiser=$3
shift 3
test_sources=no
seconds=
display=autovideosink
window=64
hop=16
latency_s=4
while [ $# -gt 0 ]; do
    case $1 in
    --test-sources) test_sources=yes ;;
    --seconds) seconds=$2; shift ;;
    --no-display) display="fakesink sync=true" ;;
    --window) window=$2; shift ;;
    --hop) hop=$2; shift ;;
    --latency) latency_s=$2; shift ;;
    *) usage ;;
    esac
    shift
done

root=$(cd "$(dirname "$0")/.." && pwd)
export GST_PLUGIN_PATH="${GST_PLUGIN_PATH:-$root/build/plugins}"
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -r /proc/cpuinfo ]; then
    if grep -qw avx512f /proc/cpuinfo; then
        export OPENBLAS_CORETYPE=SkylakeX
    elif grep -qw avx2 /proc/cpuinfo; then
        export OPENBLAS_CORETYPE=Haswell
    fi
fi
# OpenMP threads that sleep while waiting leave the cores to GStreamer's
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"

latency_ns=$(awk -v s="$latency_s" 'BEGIN { printf "%.0f", s * 1e9 }')
if [ "$test_sources" = yes ]; then
    video_src="videotestsrc is-live=true pattern=ball"
    audio_src="audiotestsrc is-live=true wave=ticks"
else
    video_src="autovideosrc"
    audio_src="autoaudiosrc"
fi

set -- gst-launch-1.0 -m -e \
    $video_src ! videoconvert ! videoscale ! videorate ! \
        video/x-raw,width=320,height=240,framerate=30/1 ! tee name=v \
    $audio_src ! audioconvert ! audioresample ! queue ! \
        tslaudioenc model="$audio_model" ! queue ! f. \
    v. ! queue ! tslvideoenc model="$video_model" ! queue ! f. \
    tslfuse name=f ! \
    tslactionformer model="$localiser" mode=streaming window="$window" hop="$hop" ! \
    tsldecode model="$localiser" format=text latency="$latency_ns" ! queue ! o.text_sink \
    v. ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=0 ! \
        textoverlay name=o valignment=top font-desc="Sans 14" ! videoconvert ! $display

if [ -n "$seconds" ]; then
    # gst-launch-1.0 -e turns SIGINT into EOS: the last events still come out
    "$@" &
    pid=$!
    sleep "$seconds"
    kill -INT "$pid" 2>/dev/null || true
    wait "$pid"
else
    exec "$@"
fi
