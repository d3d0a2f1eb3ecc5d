/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * train/trainer.c: one ActionFormer training iteration as the official
 * train_one_epoch runs it, the optimiser and EMA state, initial weights,
 * checkpoints and the final model file (see trainer.h).
 *
 * Layout: parameters stay in the model's own device buffers (one per
 * tensor, official order); the EMA and both AdamW moments are one device
 * block each with the parameters end to end in that order; gradients are
 * the TslActionFormerGrads block in the same order. Host copies of all four
 * exist only while a checkpoint or model file is written or read.
 */
#include <glib/gstdio.h>
#include <unistd.h>
#include <math.h>
#include <string.h>

#include "../io/json-fields.h"
#include "../io/safetensors.h"
#include "../ops.h"
#include "../models/actionformer/model.h"
#include "../models/actionformer/train.h"
#include "checkpoint.h"
#include "droppath.h"
#include "points.h"
#include "trainer.h"

#define ADAMW_BETA1 0.9   /* torch.optim.AdamW defaults, which make_optimizer keeps */
#define ADAMW_BETA2 0.999
#define ADAMW_EPS 1e-8
#define CLIP_EPS 1e-6     /* torch.nn.utils.clip_grad_norm_ */
#define CONFIG_MAX_DEPTH 16

struct _TslTrainer {
    TslBackend *be;
    TslTrainerConfig cfg;          /* a copy without train_split (not needed here) */
    char *config_json;
    TslActionFormer *model;
    TslActionFormerTrain *train;
    TslActionFormerGrads *grads;
    TslTrainLoss *loss;
    TslTrainPoints points;
    TslSchedule schedule;
    TslTrainRng rng;
    int64_t step_count;

    GArray *specs;                 /* TslActionFormerParamSpec [n_params] */
    int n_params;
    float **params;                /* [n_params] device, the model's buffers */
    size_t *offsets;               /* [n_params + 1] floats into the blocks below */
    float *ema;                    /* [total] device */
    float *adam_m;                 /* [total] device */
    float *adam_v;                 /* [total] device */
    float *norms;                  /* [n_params] device, per-tensor sums of squares */

    int batch_size;
    float *dcls[TSL_ACTIONFORMER_MAX_LEVELS]; /* [B, K, T_L] device */
    float *dreg[TSL_ACTIONFORMER_MAX_LEVELS]; /* [B, 2, T_L] device */
    float *host_feats;             /* [B, C_in, Tp] */
    int *host_lengths;             /* [B] */
    float *host_gt_cls;            /* [B, FT, K] */
    float *host_gt_offsets;        /* [B, FT, 2] */
    float *host_drop_keep;         /* [n_blocks, 2, B] drop-path draws, or NULL */
};

static const TslActionFormerParamSpec *
param_spec (const TslTrainer *t, int i)
{
    return &g_array_index (t->specs, TslActionFormerParamSpec, i);
}

/* ---- configuration ---- */

static gboolean
parse_section (JsonObject *root, const char *name, JsonObject **out, GError **error)
{
    *out = NULL;
    return tsl_json_fields_object (root, name, FALSE, "config", "", out, error);
}

/* member present and not null */
static gboolean
has_value (JsonObject *obj, const char *member)
{
    return obj != NULL && json_object_has_member (obj, member) &&
           !JSON_NODE_HOLDS_NULL (json_object_get_member (obj, member));
}

static gboolean
get_number (JsonObject *obj, const char *section, const char *member, double *out,
            GError **error)
{
    g_autofree char *prefix = g_strconcat (section, ".", NULL);

    if (!has_value (obj, member))
        return TRUE;
    return tsl_json_fields_number (obj, member, TRUE, "config", prefix, out, error);
}

static gboolean
get_int (JsonObject *obj, const char *section, const char *member, int64_t min, int *out,
         GError **error)
{
    g_autofree char *prefix = g_strconcat (section, ".", NULL);
    int64_t value;

    if (!has_value (obj, member))
        return TRUE;
    if (!tsl_json_fields_int (obj, member, TRUE, min, G_MAXINT, "config", prefix, &value, error))
        return FALSE;
    *out = (int) value;
    return TRUE;
}

