/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * fit.c: `gst-tsl-train fit`: trains an ActionFormer model on a split of an
 * annotation file and its feature folders, as the official train.py does
 * (epochs + warmup_epochs epochs of floor (videos / batch_size) shuffled
 * batches, libtsl/train/trainer.h for each iteration).
 *
 *   fit --config CONFIG.json --annotations A.json --features DIR
 *       [--features DIR2 ...] --output RUN_DIR [--set SECTION.KEY=VALUE ...]
 *       [--resume] [--backend B] [--seed N] [--init MODEL.safetensors]
 *       [--checkpoint-every E] [--stop-after E]
 *
 * CONFIG.json holds the official sections (dataset, model, opt, loader,
 * train_cfg, test_cfg); each --set replaces one key (VALUE is JSON, or a
 * plain string when it does not parse as JSON) before the text is parsed.
 * RUN_DIR receives log.jsonl (one JSON object per epoch: mean losses,
 * learning rate, gradient norm), checkpoint.safetensors (every
 * --checkpoint-every epochs and when the run stops, written atomically) and
 * model.safetensors (the EMA weights, loadable by predict and the
 * tslactionformer element) when the run stops. --resume continues from the
 * checkpoint; --stop-after E stops once E epochs are done (the schedule
 * still spans the whole run), so that a run can be split in parts that end
 * where one uninterrupted run ends. --init starts from a model file's
 * weights (same configuration shapes) instead of random ones.
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "io/annotations.h"
#include "train/dataset.h"
#include "train/trainer.h"

#define DEFAULT_SEED 1234567891 /* the official init_rand_seed */
#define PROGRESS_WIDTH 30

typedef struct {
    char *config;
    char *annotations;
    char **features;
    char *output;
    char *init;
    char **sets;
    gboolean resume;
    char *backend;
    gint64 seed;
    int checkpoint_every;
    int stop_after;
} FitOptions;

static const char *const sections[] = {
    "dataset", "model", "opt", "loader", "train_cfg", "test_cfg",
};

/* Replaces SECTION.KEY in root (the sections' object) by VALUE. */
static gboolean
apply_set (JsonObject *root, const char *set, GError **error)
{
    const char *eq = strchr (set, '=');
    const char *dot = strchr (set, '.');
    g_autofree char *section = NULL;
    g_autofree char *key = NULL;
    JsonNode *value;
    gboolean known = FALSE;

    if (eq == NULL || dot == NULL || dot > eq || dot == set || dot + 1 == eq) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "bad --set '%s': expected SECTION.KEY=VALUE", set);
        return FALSE;
    }
    section = g_strndup (set, dot - set);
    key = g_strndup (dot + 1, eq - dot - 1);
    for (guint i = 0; i < G_N_ELEMENTS (sections); i++)
        known = known || g_str_equal (section, sections[i]);
    if (!known) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "bad --set '%s': unknown section '%s' (dataset, model, opt, loader, "
                     "train_cfg or test_cfg)", set, section);
        return FALSE;
    }
    value = json_from_string (eq + 1, NULL);
    if (value == NULL) {
        value = json_node_new (JSON_NODE_VALUE);
        json_node_set_string (value, eq + 1);
    }
    if (!json_object_has_member (root, section) ||
        !JSON_NODE_HOLDS_OBJECT (json_object_get_member (root, section)))
        json_object_set_object_member (root, section, json_object_new ());
    json_object_set_member (json_object_get_object_member (root, section), key, value);
    return TRUE;
}

/* The configuration text after every --set. */
static char *
load_config (const FitOptions *opt, GError **error)
{
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (JsonGenerator) gen = json_generator_new ();
    JsonNode *root_node;
    JsonObject *root;

    if (!json_parser_load_from_file (parser, opt->config, error)) {
        g_prefix_error (error, "%s: ", opt->config);
        return NULL;
    }
    root_node = json_parser_get_root (parser);
    if (root_node == NULL || !JSON_NODE_HOLDS_OBJECT (root_node)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: expected a JSON object",
                     opt->config);
        return NULL;
    }
    root = json_node_get_object (root_node);
    if (json_object_has_member (root, "config") &&
        JSON_NODE_HOLDS_OBJECT (json_object_get_member (root, "config")))
        root = json_object_get_object_member (root, "config");
    for (int i = 0; opt->sets != NULL && opt->sets[i] != NULL; i++)
        if (!apply_set (root, opt->sets[i], error))
            return NULL;
    json_generator_set_root (gen, root_node);
    return json_generator_to_data (gen, NULL);
}

