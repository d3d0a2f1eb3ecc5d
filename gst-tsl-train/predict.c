/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * predict.c: `gst-tsl-train predict`: runs an ActionFormer model file on one
 * video's features and writes the events it finds as JSON, optionally with
 * every per-level output and both decoding stages, under the tensor names
 * of the reference dumps, for parity checks from outside.
 *
 *   predict --model M.safetensors --features FEATS [--fps F] [--duration S]
 *           --output OUT.json [--dump-outputs DUMP.safetensors] [--backend B]
 *
 * OUT.json is an array of {"label_id", "label", "start", "end", "score"} in
 * seconds, in output order (descending score).
 */
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "commands.h"
#include "decode/decode.h"
#include "io/features.h"
#include "io/safetensors.h"
#include "models/actionformer/model.h"
#include "models/labels.h"

typedef struct {
    char *model;
    char *features;
    double fps;
    double duration_s;
    char *output;
    char *dump;
    char *backend;
} PredictOptions;

static gboolean
write_events (const char *path, const TslSegment *events, int n, const GPtrArray *labels,
              GError **error)
{
    g_autoptr (JsonBuilder) b = json_builder_new ();
    g_autoptr (JsonGenerator) gen = json_generator_new ();

    json_builder_begin_array (b);
    for (int i = 0; i < n; i++) {
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "label_id");
        json_builder_add_int_value (b, events[i].label);
        json_builder_set_member_name (b, "label");
        json_builder_add_string_value (b, g_ptr_array_index (labels, events[i].label));
        json_builder_set_member_name (b, "start");
        json_builder_add_double_value (b, events[i].start);
        json_builder_set_member_name (b, "end");
        json_builder_add_double_value (b, events[i].end);
        json_builder_set_member_name (b, "score");
        json_builder_add_double_value (b, events[i].score);
        json_builder_end_object (b);
    }
    json_builder_end_array (b);
    g_autoptr (JsonNode) root = json_builder_get_root (b);
    json_generator_set_root (gen, root);
    json_generator_set_pretty (gen, TRUE);
    g_autofree char *text = json_generator_to_data (gen, NULL);
    return g_file_set_contents (path, text, -1, error);
}

/* segments [N, 2], scores [N] and labels [N] (I64) under `prefix`_* */
static gboolean
dump_segments (TslSafetensorsWriter *w, const char *prefix, const GArray *segs, GError **error)
{
    const int n = (int) segs->len;
    g_autofree float *bounds = g_new (float, 2 * (size_t) n + 1);
    g_autofree float *scores = g_new (float, (size_t) n + 1);
    g_autofree gint64 *labels = g_new (gint64, (size_t) n + 1);
    g_autofree char *seg_name = g_strdup_printf ("%s_segments", prefix);
    g_autofree char *score_name = g_strdup_printf ("%s_scores", prefix);
    g_autofree char *label_name = g_strdup_printf ("%s_labels", prefix);
    const int seg_shape[2] = { n, 2 };
    const int64_t label_shape[1] = { n };

    for (int i = 0; i < n; i++) {
        const TslSegment *s = &g_array_index (segs, TslSegment, i);
        bounds[2 * i] = s->start;
        bounds[2 * i + 1] = s->end;
        scores[i] = s->score;
        labels[i] = s->label;
    }
    return tsl_safetensors_writer_add_f32 (w, seg_name, 2, seg_shape, bounds, error) &&
           tsl_safetensors_writer_add_f32 (w, score_name, 1, &n, scores, error) &&
           tsl_safetensors_writer_add (w, label_name, TSL_DTYPE_I64, 1, label_shape, labels,
                                       error);
}

static gboolean
dump_outputs (const char *path, const TslActionFormerConfig *cfg, const TslActionFormerOutput *out,
              const GArray *candidates, const GArray *nms, GError **error)
{
    g_autoptr (TslSafetensorsWriter) w = tsl_safetensors_writer_new ();

    tsl_safetensors_writer_set_metadata (w, "generator", "gst-tsl-train predict");
    for (int l = 0; l < out->n_levels; l++) {
        const int T_l = out->level_len[l];
        const int cls_shape[2] = { cfg->num_classes, T_l };
        const int reg_shape[2] = { 2, T_l };
        const int fpn_shape[2] = { cfg->fpn_dim, T_l };
        g_autofree char *cls = g_strdup_printf ("cls_logits.%d", l);
        g_autofree char *reg = g_strdup_printf ("reg_offsets.%d", l);
        g_autofree char *fpn = g_strdup_printf ("fpn_feats.%d", l);

        if (!tsl_safetensors_writer_add_f32 (w, cls, 2, cls_shape, out->cls_logits[l], error) ||
            !tsl_safetensors_writer_add_f32 (w, reg, 2, reg_shape, out->reg_offsets[l], error) ||
            !tsl_safetensors_writer_add_f32 (w, fpn, 2, fpn_shape, out->fpn_feats[l], error))
            return FALSE;
    }
    return dump_segments (w, "prenms", candidates, error) && dump_segments (w, "nms", nms, error) &&
           tsl_safetensors_writer_save (w, path, error);
}