static gboolean
get_bool (JsonObject *obj, const char *section, const char *member, gboolean *out,
          GError **error)
{
    JsonNode *node;

    if (!has_value (obj, member))
        return TRUE;
    node = json_object_get_member (obj, member);
    if (json_node_get_value_type (node) != G_TYPE_BOOLEAN) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG, "config: %s.%s: expected a boolean",
                     section, member);
        return FALSE;
    }
    *out = json_node_get_boolean (node);
    return TRUE;
}

static gboolean
get_string (JsonObject *obj, const char *section, const char *member, const char **out,
            GError **error)
{
    g_autofree char *prefix = g_strconcat (section, ".", NULL);

    if (!has_value (obj, member))
        return TRUE;
    return tsl_json_fields_string (obj, member, TRUE, "config", prefix, out, error);
}

static gboolean
parse_dataset (TslTrainerConfig *cfg, JsonObject *dataset, GError **error)
{
    const char *split = "train";

    if (has_value (dataset, "train_split")) {
        JsonNode *node = json_object_get_member (dataset, "train_split");
        JsonArray *splits = JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
        JsonNode *first = splits && json_array_get_length (splits) > 0
                              ? json_array_get_element (splits, 0) : NULL;
        if (first == NULL || json_node_get_value_type (first) != G_TYPE_STRING) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                         "config: dataset.train_split: expected an array of split names");
            return FALSE;
        }
        split = json_node_get_string (first);
    }
    cfg->train_split = g_strdup (split);
    if (has_value (dataset, "crop_ratio")) {
        if (!tsl_json_fields_pair (dataset, "crop_ratio", "config", "dataset.", cfg->crop_ratio,
                                   error))
            return FALSE;
        cfg->use_crop_ratio = TRUE;
    }
    return get_number (dataset, "dataset", "trunc_thresh", &cfg->trunc_thresh, error) &&
           get_int (dataset, "dataset", "downsample_rate", 1, &cfg->downsample_rate, error) &&
           get_bool (dataset, "dataset", "force_upsampling", &cfg->force_upsampling, error);
}

static gboolean
parse_opt (TslTrainerConfig *cfg, JsonObject *opt, GError **error)
{
    const char *type = "AdamW", *schedule = "cosine";
    gboolean warmup = TRUE;

    if (!get_string (opt, "opt", "type", &type, error) ||
        !get_string (opt, "opt", "schedule_type", &schedule, error) ||
        !get_bool (opt, "opt", "warmup", &warmup, error) ||
        !get_number (opt, "opt", "learning_rate", &cfg->learning_rate, error) ||
        !get_number (opt, "opt", "weight_decay", &cfg->weight_decay, error) ||
        !get_int (opt, "opt", "epochs", 1, &cfg->epochs, error) ||
        !get_int (opt, "opt", "warmup_epochs", 1, &cfg->warmup_epochs, error) ||
        !get_number (opt, "opt", "schedule_gamma", &cfg->schedule_gamma, error))
        return FALSE;
    if (!g_str_equal (type, "AdamW") || !warmup) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "config: %s: only AdamW with warmup is supported",
                     warmup ? "opt.type" : "opt.warmup");
        return FALSE;
    }
    if (g_str_equal (schedule, "cosine")) {
        cfg->schedule_type = TSL_SCHEDULE_COSINE;
    } else if (g_str_equal (schedule, "multistep")) {
        cfg->schedule_type = TSL_SCHEDULE_MULTISTEP;
    } else {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "config: opt.schedule_type: '%s' is neither cosine nor multistep", schedule);
        return FALSE;
    }
    if (has_value (opt, "schedule_steps")) {
        JsonNode *node = json_object_get_member (opt, "schedule_steps");
        JsonArray *steps = JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
        guint n = steps ? json_array_get_length (steps) : 0;

        if (steps == NULL || n > TSL_SCHEDULE_MAX_MILESTONES) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                         "config: opt.schedule_steps: expected an array of at most %d epochs",
                         TSL_SCHEDULE_MAX_MILESTONES);
            return FALSE;
        }
        for (guint i = 0; i < n; i++) {
            JsonNode *step = json_array_get_element (steps, i);
            if (json_node_get_value_type (step) != G_TYPE_INT64) {
                g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                             "config: opt.schedule_steps[%u]: expected an integer", i);
                return FALSE;
            }
            cfg->schedule_steps[i] = (int) json_node_get_int (step);
        }
        cfg->n_schedule_steps = (int) n;
    }
    return TRUE;
}