/* JSON array of the class names in class-id order. */
static char *
labels_json (const TslAnnotations *ann, int num_classes)
{
    g_autoptr (JsonBuilder) b = json_builder_new ();
    g_autoptr (JsonGenerator) gen = json_generator_new ();

    json_builder_begin_array (b);
    for (int k = 0; k < num_classes; k++) {
        const char *name = tsl_annotations_label_name (ann, k);
        g_autofree char *fallback = g_strdup_printf ("class_%d", k);
        json_builder_add_string_value (b, name != NULL ? name : fallback);
    }
    json_builder_end_array (b);
    g_autoptr (JsonNode) root = json_builder_get_root (b);
    json_generator_set_root (gen, root);
    return json_generator_to_data (gen, NULL);
}

static void
print_progress (int epoch, int n_epochs, int done, int total, double loss, double elapsed)
{
    int filled = total > 0 ? done * PROGRESS_WIDTH / total : PROGRESS_WIDTH;
    double eta = done > 0 ? elapsed / done * (total - done) : 0.0;
    char bar[PROGRESS_WIDTH + 1];

    for (int i = 0; i < PROGRESS_WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[PROGRESS_WIDTH] = '\0';
    printf ("\repoch %d/%d [%s] %d/%d loss %.4f ETA %02d:%02d ", epoch, n_epochs, bar, done,
            total, loss, (int) eta / 60, (int) eta % 60);
    fflush (stdout);
}

typedef struct {
    double cls, reg, final, grad_norm, lr;
    int n;
} EpochSums;

static gboolean
append_log (const char *path, int64_t epoch, int64_t iteration, const EpochSums *s,
            double seconds, GError **error)
{
    FILE *f = fopen (path, "a");

    if (f == NULL) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_IO, "%s: cannot append: %s", path,
                     g_strerror (errno));
        return FALSE;
    }
    fprintf (f,
             "{\"epoch\": %" G_GINT64_FORMAT ", \"iteration\": %" G_GINT64_FORMAT
             ", \"lr\": %.17g, \"cls_loss\": %.9g, \"reg_loss\": %.9g, \"final_loss\": %.9g, "
             "\"grad_norm\": %.9g, \"seconds\": %.3f}\n",
             epoch, iteration, s->lr, s->cls / s->n, s->reg / s->n, s->final / s->n,
             s->grad_norm / s->n, seconds);
    if (fclose (f) != 0) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_IO, "%s: write failed", path);
        return FALSE;
    }
    return TRUE;
}

