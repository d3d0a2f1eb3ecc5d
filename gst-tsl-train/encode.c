/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * encode.c: `gst-tsl-train encode`: runs an encoder model file on inputs
 * that are already preprocessed and writes the features, so that encoders
 * can be checked against other implementations from outside.
 *
 *   encode --model M.safetensors --input IN.safetensors:NAME
 *          --output OUT.safetensors [--dump-hidden] [--batch N] [--backend B]
 *
 * The model's `tsl.model` metadata picks the encoder:
 *   videomae:     NAME is [B, 3, T, S, S] clips (RGB in [0, 1], the official
 *                 transform already applied); OUT holds `features` [B, C]
 *                 and, with --dump-hidden, `hidden.{i}` [B, N, C] after
 *                 each block.
 *   audio-resnet: NAME is [B, N] waveforms at the model's sample rate;
 *                 OUT holds `features` [B, D] (the model's head) and, with
 *                 --dump-hidden, `logmel` [B, F, mel].
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "io/safetensors.h"
#include "models/audio/model.h"
#include "models/videomae/model.h"

typedef struct {
    char *model;
    char *input;
    char *output;
    gboolean dump_hidden;
    int batch;
    char *backend;
} EncodeOptions;

/* The tensor of SPEC = FILE.safetensors:NAME as float32 host memory, its
 * shape in shape[0, *ndim). */
static float *
load_input (const char *spec, int64_t shape[TSL_SAFETENSORS_MAX_DIMS], int *ndim,
            GError **error)
{
    const char *colon = strrchr (spec, ':');
    g_autofree char *path = NULL;
    g_autoptr (TslSafetensors) st = NULL;
    const TslSafetensorsEntry *entry;
    float *values;
    size_t n;

    if (colon == NULL || colon[1] == '\0') {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "--input %s: expected FILE.safetensors:NAME", spec);
        return NULL;
    }
    path = g_strndup (spec, colon - spec);
    if ((st = tsl_safetensors_open (path, error)) == NULL)
        return NULL;
    if ((entry = tsl_safetensors_find (st, colon + 1)) == NULL) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: no tensor named '%s'", path,
                     colon + 1);
        return NULL;
    }
    n = tsl_safetensors_entry_numel (entry);
    values = g_try_new (float, MAX (n, 1));
    if (values == NULL) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_IO, "%s: out of memory for %zu values", spec, n);
        return NULL;
    }
    if (!tsl_safetensors_read_f32 (st, colon + 1, values, n, error)) {
        g_free (values);
        return NULL;
    }
    *ndim = entry->ndim;
    memcpy (shape, entry->shape, sizeof entry->shape);
    return values;
}

typedef struct {
    int B;
    float **hidden; /* [depth] of [B, N, C] */
} HiddenDump;

static void
collect_hidden (int block, int first, const float *hidden, int B, int N, int C, gpointer data)
{
    HiddenDump *dump = data;

    if (dump->hidden[block] == NULL)
        dump->hidden[block] = g_new (float, (size_t) dump->B * N * C);
    memcpy (dump->hidden[block] + (size_t) first * N * C, hidden,
            (size_t) B * N * C * sizeof (float));
}

static gboolean
encode_videomae (const EncodeOptions *opt, TslBackend *be, const TslSafetensors *st,
                 TslSafetensorsWriter *w, GError **error)
{
    g_autoptr (TslVideoMae) m = tsl_videomae_new (be, st, opt->batch, error);
    int64_t shape[TSL_SAFETENSORS_MAX_DIMS];
    int ndim;
    g_autofree float *clips = NULL;
    g_autofree float *features = NULL;
    gboolean ok;

    if (m == NULL || (clips = load_input (opt->input, shape, &ndim, error)) == NULL)
        return FALSE;
    const TslVideoMaeConfig *cfg = tsl_videomae_get_config (m);
    const int64_t want[5] = { shape[0], cfg->in_chans, cfg->all_frames, cfg->img_size,
                              cfg->img_size };
    if (ndim != 5 || memcmp (shape, want, sizeof want) != 0 || shape[0] < 1 ||
        shape[0] > G_MAXINT / 2) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                     "%s: expected clips [B, %d, %d, %d, %d] for this model", opt->input,
                     cfg->in_chans, cfg->all_frames, cfg->img_size, cfg->img_size);
        return FALSE;
    }
    const int B = (int) shape[0], C = cfg->embed_dim, N = tsl_videomae_config_num_tokens (cfg);
    HiddenDump dump = { B, g_new0 (float *, cfg->depth) };
    features = g_new (float, (size_t) B * C);
    ok = tsl_videomae_forward (m, features, clips, B, opt->dump_hidden ? collect_hidden : NULL,
                               &dump, error);
    const int feat_shape[2] = { B, C };
    ok = ok && tsl_safetensors_writer_add_f32 (w, "features", 2, feat_shape, features, error);
    for (int i = 0; ok && opt->dump_hidden && i < cfg->depth; i++) {
        g_autofree char *name = g_strdup_printf ("hidden.%d", i);
        const int hidden_shape[3] = { B, N, C };
        ok = tsl_safetensors_writer_add_f32 (w, name, 3, hidden_shape, dump.hidden[i], error);
    }
    for (int i = 0; i < cfg->depth; i++)
        g_free (dump.hidden[i]);
    g_free (dump.hidden);
    if (ok)
        printf ("%s: %d clips -> features [%d, %d] in %s\n", opt->input, B, B, C, opt->output);
    return ok;
}

