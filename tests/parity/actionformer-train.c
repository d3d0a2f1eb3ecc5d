/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Parity of ActionFormer's train forward and backward
 * (libtsl/models/actionformer/train.h) with PyTorch autograd:
 *
 * - fixtures made by tools/make-actionformer-grad-fixture.py (shipped in
 *   tests/data, run everywhere): small models, two videos (one padded),
 *   loss = sum(cls_logits * R1) + sum(reg_offsets * R2), so the upstream
 *   gradients are R1 and R2; every parameter gradient is compared. The
 *   "global" one has global attention on two levels and drops residual
 *   branches by a fixed drop-path keep pattern;
 * - finite differences of that loss through the C forward itself, on the
 *   "global" fixture (global attention, drop path with its keep pattern):
 *   the backward is the derivative of the forward we run, not only of the
 *   reference's;
 * - the official implementation's step-1 gradients (cases AF3 and AF3b of
 *   the golden folder, TSL_GOLDEN_DIR, default <source>/../shared/golden;
 *   skipped when absent). The upstream gradients are made from the golden
 *   outputs and targets with the op table's focal and DIoU loss backward,
 *   as the official `losses` does (valid points, positive points, divided
 *   by the stored normaliser); the loss values are checked too.
 *
 * Then the refusals: over-long videos, oversized batches, backward before
 * a forward.
 *
 * Outputs are compared at every position (1e-4 absolute). Gradients are
 * compared per tensor by max |got - want| / max |want|, printed for every
 * tensor; the key-bias gradients, which are zero in exact arithmetic, get
 * an absolute bound instead.
 *
 * The backend is TSL_TEST_BACKEND (default "cpu").
 */
#include <math.h>
#include <string.h>

#include "testutil.h"
#include "io/safetensors.h"
#include "ops.h"
#include "models/actionformer/train.h"

#define FIXTURE_FILE "actionformer-grad-fixture.safetensors"
#define FIXTURE_NONORM_FILE "actionformer-grad-fixture-nonorm.safetensors"
#define FIXTURE_GLOBAL_FILE "actionformer-grad-fixture-global.safetensors"
#define FIXTURE_VERSION "1"
#define FIXTURE_SCRIPT "tools/make-actionformer-grad-fixture.py"

/* float32 against float32 with other summation orders (README: forward
 * spread 7e-6 against float64) */
#define OUTPUT_ATOL 1e-4
/* gradients, max |got - want| / max |want| per tensor: float32 with other
 * summation orders measures <= 4e-6; every wrong term tried was >= 1e-2 */
#define GRAD_RTOL 1e-4
/* key biases: zero in exact arithmetic, stored values are noise (~1e-10) */
#define KEY_BIAS_ATOL 1e-6
/* finite differences of the float32 forward: |num - ana| <= FD_LOSS_NOISE /
 * eps + FD_RTOL max |ana| per tensor. The loss (~18, double sum of float32
 * outputs) jitters by ~4e-6 between nearby parameter values, ~2e-6 / eps
 * after the division (measured 3e-3 at eps 1e-3, 4e-2 at 1e-4); a
 * drop-path factor left out of the backward moves gradients by >= 10% */
#define FD_LOSS_NOISE 1e-5
#define FD_RTOL 1e-2

static char *
golden_dir (void)
{
    const char *env = g_getenv ("TSL_GOLDEN_DIR");

    if (env != NULL)
        return g_build_filename (env, "actionformer", NULL);
    /* <source>/tests/data -> <source>/../shared/golden */
    return g_build_filename (g_getenv ("TSL_TEST_DATA"), "..", "..", "..", "shared", "golden",
                             "actionformer", NULL);
}

/* Tensor `name` of st as n floats (g_free). */
static float *
read_tensor (const TslSafetensors *st, const char *name, size_t n)
{
    const TslSafetensorsEntry *entry = tsl_safetensors_find (st, name);
    g_autoptr (GError) error = NULL;
    float *x;

    if (entry == NULL)
        g_error ("%s: no tensor %s", tsl_safetensors_path (st), name);
    g_assert_cmpuint (tsl_safetensors_entry_numel (entry), ==, n);
    x = g_new (float, MAX (n, 1));
    tsl_safetensors_read_f32 (st, name, x, n, &error);
    g_assert_no_error (error);
    return x;
}