static gboolean
parse_train_cfg (TslTrainerConfig *cfg, JsonObject *train_cfg, GError **error)
{
    const char *center_sample = "radius";

    if (!get_string (train_cfg, "train_cfg", "center_sample", &center_sample, error) ||
        !get_number (train_cfg, "train_cfg", "center_sample_radius",
                     &cfg->assign.center_sample_radius, error) ||
        !get_number (train_cfg, "train_cfg", "loss_weight", &cfg->loss.loss_weight, error) ||
        !get_number (train_cfg, "train_cfg", "label_smoothing", &cfg->loss.label_smoothing,
                     error) ||
        !get_number (train_cfg, "train_cfg", "init_loss_norm", &cfg->loss.init_loss_norm,
                     error) ||
        !get_number (train_cfg, "train_cfg", "clip_grad_l2norm", &cfg->clip_grad_l2norm, error) ||
        !get_number (train_cfg, "train_cfg", "cls_prior_prob", &cfg->cls_prior_prob, error))
        return FALSE;
    if (g_str_equal (center_sample, "radius")) {
        cfg->assign.center_sample = TSL_CENTER_SAMPLE_RADIUS;
    } else if (g_str_equal (center_sample, "none")) {
        cfg->assign.center_sample = TSL_CENTER_SAMPLE_NONE;
    } else {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "config: train_cfg.center_sample: '%s' is neither radius nor none",
                     center_sample);
        return FALSE;
    }
    if (!(cfg->cls_prior_prob > 0 && cfg->cls_prior_prob < 1)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "config: train_cfg.cls_prior_prob: must lie in (0, 1)");
        return FALSE;
    }
    return TRUE;
}

gboolean
tsl_trainer_config_parse (TslTrainerConfig *cfg, const char *json, GError **error)
{
    g_autoptr (JsonParser) parser = NULL;
    JsonObject *root, *dataset, *opt, *loader, *train_cfg;

    memset (cfg, 0, sizeof (*cfg));
    if (!tsl_actionformer_config_parse (&cfg->model, json, -1, error))
        return FALSE;
    cfg->trunc_thresh = 0.5;
    cfg->downsample_rate = 1;
    cfg->learning_rate = 1e-3;
    cfg->epochs = 30;
    cfg->warmup_epochs = 5;
    cfg->schedule_type = TSL_SCHEDULE_COSINE;
    cfg->schedule_gamma = 0.1;
    cfg->batch_size = 8;
    cfg->clip_grad_l2norm = -1.0;
    cfg->cls_prior_prob = 0.01;
    cfg->stochastic_drop_path = TRUE;
    tsl_train_assign_config_init (&cfg->assign, cfg->model.num_classes);
    tsl_train_loss_config_init (&cfg->loss, cfg->model.num_classes);

    parser = tsl_json_fields_parse (json, strlen (json), "config", CONFIG_MAX_DEPTH, error);
    if (parser == NULL)
        return FALSE;
    root = json_node_get_object (json_parser_get_root (parser));
    if (json_object_has_member (root, "config") &&
        JSON_NODE_HOLDS_OBJECT (json_object_get_member (root, "config")))
        root = json_object_get_object_member (root, "config");
    if (!parse_section (root, "dataset", &dataset, error) ||
        !parse_section (root, "opt", &opt, error) ||
        !parse_section (root, "loader", &loader, error) ||
        !parse_section (root, "train_cfg", &train_cfg, error))
        return FALSE;
    if (!parse_dataset (cfg, dataset, error) || !parse_opt (cfg, opt, error) ||
        !get_int (loader, "loader", "batch_size", 1, &cfg->batch_size, error) ||
        !parse_train_cfg (cfg, train_cfg, error)) {
        tsl_trainer_config_clear (cfg);
        return FALSE;
    }
    return TRUE;
}

void
tsl_trainer_config_clear (TslTrainerConfig *cfg)
{
    g_clear_pointer (&cfg->train_split, g_free);
}

