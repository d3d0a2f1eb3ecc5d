/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * extract.c: `gst-tsl-train extract`: decodes media files with GStreamer
 * and runs the encoder elements on them, writing one feature file per
 * video and modality, laid out so that `fit --features` reads them:
 *
 *   extract --input VIDEO_OR_DIR --output DIR [--video-model V] [--audio-model A]
 *           [--shard K/N] [--stride 16] [--batch 4] [--partial-clip drop|pad]
 *           [--backend B]
 *
 * writes DIR/video/<name>.npy and DIR/audio/<name>.npy, each [T, C]
 * float32, <name> being the file name without its extension (the video id
 * of the annotations). Per file, the pipeline is
 *
 *   uridecodebin -+- queue ! videoconvert ! tslvideoenc ! appsink
 *                 +- queue ! audioconvert ! audioresample ! tslaudioenc ! appsink
 *
 * (the first stream of each kind; other streams go to fakesink). A file
 * whose outputs all exist is skipped, and outputs are written atomically,
 * so an interrupted run resumes where it stopped. --shard K/N takes every
 * N-th file from the K-th (0-based) of the sorted list, for running N
 * processes side by side. A file that fails is reported and the others go
 * on; the exit status is then 1.
 *
 * The video default is --partial-clip drop, the official extraction's
 * rule (whole clips only), so that features equal the official script's.
 */
#include <errno.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "io/npy.h"

typedef struct {
    char *input;
    char *output;
    char *video_model;
    char *audio_model;
    char *shard;
    int stride;
    int batch;
    char *partial_clip;
    char *backend;
} ExtractOptions;

/* One modality of one file: its encoder branch and what came out. */
typedef struct {
    const char *kind;      /* "video" or "audio" */
    const char *model;     /* NULL: not extracted */
    gboolean linked;
    GArray *rows;          /* float [n, dim] */
    int dim;
} Stream;

typedef struct {
    const ExtractOptions *opt;
    GstElement *pipeline;
    Stream video, audio;
} Job;

/* ---- the pipeline ---- */

static GstFlowReturn
stream_new_sample (GstAppSink *sink, gpointer data)
{
    Stream *stream = data;
    GstSample *sample = gst_app_sink_pull_sample (sink);
    GstBuffer *buf;
    GstMapInfo map;

    if (sample == NULL)
        return GST_FLOW_EOS;
    if (stream->dim == 0) {
        const GstStructure *s = gst_caps_get_structure (gst_sample_get_caps (sample), 0);
        gst_structure_get_int (s, "dim", &stream->dim);
    }
    buf = gst_sample_get_buffer (sample);
    if (stream->dim > 0 && gst_buffer_map (buf, &map, GST_MAP_READ)) {
        g_array_append_vals (stream->rows, map.data, (guint) (map.size / sizeof (float)));
        gst_buffer_unmap (buf, &map);
    }
    gst_sample_unref (sample);
    return GST_FLOW_OK;
}

/* The element chain of one branch, in order, ending in an appsink. */
static gboolean
stream_link (Job *job, Stream *stream, GstPad *pad)
{
    const ExtractOptions *opt = job->opt;
    const gboolean video = g_str_equal (stream->kind, "video");
    const char *names[] = { "queue", video ? "videoconvert" : "audioconvert",
                            video ? NULL : "audioresample", video ? "tslvideoenc" : "tslaudioenc",
                            "appsink" };
    GstElement *chain[G_N_ELEMENTS (names)];
    GstAppSinkCallbacks callbacks = { .new_sample = stream_new_sample };
    int n = 0;

    for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
        if (names[i] == NULL)
            continue;
        chain[n] = gst_element_factory_make (names[i], NULL);
        if (chain[n] == NULL) {
            g_printerr ("gst-tsl-train extract: no GStreamer element '%s' (is the gst-tsl "
                        "plugin on GST_PLUGIN_PATH?)\n", names[i]);
            for (int j = 0; j < n; j++)
                gst_object_unref (chain[j]);
            return FALSE;
        }
        n++;
    }
    GstElement *encoder = chain[n - 2], *sink = chain[n - 1];
    gst_util_set_object_arg (G_OBJECT (encoder), "backend", opt->backend ? opt->backend : "auto");
    g_object_set (encoder, "model", stream->model, NULL);
    if (video) {
        g_object_set (encoder, "stride", opt->stride, "batch-size", opt->batch, NULL);
        gst_util_set_object_arg (G_OBJECT (encoder), "partial-clip", opt->partial_clip);
    }
    g_object_set (sink, "sync", FALSE, NULL);
    gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, stream, NULL);
    for (int i = 0; i < n; i++)
        gst_bin_add (GST_BIN (job->pipeline), chain[i]);
    for (int i = 0; i + 1 < n; i++)
        if (!gst_element_link (chain[i], chain[i + 1]))
            return FALSE;
    for (int i = 0; i < n; i++)
        gst_element_sync_state_with_parent (chain[i]);
    GstPad *sinkpad = gst_element_get_static_pad (chain[0], "sink");
    gboolean ok = gst_pad_link (pad, sinkpad) == GST_PAD_LINK_OK;
    gst_object_unref (sinkpad);
    return ok;
}

