/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * eval.c: `gst-tsl-train eval`: scores a prediction file against ground
 * truth with the Perception Test detection metric (libtsl/eval/map.h) and
 * prints the AP of every class and the mAP at each tIoU threshold
 * (np.linspace(0.1, 0.5, 5), as the challenge) and their average.
 *
 *   eval --annotations GT.json --predictions P.json [--split valid] [--json]
 *   eval --annotations GT.json --model M.safetensors --features DIR [--features DIR2 ...]
 *        [--split valid] [--predictions-out P.json] [--backend B] [--json]
 *
 * The second form first runs the model on every video of the split: the
 * features are read, joined and resampled as training reads them
 * (libtsl/train/dataset.h, with the model's dataset settings), decoded with
 * the model's test_cfg, and converted to seconds with the video's own
 * timing, as the official evaluation loop does.
 *
 * GT.json: Perception Test or ActivityNet-style annotations (recognised by
 * content). P.json: a submission {video_id: {"sound_localisation": [...]}}
 * or a list of {video_id, label_id, start, end, score}. With --json the
 * output is one object, {"mAP": {"0.1": x, ..., "0.5": x}, "average": y},
 * numbers written so that they read back exactly.
 *
 * Exit status: 0 on success, 1 when a file cannot be read, is malformed or
 * holds nothing to evaluate, 2 on a usage error.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "decode/decode.h"
#include "eval/map.h"
#include "eval/submission.h"
#include "io/annotations.h"
#include "io/json-fields.h"
#include "io/safetensors.h"
#include "models/actionformer/model.h"
#include "train/dataset.h"
#include "train/trainer.h"

#define DEFAULT_SPLIT "valid"
#define NAME_WIDTH_MAX 24 /* class names are cut to this many characters */

typedef struct {
    char *annotations;
    char *predictions;
    char *split;
    gboolean json;
    char *model;
    char **features;
    char *predictions_out;
    char *backend;
} EvalOptions;

static void
print_json (const TslMapResult *r)
{
    char number[TSL_JSON_NUMBER_BUF];

    printf ("{\"mAP\": {");
    for (int t = 0; t < r->n_thresholds; t++)
        printf ("%s\"%.1f\": %s", t ? ", " : "", r->thresholds[t],
                tsl_json_format_number (number, r->map[t]));
    printf ("}, \"average\": %s}\n", tsl_json_format_number (number, r->average_map));
}

/* s in `width` columns: cut with "..." when longer, padded when shorter. */
static void
print_cell (const char *s, int width)
{
    glong n = g_utf8_strlen (s, -1);

    if (n > width) {
        g_autofree char *cut = g_utf8_substring (s, 0, width - 3);
        printf ("%s...", cut);
    } else {
        printf ("%s%*s", s, (int) (width - n), "");
    }
}

static void
print_table (const TslMapResult *r, const TslAnnotations *gt, const char *split, int n_preds,
             const char *predictions)
{
    const int T = r->n_thresholds, K = r->n_classes;
    int name_width = (int) strlen ("recall@5x"), n_gt = 0, n_evaluated = 0;

    for (int k = 0; k < K; k++) {
        const char *name = tsl_annotations_label_name (gt, r->class_label_ids[k]);
        name_width = MAX (name_width, (int) MIN (g_utf8_strlen (name, -1), NAME_WIDTH_MAX));
        n_gt += r->n_gt[k];
        n_evaluated += r->n_predictions[k];
    }
    printf ("ground truth: %s, split %s: %d videos, %d segments, %d classes\n", gt->path, split,
            r->n_gt_videos, n_gt, K);
    printf ("predictions:  %s: %d, %d of them in an evaluated class\n\n", predictions, n_preds,
            n_evaluated);

    print_cell ("class", name_width);
    printf ("  label_id     GT   pred");
    for (int t = 0; t < T; t++)
        printf ("  AP@%.2f", r->thresholds[t]);
    printf ("\n");
    for (int k = 0; k < K; k++) {
        print_cell (tsl_annotations_label_name (gt, r->class_label_ids[k]), name_width);
        printf ("  %8d  %5d  %5d", r->class_label_ids[k], r->n_gt[k], r->n_predictions[k]);
        for (int t = 0; t < T; t++)
            printf ("  %7.4f", r->ap[(size_t) t * K + k]);
        printf ("\n");
    }
    print_cell ("mAP", name_width);
    printf ("  %22s", "");
    for (int t = 0; t < T; t++)
        printf ("  %7.4f", r->map[t]);
    printf ("\n");
    for (int kk = 0; kk < TSL_MAP_N_TOP_K; kk++) {
        g_autofree char *label = g_strdup_printf ("recall@%dx", r->top_k[kk]);
        print_cell (label, name_width);
        printf ("  %22s", "");
        for (int t = 0; t < T; t++)
            printf ("  %7.4f", r->mean_recall[(size_t) t * TSL_MAP_N_TOP_K + kk]);
        printf ("\n");
    }
    printf ("\naverage mAP: %.4f\n", r->average_map);
}

/* Appends the events the model finds in one video to preds. */
static gboolean
predict_video (TslActionFormer *model, const TslTrainSample *video, GArray *preds, GError **error)
{
    const TslActionFormerConfig *cfg = tsl_actionformer_get_config (model);
    TslDecodeLevel levels[TSL_ACTIONFORMER_MAX_LEVELS];
    TslActionFormerOutput out;
    const TslDecodeTiming timing = {
        .fps = video->fps,
        .duration_s = video->duration,
        .feat_stride = video->feat_stride,
        .num_frames = video->feat_num_frames,
    };

    if (!tsl_actionformer_forward (model, video->feats, video->length, &out, error)) {
        g_prefix_error (error, "video %s: ", video->video_id);
        return FALSE;
    }
    for (int l = 0; l < out.n_levels; l++) {
        levels[l] = (TslDecodeLevel) {
            .cls_logits = out.cls_logits[l],
            .offsets = out.reg_offsets[l],
            .mask = out.mask[l],
            .T = out.level_len[l],
            .stride = tsl_actionformer_config_level_stride (cfg, l),
        };
    }
    g_autoptr (GArray) events =
        tsl_decode_video (levels, out.n_levels, cfg->num_classes, &timing, &cfg->decode, error);
    if (events == NULL)
        return FALSE;
    for (guint i = 0; i < events->len; i++) {
        const TslSegment *e = &g_array_index (events, TslSegment, i);
        tsl_predictions_add (preds, video->video_id, e->label, e->start, e->end, e->score);
    }
    return TRUE;
}

/* Runs the model on every video of the split. */
static GArray *
predict_split (const EvalOptions *opt, const TslAnnotations *gt, GError **error)
{
    g_autoptr (TslSafetensors) st = NULL;
    g_autoptr (TslDataset) dataset = NULL;
    g_autoptr (GArray) preds = tsl_predictions_new ();
    TslTrainerConfig tcfg = { 0 };
    TslActionFormer *model = NULL;
    TslBackend *be = NULL;
    const char *config_json;
    gboolean ok = FALSE;

    st = tsl_safetensors_open (opt->model, error);
    if (st == NULL)
        return NULL;
    config_json = tsl_safetensors_get_metadata (st, "tsl.config");
    if (config_json == NULL) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: no tsl.config metadata",
                     opt->model);
        return NULL;
    }
    if (!tsl_trainer_config_parse (&tcfg, config_json, error)) {
        g_prefix_error (error, "%s: tsl.config: ", opt->model);
        goto out;
    }
    const TslDatasetConfig dcfg = {
        .split = opt->split,
        .folders = (const char *const *) opt->features,
        .input_dim = tcfg.model.input_dim,
        .feat_stride = tcfg.model.feat_stride,
        .num_frames = tcfg.model.num_frames,
        .default_fps = tcfg.model.default_fps,
        .downsample_rate = tcfg.downsample_rate,
        .max_seq_len = tcfg.model.max_seq_len,
        .force_upsampling = tcfg.force_upsampling,
    };
    dataset = tsl_dataset_new (gt, &dcfg, error);
    if (dataset == NULL)
        goto out;
    be = tsl_backend_new (opt->backend, error);
    if (be == NULL)
        goto out;
    model = tsl_actionformer_new (be, st, error);
    if (model == NULL)
        goto out;
    for (guint i = 0; i < tsl_dataset_size (dataset); i++) {
        g_autoptr (TslTrainSample) video = tsl_dataset_load (dataset, i, error);
        if (video == NULL || !predict_video (model, video, preds, error))
            goto out;
    }
    if (opt->predictions_out &&
        !tsl_submission_write (opt->predictions_out, (const TslPrediction *) preds->data,
                               (int) preds->len, error))
        goto out;
    ok = TRUE;