static double
read_scalar (const TslSafetensors *st, const char *name)
{
    g_autofree float *x = read_tensor (st, name, 1);
    return x[0];
}

static float *
device_copy (TslBackend *be, const float *host, size_t n)
{
    g_autoptr (GError) error = NULL;
    float *d = tsl_backend_alloc (be, sizeof (float) * MAX (n, 1), &error);

    g_assert_no_error (error);
    tsl_backend_upload (be, d, host, sizeof (float) * n);
    return d;
}

static float *
host_copy (TslBackend *be, const float *device, size_t n)
{
    float *h = g_new (float, MAX (n, 1));

    tsl_backend_download (be, h, device, sizeof (float) * n);
    return h;
}

/* Upstream gradients of the per-level outputs, device [B, K, T_L] / [B, 2, T_L]. */
typedef struct {
    int n_levels;
    float *dcls[TSL_ACTIONFORMER_MAX_LEVELS];
    float *dreg[TSL_ACTIONFORMER_MAX_LEVELS];
} Upstream;

static void
upstream_clear (TslBackend *be, Upstream *up)
{
    for (int level = 0; level < up->n_levels; level++) {
        tsl_backend_free_memory (be, up->dcls[level]);
        tsl_backend_free_memory (be, up->dreg[level]);
    }
}

/* Compares the train forward's outputs with ref's `cls_logits.L` and `reg_offsets.L`. */
static void
check_outputs (TslBackend *be, const TslActionFormerTrainOutput *out, int K,
               const TslSafetensors *ref)
{
    for (int level = 0; level < out->n_levels; level++) {
        const size_t T = out->level_len[level], B = out->batch;
        g_autofree char *cls_name = g_strdup_printf ("cls_logits.%d", level);
        g_autofree char *reg_name = g_strdup_printf ("reg_offsets.%d", level);
        g_autofree float *cls = host_copy (be, out->cls_logits[level], B * K * T);
        g_autofree float *reg = host_copy (be, out->reg_offsets[level], B * 2 * T);
        g_autofree float *cls_want = read_tensor (ref, cls_name, B * K * T);
        g_autofree float *reg_want = read_tensor (ref, reg_name, B * 2 * T);
        tsl_test_check_close_f (cls_name, cls, cls_want, B * K * T, OUTPUT_ATOL, 0.0);
        tsl_test_check_close_f (reg_name, reg, reg_want, B * 2 * T, OUTPUT_ATOL, 0.0);
    }
}

/* Runs backward with `up` and compares every gradient with ref's
 * `prefix``name`; returns the largest relative error. */
static double
check_grads (TslBackend *be, TslActionFormerTrain *train, TslActionFormerGrads *grads,
             const Upstream *up, const TslSafetensors *ref, const char *prefix, int n_expected)
{
    g_autoptr (GError) error = NULL;
    double worst = 0.0;
    int n = tsl_actionformer_grads_count (grads);

    tsl_actionformer_grads_zero (grads);
    tsl_actionformer_backward (train, (const float *const *) up->dcls,
                               (const float *const *) up->dreg, grads, &error);
    g_assert_no_error (error);
    g_assert_cmpint (n, ==, n_expected);
    for (int i = 0; i < n; i++) {
        const char *name = tsl_actionformer_grads_name (grads, i);
        const TslTensor *t = tsl_actionformer_grads_tensor (grads, i);
        const size_t numel = tsl_tensor_numel (t);
        g_autofree char *ref_name = g_strconcat (prefix, name, NULL);
        g_autofree float *got = host_copy (be, t->data, numel);
        g_autofree float *want = read_tensor (ref, ref_name, numel);
        gboolean key_bias = g_str_has_suffix (name, "attn.key.bias") ||
                            g_str_has_suffix (name, "attn.key_norm.bias");
        double max_diff = 0.0, max_ref = 0.0, rel;

        for (size_t j = 0; j < numel; j++) {
            max_diff = MAX (max_diff, fabs ((double) got[j] - want[j]));
            max_ref = MAX (max_ref, fabs ((double) want[j]));
        }
        rel = max_ref > 0.0 ? max_diff / max_ref : max_diff;
        g_test_message ("%-50s max abs %.3g  rel to max %.3g%s", name, max_diff, rel,
                        key_bias ? " (key bias: absolute)" : "");
        if (key_bias) {
            if (max_diff > KEY_BIAS_ATOL) {
                g_test_message ("%s: |grad| %.3g > %.3g", name, max_diff, KEY_BIAS_ATOL);
                g_test_fail ();
            }
            continue;
        }
        worst = MAX (worst, rel);
        if (!(rel <= GRAD_RTOL)) {
            g_test_message ("%s: relative gradient error %.3g > %.3g", name, rel, GRAD_RTOL);
            g_test_fail ();
        }
    }
    g_test_message ("largest relative gradient error %.3g", worst);
    return worst;
}