/* Streams nobody asked for still have to flow. */
static void
link_to_fakesink (Job *job, GstPad *pad)
{
    GstElement *sink = gst_element_factory_make ("fakesink", NULL);
    GstPad *sinkpad;

    g_object_set (sink, "sync", FALSE, NULL);
    gst_bin_add (GST_BIN (job->pipeline), sink);
    gst_element_sync_state_with_parent (sink);
    sinkpad = gst_element_get_static_pad (sink, "sink");
    gst_pad_link (pad, sinkpad);
    gst_object_unref (sinkpad);
}

static void
on_pad_added (GstElement *decoder, GstPad *pad, gpointer data)
{
    Job *job = data;
    g_autoptr (GstCaps) caps = gst_pad_query_caps (pad, NULL);
    const char *media = gst_structure_get_name (gst_caps_get_structure (caps, 0));
    Stream *stream = g_str_has_prefix (media, "video/") ? &job->video
                     : g_str_has_prefix (media, "audio/") ? &job->audio : NULL;

    if (stream == NULL || stream->model == NULL || stream->linked) {
        link_to_fakesink (job, pad);
        return;
    }
    stream->linked = TRUE;
    if (!stream_link (job, stream, pad))
        GST_ELEMENT_ERROR (decoder, CORE, NEGOTIATION,
                           ("Cannot link the %s stream to its encoder", stream->kind), (NULL));
}

/* Runs one file; FALSE with *error_text on failure. */
static gboolean
run_pipeline (Job *job, const char *path, char **error_text, double *media_s)
{
    g_autofree char *uri = gst_filename_to_uri (path, NULL);
    GstElement *decoder = gst_element_factory_make ("uridecodebin", NULL);
    g_autoptr (GstBus) bus = NULL;
    GstMessage *msg;
    gint64 duration = -1;
    gboolean ok;

    job->pipeline = gst_pipeline_new ("extract");
    g_object_set (decoder, "uri", uri, NULL);
    g_signal_connect (decoder, "pad-added", G_CALLBACK (on_pad_added), job);
    gst_bin_add (GST_BIN (job->pipeline), decoder);
    bus = gst_element_get_bus (job->pipeline);
    gst_element_set_state (job->pipeline, GST_STATE_PLAYING);
    msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
                                      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    ok = GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS;
    if (!ok) {
        g_autoptr (GError) error = NULL;
        g_autofree char *debug = NULL;
        gst_message_parse_error (msg, &error, &debug);
        *error_text = g_strdup_printf ("%s (%s)", error->message,
                                       GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)));
    }
    gst_message_unref (msg);
    if (gst_element_query_duration (job->pipeline, GST_FORMAT_TIME, &duration) && duration > 0)
        *media_s = duration / (double) GST_SECOND;
    gst_element_set_state (job->pipeline, GST_STATE_NULL);
    gst_clear_object (&job->pipeline);
    return ok;
}

/* ---- files ---- */

static char *
output_path (const ExtractOptions *opt, const char *kind, const char *name)
{
    g_autofree char *file = g_strconcat (name, ".npy", NULL);
    return g_build_filename (opt->output, kind, file, NULL);
}

static gboolean
write_stream (const ExtractOptions *opt, const Stream *stream, const char *name, char **error_text)
{
    g_autofree char *path = output_path (opt, stream->kind, name);
    g_autoptr (GError) error = NULL;
    const int64_t rows = stream->dim > 0 ? stream->rows->len / stream->dim : 0;
    const int64_t shape[2] = { rows, stream->dim };

    if (!stream->linked) {
        *error_text = g_strdup_printf ("no %s stream", stream->kind);
        return FALSE;
    }
    if (rows == 0) {
        *error_text = g_strdup_printf ("the %s encoder gave no vectors (shorter than one clip "
                                       "or window?)", stream->kind);
        return FALSE;
    }
    if (!tsl_npy_write_f32 (path, 2, shape, (const float *) stream->rows->data, &error)) {
        *error_text = g_strdup (error->message);
        return FALSE;
    }
    return TRUE;
}