static gboolean
fit (const FitOptions *opt, GError **error)
{
    g_autofree char *config_json = NULL;
    g_autoptr (TslAnnotations) ann = NULL;
    g_autoptr (TslDataset) dataset = NULL;
    g_autoptr (GPtrArray) samples = g_ptr_array_new_with_free_func (
        (GDestroyNotify) tsl_train_sample_free);
    g_autoptr (TslTrainer) trainer = NULL;
    g_autoptr (TslSafetensors) initial = NULL;
    g_autofree char *labels = NULL;
    g_autofree guint *order = NULL;
    g_autofree char *log_path = g_build_filename (opt->output, "log.jsonl", NULL);
    g_autofree char *ckpt_path = g_build_filename (opt->output, "checkpoint.safetensors", NULL);
    g_autofree char *model_path = g_build_filename (opt->output, "model.safetensors", NULL);
    TslTrainerConfig cfg = { 0 };
    TslDatasetConfig dcfg;
    TslBackend *be = NULL;
    const gboolean tty = isatty (fileno (stdout));
    int64_t epoch = 0, iters_per_epoch;
    int n_epochs;
    gboolean ok = FALSE;

    config_json = load_config (opt, error);
    if (config_json == NULL || !tsl_trainer_config_parse (&cfg, config_json, error))
        return FALSE;
    ann = tsl_annotations_load (opt->annotations, error);
    if (ann == NULL)
        goto out;
    dcfg = (TslDatasetConfig) {
        .split = cfg.train_split,
        .folders = (const char *const *) opt->features,
        .input_dim = cfg.model.input_dim,
        .feat_stride = cfg.model.feat_stride,
        .num_frames = cfg.model.num_frames,
        .default_fps = cfg.model.default_fps,
        .downsample_rate = cfg.downsample_rate,
        .max_seq_len = cfg.model.max_seq_len,
        .force_upsampling = cfg.force_upsampling,
    };
    dataset = tsl_dataset_new (ann, &dcfg, error);
    if (dataset == NULL)
        goto out;
    for (guint i = 0; i < tsl_dataset_size (dataset); i++) {
        TslTrainSample *sample = tsl_dataset_load (dataset, i, error);
        if (sample == NULL)
            goto out;
        g_ptr_array_add (samples, sample);
    }
    iters_per_epoch = samples->len / cfg.batch_size;
    if (iters_per_epoch < 1) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "%u videos in split '%s' make no batch of loader.batch_size %d",
                     samples->len, cfg.train_split, cfg.batch_size);
        goto out;
    }
    n_epochs = cfg.epochs + cfg.warmup_epochs;
    labels = labels_json (ann, cfg.model.num_classes);

    if (g_mkdir_with_parents (opt->output, 0755) != 0) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_IO, "%s: cannot create: %s", opt->output,
                     g_strerror (errno));
        goto out;
    }
    be = tsl_backend_new (opt->backend, error);
    if (be == NULL)
        goto out;
    if (opt->init != NULL) {
        initial = tsl_safetensors_open (opt->init, error);
        if (initial == NULL)
            goto out;
    }
    trainer = tsl_trainer_new (be, &cfg, config_json, initial, iters_per_epoch,
                               (guint64) opt->seed, error);
    if (trainer == NULL)
        goto out;
    if (opt->resume) {
        if (!tsl_trainer_load_checkpoint (trainer, ckpt_path, &epoch, error))
            goto out;
        printf ("resuming %s after epoch %" G_GINT64_FORMAT "\n", ckpt_path, epoch);
    } else if (g_file_test (log_path, G_FILE_TEST_EXISTS) && g_unlink (log_path) != 0) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_IO, "%s: cannot replace", log_path);
        goto out;
    }

    order = g_new (guint, samples->len);
    while (epoch < n_epochs && (opt->stop_after <= 0 || epoch < opt->stop_after)) {
        EpochSums sums = { 0 };
        gint64 start = g_get_monotonic_time ();
        double seconds;

        tsl_trainer_shuffle (trainer, order, samples->len);
        for (int64_t it = 0; it < iters_per_epoch; it++) {
            const TslTrainSample *batch[cfg.batch_size];
            TslTrainerStep step;

            for (int b = 0; b < cfg.batch_size; b++)
                batch[b] = g_ptr_array_index (samples, order[it * cfg.batch_size + b]);
            if (!tsl_trainer_step (trainer, batch, cfg.batch_size, &step, error))
                goto out;
            sums.cls += step.loss.cls_loss;
            sums.reg += step.loss.reg_loss;
            sums.final += step.loss.final_loss;
            sums.grad_norm += step.grad_norm;
            sums.lr = step.lr;
            sums.n++;
            if (tty)
                print_progress ((int) epoch + 1, n_epochs, (int) it + 1, (int) iters_per_epoch,
                                sums.final / sums.n,
                                (g_get_monotonic_time () - start) / 1e6);
        }
        epoch++;
        seconds = (g_get_monotonic_time () - start) / 1e6;
        printf ("%sepoch %" G_GINT64_FORMAT "/%d: loss %.4f (cls %.4f, reg %.4f), lr %.3g, "
                "%.1f s\n", tty ? "\r\033[K" : "", epoch, n_epochs, sums.final / sums.n,
                sums.cls / sums.n, sums.reg / sums.n, sums.lr, seconds);
        fflush (stdout);
        if (!append_log (log_path, epoch, tsl_trainer_iteration (trainer), &sums, seconds,
                         error))
            goto out;
        if (epoch % opt->checkpoint_every == 0 &&
            !tsl_trainer_save_checkpoint (trainer, ckpt_path, epoch, error))
            goto out;
    }
    if (!tsl_trainer_save_checkpoint (trainer, ckpt_path, epoch, error) ||
        !tsl_trainer_save_model (trainer, model_path, labels, error))
        goto out;
    printf ("%" G_GINT64_FORMAT " epochs done: %s\n", epoch, model_path);
    ok = TRUE;