/* A second backward without zeroing must double every gradient (the
 * accumulate rule that lets a caller sum several batches). */
static void
check_accumulation (TslBackend *be, TslActionFormerTrain *train, TslActionFormerGrads *grads,
                    const Upstream *up)
{
    g_autoptr (GError) error = NULL;
    size_t n;
    float *data = tsl_actionformer_grads_data (grads, &n);
    g_autofree float *once = host_copy (be, data, n);
    g_autofree float *twice = NULL;
    g_autofree double *want = g_new (double, n);

    tsl_actionformer_backward (train, (const float *const *) up->dcls,
                               (const float *const *) up->dreg, grads, &error);
    g_assert_no_error (error);
    twice = host_copy (be, data, n);
    for (size_t i = 0; i < n; i++)
        want[i] = 2.0 * once[i];
    tsl_test_check_close ("accumulated gradients", twice, want, n, 1e-6, 1e-5);
}

/* ---- the autograd fixtures ---- */

static TslSafetensors *
open_fixture (const char *file)
{
    g_autofree char *path = g_build_filename (g_getenv ("TSL_TEST_DATA"), file, NULL);
    g_autoptr (GError) error = NULL;
    TslSafetensors *st = tsl_safetensors_open (path, &error);
    const char *version;

    g_assert_no_error (error);
    version = tsl_safetensors_get_metadata (st, "fixture.version");
    if (g_strcmp0 (version, FIXTURE_VERSION) != 0)
        g_error ("%s: fixture version %s, expected %s: rerun %s", path, version ? version : "none",
                 FIXTURE_VERSION, FIXTURE_SCRIPT);
    return st;
}

/* The fixture's drop-path keep pattern [n_blocks, 2, B], or NULL (g_free). */
static float *
read_drop_keep (const TslSafetensors *st, const TslActionFormerConfig *cfg, int B)
{
    if (tsl_safetensors_find (st, "drop_path.keep") == NULL)
        return NULL;
    return read_tensor (st, "drop_path.keep",
                        (size_t) 2 * (cfg->n_stem_blocks + cfg->n_branch_blocks) * B);
}

