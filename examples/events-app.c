/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * events-app.c: an application embedding the gst-tsl file pipeline. It
 * finds the sound events of a media file and reads each one twice, the two
 * ways an application can:
 *
 *   - from the event buffers, through their GstTslEventMeta (a pad probe on
 *     tsldecode's src pad; the same works in an appsink callback);
 *   - from the `tsl-event` element messages tsldecode posts on the bus.
 *
 *   events-app MEDIA VIDEO_MODEL AUDIO_MODEL LOCALISER_MODEL
 *
 * The pipeline:
 *
 *   filesrc ! decodebin name=d
 *     d. ! queue ! videoconvert ! tslvideoenc ! f.
 *     d. ! queue ! audioconvert ! audioresample ! tslaudioenc ! f.
 *   tslfuse name=f ! tslactionformer ! tsldecode ! fakesink
 *
 * Build: with the project (meson option examples, on by default when
 * GStreamer is found); it compiles plugins/gsttslmeta.c in, which shares
 * the meta's registration with the plugin's copy. The plugin is found
 * through GST_PLUGIN_PATH (build/plugins in the build tree).
 */
#include <gst/gst.h>
#include <stdio.h>

#include "gsttslmeta.h"

/* Called for every buffer tsldecode pushes: one buffer per event. */
static GstPadProbeReturn
on_event_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstTslEventMeta *event = gst_buffer_get_tsl_event_meta (buf);
  guint *count = user_data;

  if (event != NULL) {
    (*count)++;
    printf ("meta:    %-16s id %2d  score %.3f  %8.3f - %8.3f s\n", event->label,
        event->label_id, event->score, event->start / (gdouble) GST_SECOND,
        event->end / (gdouble) GST_SECOND);
  }
  return GST_PAD_PROBE_OK;
}

/* The tsl-event element message: fields label, label-id, score, start, end
 * (stream time, ns), stream-time and running-time. */
static void
print_event_message (const GstStructure *s)
{
  const gchar *label = gst_structure_get_string (s, "label");
  gint label_id = -1;
  gdouble score = 0.0;
  guint64 start = 0, end = 0;

  gst_structure_get_int (s, "label-id", &label_id);
  gst_structure_get_double (s, "score", &score);
  gst_structure_get_uint64 (s, "start", &start);
  gst_structure_get_uint64 (s, "end", &end);
  printf ("message: %-16s id %2d  score %.3f  %8.3f - %8.3f s\n", label ? label : "?",
      label_id, score, start / (gdouble) GST_SECOND, end / (gdouble) GST_SECOND);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *description = NULL;
  GstElement *pipeline, *decoder;
  GstPad *pad;
  GstBus *bus;
  guint n_meta = 0, n_messages = 0;
  gboolean done = FALSE, ok = TRUE;

  gst_init (&argc, &argv);
  if (argc != 5) {
    fprintf (stderr, "usage: %s MEDIA VIDEO_MODEL AUDIO_MODEL LOCALISER_MODEL\n", argv[0]);
    return 2;
  }
  description = g_strdup_printf ("filesrc location=\"%s\" ! decodebin name=d "
      "d. ! queue ! videoconvert ! tslvideoenc model=\"%s\" ! f. "
      "d. ! queue ! audioconvert ! audioresample ! tslaudioenc model=\"%s\" ! f. "
      "tslfuse name=f ! tslactionformer model=\"%s\" ! tsldecode name=decode model=\"%s\" ! "
      "fakesink", argv[1], argv[2], argv[3], argv[4], argv[4]);
  pipeline = gst_parse_launch (description, &error);
  if (pipeline == NULL) {
    fprintf (stderr, "%s: %s\n", argv[0], error->message);
    return 1;
  }

  decoder = gst_bin_get_by_name (GST_BIN (pipeline), "decode");
  pad = gst_element_get_static_pad (decoder, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_event_buffer, &n_meta, NULL);
  gst_object_unref (pad);
  gst_object_unref (decoder);

  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  while (!done) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
        GST_MESSAGE_ELEMENT | GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    const GstStructure *s;

    switch (GST_MESSAGE_TYPE (msg)) {
      case GST_MESSAGE_ELEMENT:
        s = gst_message_get_structure (msg);
        if (gst_structure_has_name (s, "tsl-event")) {
          n_messages++;
          print_event_message (s);
        }
        break;
      case GST_MESSAGE_ERROR:{
        g_autoptr (GError) err = NULL;
        g_autofree gchar *debug = NULL;

        gst_message_parse_error (msg, &err, &debug);
        fprintf (stderr, "%s: %s (%s)\n", argv[0], err->message, debug ? debug : "");
        ok = FALSE;
        done = TRUE;
        break;
      }
      default:
        done = TRUE;            /* EOS */
        break;
    }
    gst_message_unref (msg);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  printf ("%u events read from buffer metas, %u from bus messages\n", n_meta, n_messages);
  return ok && n_meta == n_messages ? 0 : 1;
}