out:
    tsl_actionformer_free (model);
    tsl_backend_free (be);
    tsl_trainer_config_clear (&tcfg);
    return ok ? g_steal_pointer (&preds) : NULL;
}

static gboolean
evaluate (const EvalOptions *opt, GError **error)
{
    g_autoptr (TslAnnotations) gt = NULL;
    g_autoptr (GArray) preds = NULL;
    g_autoptr (TslMapResult) result = NULL;
    double thresholds[TSL_MAP_DEFAULT_N_THRESHOLDS];

    gt = tsl_annotations_load (opt->annotations, error);
    if (gt == NULL)
        return FALSE;
    preds = opt->model ? predict_split (opt, gt, error)
                       : tsl_submission_load (opt->predictions, error);
    if (preds == NULL)
        return FALSE;
    tsl_map_default_thresholds (thresholds);
    result = tsl_map_evaluate (gt, opt->split, (const TslPrediction *) preds->data,
                               (int) preds->len, thresholds, TSL_MAP_DEFAULT_N_THRESHOLDS, error);
    if (result == NULL)
        return FALSE;
    if (opt->json)
        print_json (result);
    else
        print_table (result, gt, opt->split, (int) preds->len,
                     opt->model ? opt->model : opt->predictions);
    return TRUE;
}