static void
test_fixture (gconstpointer data)
{
    const char *file = data;
    g_autoptr (GError) error = NULL;
    TslActionFormerTrainOutput out;
    Upstream up = { 0 };

    g_autoptr (TslSafetensors) st = open_fixture (file);

    TslBackend *be = tsl_test_backend ();
    g_autoptr (TslActionFormer) m = tsl_actionformer_new (be, st, &error);
    g_assert_no_error (error);
    const TslActionFormerConfig *cfg = tsl_actionformer_get_config (m);
    const int B = 2, C = cfg->input_dim, T = cfg->max_seq_len, K = cfg->num_classes;
    g_autofree float *feats = read_tensor (st, "feats", (size_t) B * C * T);
    g_autofree float *lengths_f = read_tensor (st, "lengths", B);
    int lengths[2] = { (int) lengths_f[0], (int) lengths_f[1] };
    g_autofree float *keep = read_drop_keep (st, cfg, B);
    int n_params = 0;

    g_assert_cmpint (lengths[0], <, T); /* one padded video */
    g_autoptr (TslActionFormerTrain) train = tsl_actionformer_train_new (m, B, &error);
    g_assert_no_error (error);
    tsl_actionformer_train_forward (train, feats, T, lengths, B, keep, &error);
    g_assert_no_error (error);
    tsl_actionformer_train_output (train, &out);
    check_outputs (be, &out, K, st);

    up.n_levels = out.n_levels;
    for (int level = 0; level < out.n_levels; level++) {
        const size_t T_L = out.level_len[level];
        g_autofree char *cls_name = g_strdup_printf ("upstream.cls_logits.%d", level);
        g_autofree char *reg_name = g_strdup_printf ("upstream.reg_offsets.%d", level);
        g_autofree float *dcls = read_tensor (st, cls_name, B * K * T_L);
        g_autofree float *dreg = read_tensor (st, reg_name, B * 2 * T_L);
        up.dcls[level] = device_copy (be, dcls, B * K * T_L);
        up.dreg[level] = device_copy (be, dreg, B * 2 * T_L);
    }
    for (guint i = 0; i < tsl_safetensors_n_entries (st); i++)
        n_params += g_str_has_prefix (tsl_safetensors_nth (st, i)->name, "grad.");
    g_autoptr (TslActionFormerGrads) grads = tsl_actionformer_grads_new (m, &error);
    g_assert_no_error (error);
    check_grads (be, train, grads, &up, st, "grad.", n_params);
    /* backward accumulates: a second pass without zeroing doubles every gradient */
    check_accumulation (be, train, grads, &up);

    upstream_clear (be, &up);
    g_clear_pointer (&grads, tsl_actionformer_grads_free);
    g_clear_pointer (&train, tsl_actionformer_train_free);
    g_clear_pointer (&m, tsl_actionformer_free);
    tsl_backend_free (be);
}

/* ---- finite differences through the C forward ---- */

/* loss = sum(cls_logits * R1) + sum(reg_offsets * R2) of one train forward
 * with the parameter tensor `param` (device) set from `host` first. */
typedef struct {
    TslBackend *be;
    TslActionFormerTrain *train;
    const float *feats;
    int T, B, K;
    const int *lengths;
    const float *keep;
    float *param;        /* [n] device */
    const float *host;   /* [n] the values to run with */
    size_t n;
    float *r1[TSL_ACTIONFORMER_MAX_LEVELS], *r2[TSL_ACTIONFORMER_MAX_LEVELS]; /* host */
} FdContext;

static double
fd_loss (void *data)
{
    FdContext *c = data;
    g_autoptr (GError) error = NULL;
    TslActionFormerTrainOutput out;
    double loss = 0.0;

    tsl_backend_upload (c->be, c->param, c->host, sizeof (float) * c->n);
    tsl_actionformer_train_forward (c->train, c->feats, c->T, c->lengths, c->B, c->keep, &error);
    g_assert_no_error (error);
    tsl_actionformer_train_output (c->train, &out);
    for (int level = 0; level < out.n_levels; level++) {
        const size_t n_cls = (size_t) c->B * c->K * out.level_len[level];
        const size_t n_reg = (size_t) c->B * 2 * out.level_len[level];
        g_autofree float *cls = host_copy (c->be, out.cls_logits[level], n_cls);
        g_autofree float *reg = host_copy (c->be, out.reg_offsets[level], n_reg);
        for (size_t i = 0; i < n_cls; i++)
            loss += (double) cls[i] * c->r1[level][i];
        for (size_t i = 0; i < n_reg; i++)
            loss += (double) reg[i] * c->r2[level][i];
    }
    return loss;
}

/* The parameters checked: the q, k, v paths of both global-attention
 * levels, drop-path scales of dropped and kept branches, and tensors
 * before them whose gradient flows through everything. eps: tensors before
 * max-pools and ReLUs need the small one (the float64 reference differs
 * from its own derivative by 1e-1 at eps 1e-3 there, by 1e-6 at 1e-4). */