/* ---- initial weights ---- */

/* uniform in [-bound, bound) from the top 24 bits of one draw */
static float
uniform (TslTrainRng *rng, double bound)
{
    double u = (double) (tsl_train_rng_next (rng) >> 40) / (double) (1 << 24);
    return (float) (bound * (2.0 * u - 1.0));
}

static void
init_values (float *values /* [numel] */, const TslActionFormerParamSpec *spec, size_t numel,
             double cls_prior_prob, TslTrainRng *rng)
{
    float constant = 0.0f;

    switch (spec->kind) {
    case TSL_AF_PARAM_CONV_WEIGHT: {
        double bound = 1.0 / sqrt ((double) spec->shape[1] * spec->shape[2]);
        for (size_t i = 0; i < numel; i++)
            values[i] = uniform (rng, bound);
        return;
    }
    case TSL_AF_PARAM_CONV_BIAS:
        if (g_str_equal (spec->name, "cls_head.cls_head.conv.bias"))
            constant = (float) -log ((1.0 - cls_prior_prob) / cls_prior_prob);
        break;
    case TSL_AF_PARAM_NORM_WEIGHT:
    case TSL_AF_PARAM_SCALE:
        constant = 1.0f;
        break;
    case TSL_AF_PARAM_NORM_BIAS:
        break;
    case TSL_AF_PARAM_DROP_PATH_SCALE:
        constant = (float) TSL_TRAINER_DROP_PATH_INIT;
        break;
    }
    for (size_t i = 0; i < numel; i++)
        values[i] = constant;
}

/* A model with freshly drawn weights, through a temporary model file (the
 * one way a model is built). */
static TslActionFormer *
initial_model (TslBackend *be, const TslTrainerConfig *cfg, const char *config_json,
               GArray *specs, TslTrainRng *rng, GError **error)
{
    g_autoptr (TslSafetensorsWriter) w = tsl_safetensors_writer_new ();
    g_autoptr (TslSafetensors) st = NULL;
    g_autofree char *path = NULL;
    TslActionFormer *model = NULL;
    int fd;

    for (guint i = 0; i < specs->len; i++) {
        const TslActionFormerParamSpec *spec = &g_array_index (specs, TslActionFormerParamSpec, i);
        size_t numel = tsl_shape_numel (spec->ndim, spec->shape);
        g_autofree float *values = g_new (float, MAX (numel, 1));

        init_values (values, spec, numel, cfg->cls_prior_prob, rng);
        if (!tsl_safetensors_writer_add_f32 (w, spec->name, spec->ndim, spec->shape, values,
                                             error))
            return NULL;
    }
    fd = g_file_open_tmp ("tsl-initial-XXXXXX.safetensors", &path, error);
    if (fd < 0)
        return NULL;
    close (fd);
    tsl_safetensors_writer_set_metadata (w, "tsl.config", config_json);
    if (tsl_safetensors_writer_save (w, path, error)) {
        st = tsl_safetensors_open (path, error);
        if (st != NULL)
            model = tsl_actionformer_new_with_config (be, st, &cfg->model, error);
    }
    g_unlink (path);
    return model;
}

/* ---- construction ---- */

/* Drop-path draws of a full batch: one per video for each AffineDropPath
 * (two per transformer block); 0 without stochastic drop path. */
static size_t
drop_path_draws (const TslTrainer *t)
{
    const TslActionFormerConfig *mc = &t->cfg.model;

    if (!(mc->droppath > 0.0 && t->cfg.stochastic_drop_path))
        return 0;
    return (size_t) 2 * (mc->n_stem_blocks + mc->n_branch_blocks) * t->batch_size;
}