static gint
compare_paths (gconstpointer a, gconstpointer b)
{
    return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/* The media files of `input`: itself, or the regular, non-hidden files of
 * the folder, sorted. */
static GPtrArray *
list_inputs (const char *input, GError **error)
{
    GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
    g_autoptr (GDir) dir = NULL;
    const char *name;

    if (!g_file_test (input, G_FILE_TEST_IS_DIR)) {
        if (!g_file_test (input, G_FILE_TEST_IS_REGULAR)) {
            g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: no such file", input);
            g_ptr_array_unref (files);
            return NULL;
        }
        g_ptr_array_add (files, g_strdup (input));
        return files;
    }
    if ((dir = g_dir_open (input, 0, error)) == NULL) {
        g_ptr_array_unref (files);
        return NULL;
    }
    while ((name = g_dir_read_name (dir)) != NULL) {
        g_autofree char *path = g_build_filename (input, name, NULL);
        if (name[0] != '.' && g_file_test (path, G_FILE_TEST_IS_REGULAR))
            g_ptr_array_add (files, g_steal_pointer (&path));
    }
    g_ptr_array_sort (files, compare_paths);
    return files;
}

static char *
video_id (const char *path)
{
    g_autofree char *base = g_path_get_basename (path);
    char *dot = strrchr (base, '.');

    if (dot != NULL && dot != base)
        *dot = '\0';
    return g_steal_pointer (&base);
}

static gboolean
parse_shard (const char *text, int *k, int *n)
{
    char *end;

    *k = 0;
    *n = 1;
    if (text == NULL)
        return TRUE;
    *k = (int) g_ascii_strtoll (text, &end, 10);
    if (*end != '/')
        return FALSE;
    *n = (int) g_ascii_strtoll (end + 1, &end, 10);
    return *end == '\0' && *n >= 1 && *k >= 0 && *k < *n;
}

/* Extracts one file; returns FALSE when it failed (reported). */
static gboolean
extract_file (const ExtractOptions *opt, const char *path, const char *name, int index, int count)
{
    Job job = {
        .opt = opt,
        .video = { "video", opt->video_model, FALSE, g_array_new (FALSE, FALSE, sizeof (float)), 0 },
        .audio = { "audio", opt->audio_model, FALSE, g_array_new (FALSE, FALSE, sizeof (float)), 0 },
    };
    g_autofree char *error_text = NULL;
    const gint64 t0 = g_get_monotonic_time ();
    double media_s = 0.0;
    gboolean ok;

    ok = run_pipeline (&job, path, &error_text, &media_s) &&
         (opt->video_model == NULL || write_stream (opt, &job.video, name, &error_text)) &&
         (opt->audio_model == NULL || write_stream (opt, &job.audio, name, &error_text));
    const double wall_s = (g_get_monotonic_time () - t0) / 1e6;
    if (ok) {
        GString *line = g_string_new (NULL);
        g_string_append_printf (line, "[%d/%d] %s:", index, count, name);
        if (opt->video_model != NULL)
            g_string_append_printf (line, " video %u x %d", job.video.rows->len / job.video.dim,
                                    job.video.dim);
        if (opt->audio_model != NULL)
            g_string_append_printf (line, "%s audio %u x %d", opt->video_model ? "," : "",
                                    job.audio.rows->len / job.audio.dim,
                                    job.audio.dim);
        g_string_append_printf (line, ", %.1f s of media in %.1f s", media_s, wall_s);
        printf ("%s\n", line->str);
        fflush (stdout);
        g_string_free (line, TRUE);
    } else {
        fprintf (stderr, "[%d/%d] %s: failed: %s\n", index, count, path, error_text);
    }
    g_array_unref (job.video.rows);
    g_array_unref (job.audio.rows);
    return ok;
}

static gboolean
already_done (const ExtractOptions *opt, const char *name)
{
    g_autofree char *video = output_path (opt, "video", name);
    g_autofree char *audio = output_path (opt, "audio", name);

    return (opt->video_model == NULL || g_file_test (video, G_FILE_TEST_EXISTS)) &&
           (opt->audio_model == NULL || g_file_test (audio, G_FILE_TEST_EXISTS));
}

static int
extract (const ExtractOptions *opt)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (GPtrArray) files = list_inputs (opt->input, &error);
    int shard_k, shard_n, done = 0, skipped = 0, failed = 0, mine = 0;

    if (files == NULL) {
        fprintf (stderr, "gst-tsl-train extract: %s\n", error->message);
        return 1;
    }
    parse_shard (opt->shard, &shard_k, &shard_n);
    for (const char *const *kind = (const char *const[]) { "video", "audio", NULL }; *kind; kind++) {
        g_autofree char *dir = g_build_filename (opt->output, *kind, NULL);
        if ((g_str_equal (*kind, "video") ? opt->video_model : opt->audio_model) != NULL &&
            g_mkdir_with_parents (dir, 0755) != 0) {
            fprintf (stderr, "gst-tsl-train extract: cannot create %s: %s\n", dir,
                     g_strerror (errno));
            return 1;
        }
    }
    for (guint i = 0; i < files->len; i++)
        mine += (int) i % shard_n == shard_k;
    for (guint i = 0, index = 0; i < files->len; i++) {
        const char *path = g_ptr_array_index (files, i);
        g_autofree char *name = video_id (path);

        if ((int) i % shard_n != shard_k)
            continue;
        index++;
        if (already_done (opt, name)) {
            printf ("[%u/%d] %s: done before, skipped\n", index, mine, name);
            skipped++;
            continue;
        }
        if (extract_file (opt, path, name, (int) index, mine))
            done++;
        else
            failed++;
    }
    printf ("%d extracted, %d skipped, %d failed (shard %d/%d of %u files)\n", done, skipped,
            failed, shard_k, shard_n, files->len);
    return failed > 0 ? 1 : 0;
}