static const struct {
    const char *name;
    float eps;
} fd_params[] = {
    { "backbone.stem.0.attn.query.weight", 1e-3f },
    { "backbone.stem.1.attn.key.weight", 1e-3f },
    { "backbone.stem.0.attn.value.weight", 1e-3f },
    { "backbone.stem.0.attn.value_conv.conv.weight", 1e-4f },
    { "backbone.branch.1.attn.query.weight", 1e-3f },
    { "backbone.branch.1.attn.value.weight", 1e-3f },
    { "backbone.stem.1.drop_path_attn.scale", 1e-3f },
    { "backbone.stem.0.drop_path_mlp.scale", 1e-3f },
    { "backbone.branch.1.drop_path_mlp.scale", 1e-3f },
    { "backbone.embd.0.conv.weight", 1e-4f },
};

static void
test_finite_differences (void)
{
    g_autoptr (GError) error = NULL;
    TslActionFormerTrainOutput out;
    Upstream up = { 0 };
    FdContext c = { 0 };
    int n_params;

    g_autoptr (TslSafetensors) st = open_fixture (FIXTURE_GLOBAL_FILE);
    TslBackend *be = tsl_test_backend ();
    g_autoptr (TslActionFormer) m = tsl_actionformer_new (be, st, &error);
    g_assert_no_error (error);
    const TslActionFormerConfig *cfg = tsl_actionformer_get_config (m);
    const int B = 2, C = cfg->input_dim, T = cfg->max_seq_len, K = cfg->num_classes;
    g_autofree float *feats = read_tensor (st, "feats", (size_t) B * C * T);
    g_autofree float *lengths_f = read_tensor (st, "lengths", B);
    int lengths[2] = { (int) lengths_f[0], (int) lengths_f[1] };
    g_autofree float *keep = read_drop_keep (st, cfg, B);
    g_autofree float **params = tsl_actionformer_param_data (m, &n_params);

    g_assert_nonnull (keep);
    g_autoptr (TslActionFormerTrain) train = tsl_actionformer_train_new (m, B, &error);
    g_assert_no_error (error);
    g_autoptr (TslActionFormerGrads) grads = tsl_actionformer_grads_new (m, &error);
    g_assert_no_error (error);
    c = (FdContext) { be, train, feats, T, B, K, lengths, keep };
    tsl_actionformer_train_forward (train, feats, T, lengths, B, keep, &error);
    g_assert_no_error (error);
    tsl_actionformer_train_output (train, &out);
    up.n_levels = out.n_levels;
    for (int level = 0; level < out.n_levels; level++) {
        const size_t T_L = out.level_len[level];
        g_autofree char *cls_name = g_strdup_printf ("upstream.cls_logits.%d", level);
        g_autofree char *reg_name = g_strdup_printf ("upstream.reg_offsets.%d", level);
        c.r1[level] = read_tensor (st, cls_name, B * K * T_L);
        c.r2[level] = read_tensor (st, reg_name, B * 2 * T_L);
        up.dcls[level] = device_copy (be, c.r1[level], B * K * T_L);
        up.dreg[level] = device_copy (be, c.r2[level], B * 2 * T_L);
    }
    tsl_actionformer_backward (train, (const float *const *) up.dcls,
                               (const float *const *) up.dreg, grads, &error);
    g_assert_no_error (error);

    for (guint i = 0; i < G_N_ELEMENTS (fd_params); i++) {
        const int index = tsl_actionformer_grads_find (grads, fd_params[i].name);
        g_assert_cmpint (index, >=, 0);
        const TslTensor *g = tsl_actionformer_grads_tensor (grads, index);
        const size_t n = tsl_tensor_numel (g);
        g_autofree float *analytic = host_copy (be, g->data, n);
        g_autofree float *x = host_copy (be, params[index], n);

        c.param = params[index];
        c.host = x;
        c.n = n;
        tsl_test_check_gradient (fd_params[i].name, fd_loss, &c, x, analytic, n, 12,
                                 fd_params[i].eps, FD_LOSS_NOISE / fd_params[i].eps, FD_RTOL);
        tsl_backend_upload (be, params[index], x, sizeof (float) * n);
    }
    for (int level = 0; level < out.n_levels; level++) {
        g_free (c.r1[level]);
        g_free (c.r2[level]);
    }
    upstream_clear (be, &up);
    g_clear_pointer (&grads, tsl_actionformer_grads_free);
    g_clear_pointer (&train, tsl_actionformer_train_free);
    g_clear_pointer (&m, tsl_actionformer_free);
    tsl_backend_free (be);
}