TslTrainer *
tsl_trainer_new (TslBackend *be, const TslTrainerConfig *cfg, const char *config_json,
                 const TslSafetensors *initial, int64_t iters_per_epoch, guint64 seed,
                 GError **error)
{
    g_autoptr (TslTrainer) t = g_new0 (TslTrainer, 1);
    const TslActionFormerConfig *mc = &cfg->model;
    TslScheduleConfig sched;
    size_t total = 0;
    int n = 0;

    t->be = be;
    t->cfg = *cfg;
    t->cfg.train_split = NULL;
    t->config_json = g_strdup (config_json);
    t->batch_size = cfg->batch_size;
    tsl_train_rng_seed (&t->rng, seed);

    if (!tsl_schedule_config_from_epochs (&sched, cfg->schedule_type, cfg->learning_rate,
                                          cfg->epochs, cfg->warmup_epochs, iters_per_epoch,
                                          cfg->schedule_steps, cfg->n_schedule_steps,
                                          cfg->schedule_gamma, error) ||
        !tsl_schedule_init (&t->schedule, &sched, error))
        return NULL;

    t->specs = tsl_actionformer_param_specs (mc);
    t->model = initial != NULL
                   ? tsl_actionformer_new_with_config (be, initial, &cfg->model, error)
                   : initial_model (be, cfg, config_json, t->specs, &t->rng, error);
    if (t->model == NULL)
        return NULL;
    t->params = tsl_actionformer_param_data (t->model, &n);
    t->n_params = n;
    g_assert (n == (int) t->specs->len);
    t->offsets = g_new (size_t, n + 1);
    for (int i = 0; i < n; i++) {
        const TslActionFormerParamSpec *spec = param_spec (t, i);
        t->offsets[i] = total;
        total += tsl_shape_numel (spec->ndim, spec->shape);
    }
    t->offsets[n] = total;

    t->train = tsl_actionformer_train_new (t->model, cfg->batch_size, error);
    if (t->train == NULL)
        return NULL;
    t->grads = tsl_actionformer_grads_new (t->model, error);
    if (t->grads == NULL)
        return NULL;
    if (!tsl_train_points_init (&t->points, mc, mc->max_seq_len, error))
        return NULL;
    t->loss = tsl_train_loss_new (be, &t->points, &cfg->loss, cfg->batch_size, error);
    if (t->loss == NULL)
        return NULL;

    t->ema = tsl_backend_alloc (be, sizeof (float) * MAX (total, 1), error);
    t->adam_m = t->ema ? tsl_backend_alloc (be, sizeof (float) * MAX (total, 1), error) : NULL;
    t->adam_v = t->adam_m ? tsl_backend_alloc (be, sizeof (float) * MAX (total, 1), error) : NULL;
    t->norms = t->adam_v ? tsl_backend_alloc (be, sizeof (float) * MAX (n, 1), error) : NULL;
    if (t->norms == NULL)
        return NULL;
    for (int i = 0; i < n; i++)
        tsl_backend_copy (be, t->ema + t->offsets[i], t->params[i],
                          sizeof (float) * (t->offsets[i + 1] - t->offsets[i]));
    tsl_backend_zero (be, t->adam_m, sizeof (float) * total);
    tsl_backend_zero (be, t->adam_v, sizeof (float) * total);

    for (int l = 0; l < t->points.n_levels; l++) {
        size_t T_l = t->points.level_len[l];
        t->dcls[l] = tsl_backend_alloc (be, sizeof (float) * cfg->batch_size * mc->num_classes *
                                                T_l, error);
        t->dreg[l] = t->dcls[l] ? tsl_backend_alloc (be, sizeof (float) * cfg->batch_size * 2 *
                                                             T_l, error)
                                : NULL;
        if (t->dreg[l] == NULL)
            return NULL;
    }
    t->host_feats = g_new (float, (size_t) cfg->batch_size * mc->input_dim * mc->max_seq_len);
    t->host_lengths = g_new (int, cfg->batch_size);
    t->host_gt_cls = g_new (float, (size_t) cfg->batch_size * t->points.n_points *
                                       mc->num_classes);
    t->host_gt_offsets = g_new (float, (size_t) cfg->batch_size * t->points.n_points * 2);
    if (drop_path_draws (t) > 0)
        t->host_drop_keep = g_new (float, drop_path_draws (t));
    return g_steal_pointer (&t);
}