static gboolean
encode_audio (const EncodeOptions *opt, TslBackend *be, const TslSafetensors *st,
              TslSafetensorsWriter *w, GError **error)
{
    g_autoptr (TslAudioModel) m = tsl_audio_model_new (be, st, NULL, error);
    int64_t shape[TSL_SAFETENSORS_MAX_DIMS];
    int ndim;
    g_autofree float *waves = NULL;
    g_autofree float *features = NULL;
    g_autofree float *logmel = NULL;

    if (m == NULL || (waves = load_input (opt->input, shape, &ndim, error)) == NULL)
        return FALSE;
    if (ndim != 2 || shape[0] < 1 || shape[1] < 1 || shape[0] * shape[1] > G_MAXINT) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                     "%s: expected waveforms [B, N] at %d Hz for this model", opt->input,
                     tsl_audio_model_sample_rate (m));
        return FALSE;
    }
    const int B = (int) shape[0], N = (int) shape[1], D = tsl_audio_model_output_dim (m);
    const int F = tsl_audio_model_n_frames (m, N);
    const int mel = tsl_audio_model_get_config (m)->logmel.num_mel_bins;
    features = g_new (float, (size_t) B * D);
    for (int b0 = 0; b0 < B; b0 += opt->batch) {
        const int n = MIN (opt->batch, B - b0);
        if (!tsl_audio_model_forward (m, waves + (size_t) b0 * N, n, N,
                                      features + (size_t) b0 * D, error))
            return FALSE;
    }
    const int feat_shape[2] = { B, D };
    if (!tsl_safetensors_writer_add_f32 (w, "features", 2, feat_shape, features, error))
        return FALSE;
    if (opt->dump_hidden) {
        const int logmel_shape[3] = { B, F, mel };
        logmel = g_new (float, (size_t) B * F * mel);
        tsl_audio_model_logmel (m, logmel, waves, B, N);
        if (!tsl_safetensors_writer_add_f32 (w, "logmel", 3, logmel_shape, logmel, error))
            return FALSE;
    }
    printf ("%s: %d windows of %d samples -> features [%d, %d] (%s) in %s\n", opt->input, B, N,
            B, D, tsl_audio_head_name (tsl_audio_model_get_head (m)), opt->output);
    return TRUE;
}

static gboolean
encode (const EncodeOptions *opt, GError **error)
{
    g_autoptr (TslSafetensors) st = tsl_safetensors_open (opt->model, error);
    g_autoptr (TslSafetensorsWriter) w = tsl_safetensors_writer_new ();
    g_autoptr (TslBackend) be = NULL;
    const char *kind;
    gboolean ok;

    if (st == NULL)
        return FALSE;
    kind = tsl_safetensors_get_metadata (st, "tsl.model");
    if (kind == NULL || (!g_str_equal (kind, "videomae") && !g_str_equal (kind, "audio-resnet"))) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_UNSUPPORTED,
                     "%s: tsl.model is '%s'; encode runs 'videomae' and 'audio-resnet' models",
                     opt->model, kind != NULL ? kind : "(absent)");
        return FALSE;
    }
    if ((be = tsl_backend_new (opt->backend, error)) == NULL)
        return FALSE;
    tsl_safetensors_writer_set_metadata (w, "generator", "gst-tsl-train encode");
    tsl_safetensors_writer_set_metadata (w, "tsl.encoder", opt->model);
    ok = g_str_equal (kind, "videomae") ? encode_videomae (opt, be, st, w, error)
                                        : encode_audio (opt, be, st, w, error);
    return ok && tsl_safetensors_writer_save (w, opt->output, error);
}

int
tsl_train_command_encode (int argc, char **argv)
{
    EncodeOptions opt = { .batch = 4 };
    const GOptionEntry entries[] = {
        { "model", 'm', 0, G_OPTION_ARG_FILENAME, &opt.model,
          "encoder model file (.safetensors, tsl.model videomae or audio-resnet)", "FILE" },
        { "input", 'i', 0, G_OPTION_ARG_FILENAME, &opt.input,
          "input: FILE.safetensors:NAME ([B, 3, T, S, S] clips or [B, N] waveforms)", "SPEC" },
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt.output,
          "features [B, D] (and hidden states) as safetensors", "OUT.safetensors" },
        { "dump-hidden", 0, 0, G_OPTION_ARG_NONE, &opt.dump_hidden,
          "also write the ViT's hidden.{i} [B, N, C] or the audio log-mel [B, F, mel]", NULL },
        { "batch", 0, 0, G_OPTION_ARG_INT, &opt.batch,
          "inputs per forward pass (memory bound; default 4)", "N" },
        { "backend", 'b', 0, G_OPTION_ARG_STRING, &opt.backend, "auto (default), cpu or cuda",
          "NAME" },
        { NULL },
    };
    g_autoptr (GOptionContext) ctx =
        g_option_context_new ("- run an encoder on preprocessed inputs");
    g_autoptr (GError) error = NULL;
    int status = 1;

    g_option_context_add_main_entries (ctx, entries, NULL);
    if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
        fprintf (stderr, "gst-tsl-train encode: %s\n", error->message);
        status = 2;
    } else if (opt.model == NULL || opt.input == NULL || opt.output == NULL || argc > 1) {
        fprintf (stderr, "gst-tsl-train encode: --model, --input and --output are required "
                         "(see --help)\n");
        status = 2;
    } else if (opt.batch < 1) {
        fprintf (stderr, "gst-tsl-train encode: --batch must be at least 1\n");
        status = 2;
    } else if (!encode (&opt, &error)) {
        fprintf (stderr, "gst-tsl-train encode: %s\n", error->message);
    } else {
        status = 0;
    }
    g_free (opt.model);
    g_free (opt.input);
    g_free (opt.output);
    g_free (opt.backend);
    return status;
}