/* ---- the official step-1 gradients (AF3, AF3b) ---- */

/* The upstream gradients of the official losses, from the golden outputs
 * and targets of `ref` (points of all levels concatenated, level 0 first). */
static void
official_upstream (TslBackend *be, const TslSafetensors *ref, const int *level_len, int n_levels,
                   int B, int K, Upstream *up)
{
    const TslBackendOps *ops = be->ops;
    int FT = 0;

    for (int level = 0; level < n_levels; level++)
        FT += level_len[level];
    const size_t N = (size_t) B * FT;
    g_autofree float *logits = g_new (float, N * K);
    g_autofree float *pred = g_new (float, N * 2);
    g_autofree float *targets = read_tensor (ref, "gt_cls", N * K);
    g_autofree float *offsets = read_tensor (ref, "gt_offsets", N * 2);
    g_autofree float *valid = read_tensor (ref, "valid_mask", N);
    g_autofree float *positive = g_new (float, N);
    const double normaliser = read_scalar (ref, "loss_normalizer");
    float loss_host;

    /* [B, K, T_L] per level -> [B, FT, K] */
    for (int level = 0, start = 0; level < n_levels; start += level_len[level], level++) {
        const int T = level_len[level];
        g_autofree char *cls_name = g_strdup_printf ("cls_logits.%d", level);
        g_autofree char *reg_name = g_strdup_printf ("reg_offsets.%d", level);
        g_autofree float *cls = read_tensor (ref, cls_name, (size_t) B * K * T);
        g_autofree float *reg = read_tensor (ref, reg_name, (size_t) B * 2 * T);
        for (int b = 0; b < B; b++)
            for (int i = 0; i < T; i++) {
                const size_t row = (size_t) b * FT + start + i;
                for (int k = 0; k < K; k++)
                    logits[row * K + k] = cls[((size_t) b * K + k) * T + i];
                for (int s = 0; s < 2; s++)
                    pred[row * 2 + s] = reg[((size_t) b * 2 + s) * T + i];
            }
    }
    for (size_t row = 0; row < N; row++) {
        float any = 0.0f;
        for (int k = 0; k < K; k++)
            any += targets[row * K + k];
        positive[row] = valid[row] > 0.0f && any > 0.0f ? 1.0f : 0.0f;
    }

    float *d_logits = device_copy (be, logits, N * K);
    float *d_targets = device_copy (be, targets, N * K);
    float *d_valid = device_copy (be, valid, N), *d_positive = device_copy (be, positive, N);
    float *d_pred = device_copy (be, pred, N * 2), *d_offsets = device_copy (be, offsets, N * 2);
    float *d_loss = device_copy (be, &loss_host, 1);
    float *d_dlogits = device_copy (be, logits, N * K), *d_dpred = device_copy (be, pred, N * 2);

    /* the loss values first: they validate the inputs of the gradients */
    ops->focal_loss (be, d_loss, d_logits, d_targets, d_valid, (int) N, K, 0.25f, 2.0f);
    tsl_backend_download (be, &loss_host, d_loss, sizeof (float));
    g_test_message ("cls_loss %.8g (official %.8g)", loss_host / normaliser,
                    read_scalar (ref, "cls_loss"));
    g_assert_cmpfloat_with_epsilon (loss_host / normaliser, read_scalar (ref, "cls_loss"), 1e-5);
    ops->diou_loss (be, d_loss, d_pred, d_offsets, d_positive, (int) N, 1e-8f);
    tsl_backend_download (be, &loss_host, d_loss, sizeof (float));
    g_test_message ("reg_loss %.8g (official %.8g)", loss_host / normaliser,
                    read_scalar (ref, "reg_loss"));
    g_assert_cmpfloat_with_epsilon (loss_host / normaliser, read_scalar (ref, "reg_loss"), 1e-5);

    ops->zero (be, d_dlogits, sizeof (float) * N * K);
    ops->focal_loss_backward (be, d_dlogits, d_logits, d_targets, d_valid, (int) N, K, 0.25f, 2.0f,
                              (float) (1.0 / normaliser));
    ops->zero (be, d_dpred, sizeof (float) * N * 2);
    ops->diou_loss_backward (be, d_dpred, d_pred, d_offsets, d_positive, (int) N, 1e-8f,
                             (float) (1.0 / normaliser));
    tsl_backend_download (be, logits, d_dlogits, sizeof (float) * N * K);
    tsl_backend_download (be, pred, d_dpred, sizeof (float) * N * 2);

    /* [B, FT, K] -> [B, K, T_L] per level */
    up->n_levels = n_levels;
    for (int level = 0, start = 0; level < n_levels; start += level_len[level], level++) {
        const int T = level_len[level];
        g_autofree float *dcls = g_new (float, (size_t) B * K * T);
        g_autofree float *dreg = g_new (float, (size_t) B * 2 * T);
        for (int b = 0; b < B; b++)
            for (int i = 0; i < T; i++) {
                const size_t row = (size_t) b * FT + start + i;
                for (int k = 0; k < K; k++)
                    dcls[((size_t) b * K + k) * T + i] = logits[row * K + k];
                for (int s = 0; s < 2; s++)
                    dreg[((size_t) b * 2 + s) * T + i] = pred[row * 2 + s];
            }
        up->dcls[level] = device_copy (be, dcls, (size_t) B * K * T);
        up->dreg[level] = device_copy (be, dreg, (size_t) B * 2 * T);
    }
    float *to_free[] = { d_logits, d_targets, d_valid, d_positive, d_pred, d_offsets, d_loss,
                         d_dlogits, d_dpred };
    for (guint i = 0; i < G_N_ELEMENTS (to_free); i++)
        tsl_backend_free_memory (be, to_free[i]);
}