void
tsl_trainer_free (TslTrainer *t)
{
    if (t == NULL)
        return;
    for (int l = 0; l < TSL_ACTIONFORMER_MAX_LEVELS; l++) {
        if (t->dcls[l] != NULL)
            tsl_backend_free_memory (t->be, t->dcls[l]);
        if (t->dreg[l] != NULL)
            tsl_backend_free_memory (t->be, t->dreg[l]);
    }
    if (t->ema != NULL)
        tsl_backend_free_memory (t->be, t->ema);
    if (t->adam_m != NULL)
        tsl_backend_free_memory (t->be, t->adam_m);
    if (t->adam_v != NULL)
        tsl_backend_free_memory (t->be, t->adam_v);
    if (t->norms != NULL)
        tsl_backend_free_memory (t->be, t->norms);
    g_clear_pointer (&t->loss, tsl_train_loss_free);
    tsl_train_points_clear (&t->points);
    g_clear_pointer (&t->grads, tsl_actionformer_grads_free);
    g_clear_pointer (&t->train, tsl_actionformer_train_free);
    g_clear_pointer (&t->model, tsl_actionformer_free);
    if (t->specs != NULL)
        g_array_unref (t->specs);
    g_free (t->params);
    g_free (t->offsets);
    g_free (t->host_feats);
    g_free (t->host_lengths);
    g_free (t->host_gt_cls);
    g_free (t->host_gt_offsets);
    g_free (t->host_drop_keep);
    g_free (t->config_json);
    g_free (t);
}

int64_t
tsl_trainer_iteration (const TslTrainer *t)
{
    return t->step_count;
}

void
tsl_trainer_shuffle (TslTrainer *t, guint *order, guint n)
{
    for (guint i = 0; i < n; i++)
        order[i] = i;
    for (guint i = n; i > 1; i--) {
        guint j = (guint) tsl_train_rng_int (&t->rng, 0, i - 1);
        guint tmp = order[i - 1];
        order[i - 1] = order[j];
        order[j] = tmp;
    }
}

/* ---- one iteration ---- */


/* Crops copies of the samples, pads them and computes their targets. */
static gboolean
prepare_batch (TslTrainer *t, const TslTrainSample *const *samples, int n, GError **error)
{
    const TslActionFormerConfig *mc = &t->cfg.model;
    const size_t FT = t->points.n_points, K = mc->num_classes;
    g_autoptr (GPtrArray) cropped = g_ptr_array_new_with_free_func (
        (GDestroyNotify) tsl_train_sample_free);

    for (int b = 0; b < n; b++) {
        TslTrainSample *sample = tsl_train_sample_copy (samples[b]);
        TslCropConfig crop;

        tsl_crop_config_init (&crop, mc->max_seq_len, t->cfg.trunc_thresh, sample->feat_offset);
        crop.use_crop_ratio = t->cfg.use_crop_ratio;
        crop.crop_ratio[0] = t->cfg.crop_ratio[0];
        crop.crop_ratio[1] = t->cfg.crop_ratio[1];
        tsl_crop_sample (sample, &crop, &t->rng);
        g_ptr_array_add (cropped, sample);
    }
    if (!tsl_pad_batch ((TslTrainSample *const *) cropped->pdata, n, mc->input_dim,
                        mc->max_seq_len, t->host_feats, t->host_lengths, error))
        return FALSE;
    for (int b = 0; b < n; b++) {
        const TslTrainSample *s = g_ptr_array_index (cropped, b);
        if (!tsl_train_assign (t->host_gt_cls + b * FT * K, t->host_gt_offsets + b * FT * 2,
                               &t->points, s->segments, s->labels, s->n_segments,
                               &t->cfg.assign, error)) {
            g_prefix_error (error, "%s: ", s->video_id);
            return FALSE;
        }
    }
    return TRUE;
}

/* clip_grad_norm_: returns the total norm before clipping */
static double
clip_gradients (TslTrainer *t, double max_norm)
{
    const TslBackendOps *ops = t->be->ops;
    size_t total_floats;
    float *grads = tsl_actionformer_grads_data (t->grads, &total_floats);
    g_autofree float *sums = g_new (float, t->n_params);
    double total = 0.0;

    for (int i = 0; i < t->n_params; i++)
        ops->sum_squares (t->be, t->norms + i, grads + t->offsets[i],
                          t->offsets[i + 1] - t->offsets[i]);
    tsl_backend_download (t->be, sums, t->norms, sizeof (float) * t->n_params);
    for (int i = 0; i < t->n_params; i++) {
        float norm = sqrtf (sums[i]);
        total += (double) norm * norm;
    }
    total = (float) sqrt (total);
    if (max_norm > 0) {
        double coef = MIN (max_norm / (total + CLIP_EPS), 1.0);
        ops->scale (t->be, grads, grads, (float) coef, total_floats);
    }
    return total;
}