static gboolean
predict (const PredictOptions *opt, GError **error)
{
    g_autoptr (TslSafetensors) st = NULL;
    g_autoptr (TslActionFormer) model = NULL;
    g_autoptr (GPtrArray) labels = NULL;
    g_autofree float *feats = NULL;
    g_autoptr (GArray) candidates = g_array_new (FALSE, FALSE, sizeof (TslSegment));
    g_autoptr (GArray) nms = g_array_new (FALSE, FALSE, sizeof (TslSegment));
    g_autoptr (GArray) events = NULL;
    TslBackend *be = NULL;
    TslActionFormerOutput out;
    TslDecodeLevel levels[TSL_ACTIONFORMER_MAX_LEVELS];
    TslDecodeTiming timing;
    int C = 0, T = 0;
    gboolean ok = FALSE;

    st = tsl_safetensors_open (opt->model, error);
    if (st == NULL)
        return FALSE;
    feats = tsl_features_load (opt->features, &C, &T, error);
    if (feats == NULL)
        return FALSE;
    be = tsl_backend_new (opt->backend, error);
    if (be == NULL)
        return FALSE;
    model = tsl_actionformer_new (be, st, error);
    if (model == NULL)
        goto out;
    const TslActionFormerConfig *cfg = tsl_actionformer_get_config (model);
    if (C != cfg->input_dim) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                     "%s: %d feature channels, but the model %s takes %d", opt->features, C,
                     opt->model, cfg->input_dim);
        goto out;
    }
    labels = tsl_model_labels (st, cfg->num_classes, error);
    if (labels == NULL)
        goto out;

    timing.fps = opt->fps > 0 ? opt->fps : cfg->default_fps;
    if (!(timing.fps > 0)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "the model gives no default fps (dataset.default_fps is null): pass --fps");
        goto out;
    }
    timing.feat_stride = cfg->feat_stride;
    timing.num_frames = cfg->num_frames;
    timing.duration_s = opt->duration_s > 0 ? opt->duration_s
                                            : (double) T * cfg->feat_stride / timing.fps;

    if (!tsl_actionformer_forward (model, feats, T, &out, error))
        goto out;
    if (!tsl_decode_config_check (&cfg->decode, error))
        goto out;
    for (int l = 0; l < out.n_levels; l++) {
        levels[l] = (TslDecodeLevel) {
            .cls_logits = out.cls_logits[l],
            .offsets = out.reg_offsets[l],
            .mask = out.mask[l],
            .T = out.level_len[l],
            .stride = tsl_actionformer_config_level_stride (cfg, l),
        };
    }

    /* the decoding stages one by one, so that each can be dumped */
    for (int l = 0; l < out.n_levels; l++)
        tsl_decode_candidates (candidates, levels[l].cls_logits, levels[l].offsets,
                               levels[l].mask, cfg->num_classes, levels[l].T, levels[l].stride,
                               &cfg->decode);
    tsl_decode_nms (nms, (const TslSegment *) candidates->data, (int) candidates->len,
                    &cfg->decode);
    events = g_array_copy (nms);
    tsl_decode_grid_to_seconds ((TslSegment *) events->data, (int) events->len, &timing);

    if (!write_events (opt->output, (const TslSegment *) events->data, (int) events->len, labels,
                       error))
        goto out;
    if (opt->dump && !dump_outputs (opt->dump, cfg, &out, candidates, nms, error))
        goto out;
    printf ("%s: %d feature vectors, %u events -> %s\n", opt->features, T, events->len,
            opt->output);
    ok = TRUE;
out:
    g_clear_pointer (&model, tsl_actionformer_free);
    tsl_backend_free (be);
    return ok;
}

int
tsl_train_command_predict (int argc, char **argv)
{
    PredictOptions opt = { .backend = NULL };
    const GOptionEntry entries[] = {
        { "model", 'm', 0, G_OPTION_ARG_FILENAME, &opt.model,
          "ActionFormer model file (.safetensors)", "FILE" },
        { "features", 'f', 0, G_OPTION_ARG_FILENAME, &opt.features,
          "features: FILE.npy [T, C] or FILE.safetensors:NAME [C, T] or [1, C, T]", "SPEC" },
        { "fps", 0, 0, G_OPTION_ARG_DOUBLE, &opt.fps,
          "video frames per second (default: the model's dataset.default_fps)", "F" },
        { "duration", 0, 0, G_OPTION_ARG_DOUBLE, &opt.duration_s,
          "video duration in seconds (default: T * feat_stride / fps)", "S" },
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt.output, "events as a JSON array",
          "OUT.json" },
        { "dump-outputs", 0, 0, G_OPTION_ARG_FILENAME, &opt.dump,
          "also write every level's outputs and the decoding stages", "DUMP.safetensors" },
        { "backend", 'b', 0, G_OPTION_ARG_STRING, &opt.backend, "auto (default), cpu or cuda",
          "NAME" },
        { NULL },
    };
    g_autoptr (GOptionContext) ctx =
        g_option_context_new ("- find sound events in one video's features");
    g_autoptr (GError) error = NULL;
    int status = 1;

    g_option_context_add_main_entries (ctx, entries, NULL);
    if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
        fprintf (stderr, "gst-tsl-train predict: %s\n", error->message);
        status = 2;
    } else if (opt.model == NULL || opt.features == NULL || opt.output == NULL || argc > 1) {
        fprintf (stderr, "gst-tsl-train predict: --model, --features and --output are required "
                         "(see --help)\n");
        status = 2;
    } else if (!predict (&opt, &error)) {
        fprintf (stderr, "gst-tsl-train predict: %s\n", error->message);
    } else {
        status = 0;
    }
    g_free (opt.model);
    g_free (opt.features);
    g_free (opt.output);
    g_free (opt.dump);
    g_free (opt.backend);
    return status;
}