static void
test_golden (gconstpointer data)
{
    const char *case_file = data; /* af3_train or af3b_extra */
    g_autofree char *dir = golden_dir ();
    g_autofree char *config_path = g_build_filename (dir, "af1_config.json", NULL);
    g_autofree char *params_path = g_build_filename (dir, "af1_params.safetensors", NULL);
    g_autofree char *feats_path = g_build_filename (dir, "af3_train.safetensors", NULL);
    g_autofree char *case_name = g_strconcat (case_file, ".safetensors", NULL);
    g_autofree char *case_path = g_build_filename (dir, case_name, NULL);
    g_autoptr (GError) error = NULL;
    g_autofree char *json = NULL;
    TslActionFormerConfig config;
    TslActionFormerTrainOutput out;
    Upstream up = { 0 };

    if (!g_file_test (case_path, G_FILE_TEST_EXISTS)) {
        g_test_skip ("ActionFormer golden data absent (set TSL_GOLDEN_DIR)");
        return;
    }
    g_file_get_contents (config_path, &json, NULL, &error);
    g_assert_no_error (error);
    tsl_actionformer_config_parse (&config, json, -1, &error);
    g_assert_no_error (error);
    g_autoptr (TslSafetensors) params = tsl_safetensors_open (params_path, &error);
    g_assert_no_error (error);
    g_autoptr (TslSafetensors) feats_file = tsl_safetensors_open (feats_path, &error);
    g_assert_no_error (error);
    g_autoptr (TslSafetensors) ref = tsl_safetensors_open (case_path, &error);
    g_assert_no_error (error);

    TslBackend *be = tsl_test_backend ();
    g_autoptr (TslActionFormer) m = tsl_actionformer_new_with_config (be, params, &config, &error);
    g_assert_no_error (error);
    const int B = 2, C = config.input_dim, T = config.max_seq_len, K = config.num_classes;
    g_autofree float *feats = read_tensor (feats_file, "feats", (size_t) B * C * T);
    g_autofree float *lengths_f = read_tensor (ref, "lengths", B);
    int lengths[2] = { (int) lengths_f[0], (int) lengths_f[1] };

    g_autoptr (TslActionFormerTrain) train = tsl_actionformer_train_new (m, B, &error);
    g_assert_no_error (error);
    tsl_actionformer_train_forward (train, feats, T, lengths, B, NULL, &error);
    g_assert_no_error (error);
    tsl_actionformer_train_output (train, &out);
    check_outputs (be, &out, K, ref);

    official_upstream (be, ref, out.level_len, out.n_levels, B, K, &up);
    g_autoptr (TslActionFormerGrads) grads = tsl_actionformer_grads_new (m, &error);
    g_assert_no_error (error);
    check_grads (be, train, grads, &up, ref, "grad.", 229);

    upstream_clear (be, &up);
    g_clear_pointer (&grads, tsl_actionformer_grads_free);
    g_clear_pointer (&train, tsl_actionformer_train_free);
    g_clear_pointer (&m, tsl_actionformer_free);
    tsl_backend_free (be);
}