int
tsl_train_command_eval (int argc, char **argv)
{
    EvalOptions opt = { 0 };
    const GOptionEntry entries[] = {
        { "annotations", 'a', 0, G_OPTION_ARG_FILENAME, &opt.annotations,
          "ground truth: Perception Test or ActivityNet-style JSON", "GT.json" },
        { "predictions", 'p', 0, G_OPTION_ARG_FILENAME, &opt.predictions,
          "predictions: submission JSON or a list of {video_id, label_id, start, end, score}",
          "P.json" },
        { "split", 's', 0, G_OPTION_ARG_STRING, &opt.split,
          "evaluate the videos of this split (default: " DEFAULT_SPLIT ")", "NAME" },
        { "json", 0, 0, G_OPTION_ARG_NONE, &opt.json,
          "print {\"mAP\": {tIoU: mAP, ...}, \"average\": mAP} instead of the table", NULL },
        { "model", 'm', 0, G_OPTION_ARG_FILENAME, &opt.model,
          "run this ActionFormer model on the split's features instead of --predictions",
          "FILE" },
        { "features", 'f', 0, G_OPTION_ARG_FILENAME_ARRAY, &opt.features,
          "with --model: folder of <video_id>.npy [T, C] (repeat to join folders along C)",
          "DIR" },
        { "predictions-out", 'o', 0, G_OPTION_ARG_FILENAME, &opt.predictions_out,
          "with --model: also write the predictions as a submission file", "P.json" },
        { "backend", 'b', 0, G_OPTION_ARG_STRING, &opt.backend,
          "with --model: auto (default), cpu or cuda", "NAME" },
        { NULL },
    };
    g_autoptr (GOptionContext) ctx =
        g_option_context_new ("- score predictions with the Perception Test detection mAP");
    g_autoptr (GError) error = NULL;
    int status = 1;

    g_option_context_add_main_entries (ctx, entries, NULL);
    if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
        fprintf (stderr, "gst-tsl-train eval: %s\n", error->message);
        status = 2;
    } else if (opt.annotations == NULL || argc > 1 ||
               (opt.model == NULL) == (opt.predictions == NULL) ||
               (opt.model != NULL) != (opt.features != NULL)) {
        fprintf (stderr, "gst-tsl-train eval: --annotations and either --predictions, or "
                         "--model with --features, are required (see --help)\n");
        status = 2;
    } else {
        if (opt.split == NULL)
            opt.split = g_strdup (DEFAULT_SPLIT);
        if (!evaluate (&opt, &error))
            fprintf (stderr, "gst-tsl-train eval: %s\n", error->message);
        else
            status = 0;
    }
    g_free (opt.annotations);
    g_free (opt.predictions);
    g_free (opt.split);
    g_free (opt.model);
    g_strfreev (opt.features);
    g_free (opt.predictions_out);
    g_free (opt.backend);
    return status;
}