gboolean
tsl_trainer_step (TslTrainer *t, const TslTrainSample *const *samples, int n,
                  TslTrainerStep *result, GError **error)
{
    const TslBackendOps *ops = t->be->ops;
    const TslActionFormerConfig *mc = &t->cfg.model;
    TslActionFormerTrainOutput out;
    float *grads;

    if (n < 1 || n > t->batch_size) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE, "a batch of %d videos (1 .. %d)", n,
                     t->batch_size);
        return FALSE;
    }
    if (!prepare_batch (t, samples, n, error))
        return FALSE;
    if (t->host_drop_keep != NULL)
        tsl_train_drop_path_draw (&t->rng, mc->droppath, t->host_drop_keep,
                                  drop_path_draws (t) / t->batch_size * n);

    tsl_actionformer_grads_zero (t->grads);
    if (!tsl_actionformer_train_forward (t->train, t->host_feats, mc->max_seq_len,
                                         t->host_lengths, n, t->host_drop_keep, error))
        return FALSE;
    tsl_actionformer_train_output (t->train, &out);
    if (!tsl_train_loss_forward (t->loss, &result->loss, out.cls_logits, out.reg_offsets,
                                 t->host_lengths, t->host_gt_cls, t->host_gt_offsets, n, error))
        return FALSE;
    for (int l = 0; l < out.n_levels; l++) {
        tsl_backend_zero (t->be, t->dcls[l],
                          sizeof (float) * n * mc->num_classes * out.level_len[l]);
        tsl_backend_zero (t->be, t->dreg[l], sizeof (float) * n * 2 * out.level_len[l]);
    }
    tsl_train_loss_backward (t->loss, t->dcls, t->dreg, out.cls_logits, out.reg_offsets);
    if (!tsl_actionformer_backward (t->train, (const float *const *) t->dcls,
                                    (const float *const *) t->dreg, t->grads, error))
        return FALSE;

    result->grad_norm = clip_gradients (t, t->cfg.clip_grad_l2norm);
    result->lr = t->schedule.lr;
    grads = tsl_actionformer_grads_data (t->grads, NULL);
    t->step_count++;
    for (int i = 0; i < t->n_params; i++) {
        const TslActionFormerParamSpec *spec = param_spec (t, i);
        size_t off = t->offsets[i], numel = t->offsets[i + 1] - off;
        double decay = spec->kind == TSL_AF_PARAM_CONV_WEIGHT ? t->cfg.weight_decay : 0.0;

        ops->adamw (t->be, t->params[i], t->adam_m + off, t->adam_v + off, grads + off, numel,
                    t->schedule.lr, ADAMW_BETA1, ADAMW_BETA2, ADAMW_EPS, decay,
                    (int) t->step_count);
        ops->ema (t->be, t->ema + off, t->params[i], numel, TSL_TRAINER_EMA_DECAY);
    }
    tsl_schedule_step (&t->schedule);
    return tsl_backend_synchronize (t->be, error);
}

/* ---- checkpoints and model files ---- */

/* Host copies of the four state blocks, laid out as the device ones. */
typedef struct {
    float *param, *ema, *adam_m, *adam_v; /* [total] each */
    TslCheckpointTensor *tensors;         /* [n_params] */
} HostState;

static void
host_state_init (HostState *h, const TslTrainer *t)
{
    const size_t total = MAX (t->offsets[t->n_params], 1);

    h->param = g_new (float, total);
    h->ema = g_new (float, total);
    h->adam_m = g_new (float, total);
    h->adam_v = g_new (float, total);
    h->tensors = g_new0 (TslCheckpointTensor, t->n_params);
    for (int i = 0; i < t->n_params; i++) {
        const TslActionFormerParamSpec *spec = param_spec (t, i);
        TslCheckpointTensor *c = &h->tensors[i];
        size_t off = t->offsets[i];

        c->name = spec->name;
        c->ndim = spec->ndim;
        for (int d = 0; d < spec->ndim; d++)
            c->shape[d] = spec->shape[d];
        c->param = h->param + off;
        c->ema = h->ema + off;
        c->adam_m = h->adam_m + off;
        c->adam_v = h->adam_v + off;
    }
}