/* ---- errors ---- */

/* Lengths beyond max_seq_len, batches beyond max_batch and backward
 * before any forward are refused. */
static void
test_errors (void)
{
    g_autofree char *path = g_build_filename (g_getenv ("TSL_TEST_DATA"), FIXTURE_FILE, NULL);
    GError *error = NULL;
    TslBackend *be = tsl_test_backend ();

    g_autoptr (TslSafetensors) st = tsl_safetensors_open (path, &error);
    g_assert_no_error (error);
    g_autoptr (TslActionFormer) m = tsl_actionformer_new (be, st, &error);
    g_assert_no_error (error);
    const TslActionFormerConfig *cfg = tsl_actionformer_get_config (m);
    const int T = cfg->max_seq_len + 1;
    g_autofree float *feats = g_new0 (float, (size_t) 2 * cfg->input_dim * T);
    int too_long[2] = { 4, T }, fine[2] = { 4, 5 };
    float *none[TSL_ACTIONFORMER_MAX_LEVELS] = { NULL };
    g_autoptr (TslActionFormerTrain) train = tsl_actionformer_train_new (m, 1, &error);
    g_assert_no_error (error);
    g_autoptr (TslActionFormerGrads) grads = tsl_actionformer_grads_new (m, &error);
    g_assert_no_error (error);

    g_assert_false (tsl_actionformer_backward (train, (const float *const *) none,
                                               (const float *const *) none, grads, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_SHAPE);
    g_clear_error (&error);
    g_assert_false (
        tsl_actionformer_train_forward (train, feats, T, too_long + 1, 1, NULL, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_SHAPE);
    g_clear_error (&error);
    g_assert_false (tsl_actionformer_train_forward (train, feats, T, fine, 2, NULL, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_SHAPE);
    g_clear_error (&error);
    g_assert_true (tsl_actionformer_train_forward (train, feats, T, fine, 1, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpint (tsl_actionformer_grads_find (grads, "reg_head.scale.3.scale"), >=, 0);
    g_assert_cmpint (tsl_actionformer_grads_find (grads, "no.such.weight"), ==, -1);

    g_clear_pointer (&grads, tsl_actionformer_grads_free);
    g_clear_pointer (&train, tsl_actionformer_train_free);
    g_clear_pointer (&m, tsl_actionformer_free);
    tsl_backend_free (be);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_data_func ("/parity/actionformer-train/fixture/normed", FIXTURE_FILE,
                          test_fixture);
    g_test_add_data_func ("/parity/actionformer-train/fixture/nonorm", FIXTURE_NONORM_FILE,
                          test_fixture);
    g_test_add_data_func ("/parity/actionformer-train/fixture/global", FIXTURE_GLOBAL_FILE,
                          test_fixture);
    g_test_add_func ("/parity/actionformer-train/finite-differences", test_finite_differences);
    g_test_add_data_func ("/parity/actionformer-train/golden/af3", "af3_train", test_golden);
    g_test_add_data_func ("/parity/actionformer-train/golden/af3b", "af3b_extra", test_golden);
    g_test_add_func ("/parity/actionformer-train/errors", test_errors);
    return g_test_run ();
}