out:
    g_clear_pointer (&trainer, tsl_trainer_free);
    tsl_backend_free (be);
    tsl_trainer_config_clear (&cfg);
    return ok;
}

int
tsl_train_command_fit (int argc, char **argv)
{
    FitOptions opt = { .seed = DEFAULT_SEED, .checkpoint_every = 1 };
    const GOptionEntry entries[] = {
        { "config", 'c', 0, G_OPTION_ARG_FILENAME, &opt.config,
          "configuration with the official sections", "CONFIG.json" },
        { "annotations", 'a', 0, G_OPTION_ARG_FILENAME, &opt.annotations,
          "ground truth (Perception Test or ActivityNet style)", "A.json" },
        { "features", 'f', 0, G_OPTION_ARG_FILENAME_ARRAY, &opt.features,
          "folder of VIDEO_ID.npy features [T, C] (repeat to concatenate channels)", "DIR" },
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt.output,
          "run folder: log.jsonl, checkpoint.safetensors, model.safetensors", "RUN_DIR" },
        { "init", 0, 0, G_OPTION_ARG_FILENAME, &opt.init,
          "start from this model file's weights instead of random ones", "MODEL.safetensors" },
        { "set", 's', 0, G_OPTION_ARG_STRING_ARRAY, &opt.sets,
          "replace one configuration key (VALUE is JSON or a string)", "SECTION.KEY=VALUE" },
        { "resume", 'r', 0, G_OPTION_ARG_NONE, &opt.resume,
          "continue from RUN_DIR/checkpoint.safetensors", NULL },
        { "backend", 'b', 0, G_OPTION_ARG_STRING, &opt.backend, "auto (default), cpu or cuda",
          "NAME" },
        { "seed", 0, 0, G_OPTION_ARG_INT64, &opt.seed,
          "seed of the initial weights, shuffling and crops (default 1234567891)", "N" },
        { "checkpoint-every", 0, 0, G_OPTION_ARG_INT, &opt.checkpoint_every,
          "write the checkpoint every E epochs (default 1)", "E" },
        { "stop-after", 0, 0, G_OPTION_ARG_INT, &opt.stop_after,
          "stop once E epochs are done (the schedule still spans the whole run)", "E" },
        { NULL },
    };
    g_autoptr (GOptionContext) ctx = g_option_context_new ("- train an ActionFormer model");
    g_autoptr (GError) error = NULL;
    int status = 1;

    g_option_context_add_main_entries (ctx, entries, NULL);
    if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
        fprintf (stderr, "gst-tsl-train fit: %s\n", error->message);
        status = 2;
    } else if (opt.config == NULL || opt.annotations == NULL || opt.features == NULL ||
               opt.output == NULL || argc > 1) {
        fprintf (stderr, "gst-tsl-train fit: --config, --annotations, --features and --output "
                         "are required (see --help)\n");
        status = 2;
    } else if (opt.checkpoint_every < 1) {
        fprintf (stderr, "gst-tsl-train fit: --checkpoint-every must be at least 1\n");
        status = 2;
    } else if (!fit (&opt, &error)) {
        fprintf (stderr, "gst-tsl-train fit: %s\n", error->message);
    } else {
        status = 0;
    }
    g_free (opt.config);
    g_free (opt.annotations);
    g_strfreev (opt.features);
    g_free (opt.output);
    g_free (opt.init);
    g_strfreev (opt.sets);
    g_free (opt.backend);
    return status;
}