static void
host_state_clear (HostState *h)
{
    g_free (h->param);
    g_free (h->ema);
    g_free (h->adam_m);
    g_free (h->adam_v);
    g_free (h->tensors);
}

gboolean
tsl_trainer_save_checkpoint (TslTrainer *t, const char *path, int64_t epoch, GError **error)
{
    const size_t bytes = sizeof (float) * t->offsets[t->n_params];
    TslCheckpointState state = {
        .epoch = epoch,
        .iteration = t->step_count,
        .step_count = t->step_count,
        .loss_normalizer = tsl_train_loss_get_normalizer (t->loss),
        .rng = t->rng,
        .config_json = t->config_json,
    };
    HostState h;
    gboolean ok;

    host_state_init (&h, t);
    for (int i = 0; i < t->n_params; i++)
        tsl_backend_download (t->be, h.tensors[i].param, t->params[i],
                              sizeof (float) * (t->offsets[i + 1] - t->offsets[i]));
    tsl_backend_download (t->be, h.ema, t->ema, bytes);
    tsl_backend_download (t->be, h.adam_m, t->adam_m, bytes);
    tsl_backend_download (t->be, h.adam_v, t->adam_v, bytes);
    ok = tsl_backend_synchronize (t->be, error) &&
         tsl_checkpoint_save (path, &state, h.tensors, t->n_params, error);
    host_state_clear (&h);
    return ok;
}

gboolean
tsl_trainer_load_checkpoint (TslTrainer *t, const char *path, int64_t *epoch, GError **error)
{
    const size_t bytes = sizeof (float) * t->offsets[t->n_params];
    TslCheckpointState state = { 0 };
    HostState h;
    gboolean ok = FALSE;

    host_state_init (&h, t);
    if (!tsl_checkpoint_load (path, &state, h.tensors, t->n_params, error))
        goto out;
    if (g_strcmp0 (state.config_json, t->config_json) != 0) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "%s: the checkpoint was written with a different configuration", path);
        goto out;
    }
    for (int i = 0; i < t->n_params; i++)
        tsl_backend_upload (t->be, t->params[i], h.tensors[i].param,
                            sizeof (float) * (t->offsets[i + 1] - t->offsets[i]));
    tsl_backend_upload (t->be, t->ema, h.ema, bytes);
    tsl_backend_upload (t->be, t->adam_m, h.adam_m, bytes);
    tsl_backend_upload (t->be, t->adam_v, h.adam_v, bytes);
    t->step_count = state.step_count;
    t->rng = state.rng;
    tsl_train_loss_set_normalizer (t->loss, state.loss_normalizer);
    tsl_schedule_seek (&t->schedule, state.step_count);
    *epoch = state.epoch;
    ok = tsl_backend_synchronize (t->be, error);
out:
    g_free (state.config_json);
    host_state_clear (&h);
    return ok;
}

gboolean
tsl_trainer_save_model (TslTrainer *t, const char *path, const char *labels_json, GError **error)
{
    g_autoptr (TslSafetensorsWriter) w = tsl_safetensors_writer_new ();
    g_autofree float *ema = g_new (float, MAX (t->offsets[t->n_params], 1));

    tsl_backend_download (t->be, ema, t->ema, sizeof (float) * t->offsets[t->n_params]);
    if (!tsl_backend_synchronize (t->be, error))
        return FALSE;
    tsl_safetensors_writer_set_metadata (w, "tsl.model", "actionformer");
    tsl_safetensors_writer_set_metadata (w, "tsl.config", t->config_json);
    tsl_safetensors_writer_set_metadata (w, "tsl.labels", labels_json);
    for (int i = 0; i < t->n_params; i++) {
        const TslActionFormerParamSpec *spec = param_spec (t, i);
        if (!tsl_safetensors_writer_add_f32 (w, spec->name, spec->ndim, spec->shape,
                                             ema + t->offsets[i], error))
            return FALSE;
    }
    return tsl_safetensors_writer_save (w, path, error);
}