int
tsl_train_command_extract (int argc, char **argv)
{
    ExtractOptions opt = { .stride = 16, .batch = 4 };
    const GOptionEntry entries[] = {
        { "input", 'i', 0, G_OPTION_ARG_FILENAME, &opt.input,
          "a media file, or a folder of them", "VIDEO_OR_DIR" },
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt.output,
          "folder for video/<name>.npy and audio/<name>.npy", "DIR" },
        { "video-model", 0, 0, G_OPTION_ARG_FILENAME, &opt.video_model,
          "VideoMAE model for tslvideoenc", "FILE" },
        { "audio-model", 0, 0, G_OPTION_ARG_FILENAME, &opt.audio_model,
          "audio model for tslaudioenc", "FILE" },
        { "shard", 0, 0, G_OPTION_ARG_STRING, &opt.shard,
          "only files K, K + N, K + 2N, ... of the sorted list (0 <= K < N)", "K/N" },
        { "stride", 0, 0, G_OPTION_ARG_INT, &opt.stride,
          "video frames between clip starts (default 16)", "FRAMES" },
        { "batch", 0, 0, G_OPTION_ARG_INT, &opt.batch, "clips per forward pass (default 4)",
          "N" },
        { "partial-clip", 0, 0, G_OPTION_ARG_STRING, &opt.partial_clip,
          "drop (default, as the official extraction) or pad", "MODE" },
        { "backend", 'b', 0, G_OPTION_ARG_STRING, &opt.backend, "auto (default), cpu or cuda",
          "NAME" },
        { NULL },
    };
    g_autoptr (GOptionContext) ctx =
        g_option_context_new ("- encode media files into feature files for training");
    g_autoptr (GError) error = NULL;
    int k, n, status = 2;

    g_option_context_add_main_entries (ctx, entries, NULL);
    g_option_context_add_group (ctx, gst_init_get_option_group ());
    if (!g_option_context_parse (ctx, &argc, &argv, &error))
        fprintf (stderr, "gst-tsl-train extract: %s\n", error->message);
    else if (opt.input == NULL || opt.output == NULL || argc > 1)
        fprintf (stderr, "gst-tsl-train extract: --input and --output are required "
                         "(see --help)\n");
    else if (opt.video_model == NULL && opt.audio_model == NULL)
        fprintf (stderr, "gst-tsl-train extract: give --video-model, --audio-model or both\n");
    else if (!parse_shard (opt.shard, &k, &n))
        fprintf (stderr, "gst-tsl-train extract: --shard %s: expected K/N with 0 <= K < N\n",
                 opt.shard);
    else if (opt.stride < 1 || opt.batch < 1)
        fprintf (stderr, "gst-tsl-train extract: --stride and --batch must be at least 1\n");
    else if (opt.partial_clip != NULL && !g_str_equal (opt.partial_clip, "drop") &&
             !g_str_equal (opt.partial_clip, "pad"))
        fprintf (stderr, "gst-tsl-train extract: --partial-clip is drop or pad\n");
    else {
        if (opt.partial_clip == NULL)
            opt.partial_clip = g_strdup ("drop");
        status = extract (&opt);
    }
    g_free (opt.input);
    g_free (opt.output);
    g_free (opt.video_model);
    g_free (opt.audio_model);
    g_free (opt.shard);
    g_free (opt.partial_clip);
    g_free (opt.backend);
    return status;
}
