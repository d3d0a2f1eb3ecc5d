/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests train/loss.c: ActionFormer's training losses (focal + DIoU with the
 * loss normaliser EMA, label smoothing and the loss weight) and their
 * gradients with respect to the per-level logits and offsets, on the CPU
 * backend.
 *
 * - Random batches against a double-precision reference written from the
 *   formulas of loss.h (focal loss through log p and log(1 - p)): padded
 *   videos, label smoothing, fixed, zero and negative (automatic) loss
 *   weights, a batch without positives. The normaliser is compared exactly
 *   (it is double arithmetic in the official order), losses to 1e-6
 *   relative; gradients by finite differences of the forward, the
 *   accumulate rule on non-zero buffers, and exact zeros at padded points.
 * - The official tensors (when present): AF3 (num_pos 51, normaliser 95.1,
 *   the losses from the stored logits and offsets), AF3b (lengths 256 and
 *   200), AF3 with label smoothing 0.1, the normaliser of three successive
 *   steps, and finite differences on the AF3 batch.
 * - The project's fixture: both configurations, their losses, normalisers,
 *   a second call (the EMA moves before use), and the autograd gradients.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data.h"
#include "testutil.h"
#include "train/assign.h"
#include "train/loss.h"

#define MAX_LEVELS 6
#define MAX_BATCH 4

static TslBackend *be;

/* ---- a batch ---- */

typedef struct {
    TslTrainPoints pts;
    TslTrainLossConfig cfg;
    TslTrainLoss *loss;
    int B, K;
    int lengths[MAX_BATCH];
    float *cls[MAX_LEVELS];   /* [B, K, T_L] */
    float *reg[MAX_LEVELS];   /* [B, 2, T_L] */
    float *dcls[MAX_LEVELS];  /* [B, K, T_L] */
    float *dreg[MAX_LEVELS];  /* [B, 2, T_L] */
    float *gt_cls;            /* [B, FT, K] */
    float *gt_offsets;        /* [B, FT, 2] */
    double start_normalizer;  /* restored before each finite-difference forward */
    double held_weight;       /* reg_loss weight of the unperturbed forward */
} Batch;

static size_t
cls_len (const Batch *x, int level)
{
    return (size_t) x->B * x->K * x->pts.level_len[level];
}

static size_t
reg_len (const Batch *x, int level)
{
    return (size_t) x->B * 2 * x->pts.level_len[level];
}

/* allocates everything but fills nothing */
static void
batch_init (Batch *x, const TslActionFormerConfig *model, const TslTrainLossConfig *cfg, int B)
{
    g_autoptr (GError) error = NULL;

    memset (x, 0, sizeof *x);
    g_assert_true (tsl_train_points_init (&x->pts, model, model->max_seq_len, &error));
    x->cfg = *cfg;
    x->B = B;
    x->K = cfg->num_classes;
    x->loss = tsl_train_loss_new (be, &x->pts, cfg, MAX_BATCH, &error);
    g_assert_no_error (error);
    for (int level = 0; level < x->pts.n_levels; level++) {
        x->cls[level] = g_new0 (float, cls_len (x, level));
        x->reg[level] = g_new0 (float, reg_len (x, level));
        x->dcls[level] = tsl_test_alloc_guarded (cls_len (x, level));
        x->dreg[level] = tsl_test_alloc_guarded (reg_len (x, level));
    }
    x->gt_cls = g_new0 (float, (size_t) B * x->pts.n_points * x->K);
    x->gt_offsets = g_new0 (float, (size_t) B * x->pts.n_points * 2);
    x->start_normalizer = cfg->init_loss_norm;
}

static void
batch_clear (Batch *x)
{
    for (int level = 0; level < x->pts.n_levels; level++) {
        g_free (x->cls[level]);
        g_free (x->reg[level]);
        g_assert_true (tsl_test_free_guarded ("dcls", x->dcls[level], cls_len (x, level)));
        g_assert_true (tsl_test_free_guarded ("dreg", x->dreg[level], reg_len (x, level)));
    }
    g_free (x->gt_cls);
    g_free (x->gt_offsets);
    tsl_train_loss_free (x->loss);
    tsl_train_points_clear (&x->pts);
}

static void
batch_forward (Batch *x, TslTrainLossValues *v)
{
    g_autoptr (GError) error = NULL;

    g_assert_true (tsl_train_loss_forward (x->loss, v, (const float *const *) x->cls,
                                           (const float *const *) x->reg, x->lengths, x->gt_cls,
                                           x->gt_offsets, x->B, &error));
    g_assert_no_error (error);
}

/* zeroed d buffers, then backward of the last forward */
static void
batch_backward (Batch *x)
{
    for (int level = 0; level < x->pts.n_levels; level++) {
        memset (x->dcls[level], 0, cls_len (x, level) * sizeof (float));
        memset (x->dreg[level], 0, reg_len (x, level) * sizeof (float));
    }
    tsl_train_loss_backward (x->loss, x->dcls, x->dreg, (const float *const *) x->cls,
                             (const float *const *) x->reg);
}

/* final_loss from the normaliser the batch started with, with the weight
 * of reg_loss held at its unperturbed value (the automatic weight is a
 * constant for the official gradient: cls_loss.detach() / ...) */
static double
final_loss_of (void *data)
{
    Batch *x = data;
    TslTrainLossValues v;

    tsl_train_loss_set_normalizer (x->loss, x->start_normalizer);
    batch_forward (x, &v);
    return (double) v.cls_loss + x->held_weight * v.reg_loss;
}

/* forward + backward from start_normalizer, then finite differences of
 * final_loss on up to max_cls / max_reg entries of each level tensor.
 * The float32 losses carry a rounding noise of a few ulps of final_loss,
 * which the central difference divides by 2 eps: that is the absolute
 * tolerance; rtol (of the largest gradient) covers the truncation error. */
static void
check_gradients_fd (Batch *x, const char *what, int max_cls, int max_reg, float eps_cls,
                    float eps_reg, double rtol)
{
    TslTrainLossValues v;

    tsl_train_loss_set_normalizer (x->loss, x->start_normalizer);
    batch_forward (x, &v);
    batch_backward (x);
    x->held_weight = v.reg_weight;
    const double noise = 8 * FLT_EPSILON * fabs (v.final_loss);
    for (int level = 0; level < x->pts.n_levels; level++) {
        g_autofree char *cls_name = g_strdup_printf ("%s d cls_logits.%d", what, level);
        g_autofree char *reg_name = g_strdup_printf ("%s d reg_offsets.%d", what, level);
        g_autofree float *dcls = g_memdup2 (x->dcls[level], cls_len (x, level) * sizeof (float));
        g_autofree float *dreg = g_memdup2 (x->dreg[level], reg_len (x, level) * sizeof (float));

        tsl_test_check_gradient (cls_name, final_loss_of, x, x->cls[level], dcls,
                                 cls_len (x, level), max_cls, eps_cls, noise / (2 * eps_cls),
                                 rtol);
        tsl_test_check_gradient (reg_name, final_loss_of, x, x->reg[level], dreg,
                                 reg_len (x, level), max_reg, eps_reg, noise / (2 * eps_reg),
                                 rtol);
    }
}

static void
check_rel (const char *name, double got, double ref, double rtol)
{
    const double err = fabs (got - ref) / MAX (fabs (ref), 1e-30);

    printf ("# %s: got %.9g, ref %.9g, relative %.2g %s\n", name, got, ref, err,
            err <= rtol ? "OK" : "NOT OK");
    if (!(err <= rtol))
        g_test_fail ();
}

/* ---- double-precision reference ---- */

typedef struct {
    double cls_loss, reg_loss, final_loss, normalizer;
    int num_pos;
} RefLosses;

static double
ref_focal (double x, double y)
{
    const double p = 1.0 / (1.0 + exp (-x)), q = 1.0 / (1.0 + exp (x));
    const double ce = -(y * log (p) + (1.0 - y) * log (q));
    const double p_t = p * y + q * (1.0 - y);
    const double a_t = 0.25 * y + 0.75 * (1.0 - y);

    return a_t * ce * (1.0 - p_t) * (1.0 - p_t);
}

static double
ref_diou (double lp, double rp, double lg, double rg)
{
    const double inter = MIN (lp, lg) + MIN (rp, rg);
    const double uni = lp + rp + lg + rg - inter;
    const double c = MAX (lp, lg) + MAX (rp, rg);
    const double rho = 0.5 * (rp - lp - rg + lg);

    return 1.0 - inter / MAX (uni, 1e-8) + pow (rho / MAX (c, 1e-8), 2);
}

/* one forward, from normalizer (updated and returned in r) */
static void
ref_losses (RefLosses *r, const Batch *x, double normalizer)
{
    const TslTrainPoints *p = &x->pts;
    const int K = x->K, FT = p->n_points;
    const double ls = x->cfg.label_smoothing;
    double focal = 0.0, diou = 0.0;

    r->num_pos = 0;
    for (int b = 0; b < x->B; b++) {
        for (int level = 0; level < p->n_levels; level++) {
            const int T_L = p->level_len[level], s = p->level_stride[level];
            for (int i = 0; i < T_L; i++) {
                const int point = p->level_start[level] + i;
                const float *y = x->gt_cls + ((size_t) b * FT + point) * K;
                const float *g = x->gt_offsets + ((size_t) b * FT + point) * 2;
                const float *xl = x->cls[level] + (size_t) b * K * T_L;
                const float *ol = x->reg[level] + (size_t) b * 2 * T_L;
                double any = 0.0;

                if (i * s >= x->lengths[b])
                    continue;
                for (int k = 0; k < K; k++) {
                    focal += ref_focal (xl[k * T_L + i], y[k] * (1.0 - ls) + ls / (K + 1));
                    any += y[k];
                }
                if (any > 0) {
                    r->num_pos++;
                    diou += ref_diou (ol[i], ol[T_L + i], g[0], g[1]);
                }
            }
        }
    }
    r->normalizer = 0.9 * normalizer + (1.0 - 0.9) * MAX (r->num_pos, 1);
    r->cls_loss = focal / r->normalizer;
    r->reg_loss = r->num_pos > 0 ? diou / r->normalizer : 0.0;
    const double w = x->cfg.loss_weight > 0 ? x->cfg.loss_weight
                                            : r->cls_loss / MAX (r->reg_loss, 0.01);
    r->final_loss = r->cls_loss + w * r->reg_loss;
}

/* ---- random batches ---- */

typedef struct {
    const char *name;
    guint64 seed;
    int B;
    int lengths[MAX_BATCH];
    int segments_per_video;  /* 0: no positives at all */
    double label_smoothing;
    double loss_weight;
    double init_loss_norm;
} LossCase;

static const LossCase loss_cases[] = {
    { "two videos, padded", 1, 2, { 64, 29 }, 5, 0.0, 1.0, 100.0 },
    { "label smoothing, auto weight", 2, 3, { 50, 64, 9 }, 4, 0.1, -1.0, 20.0 },
    /* the official test is loss_weight > 0: 0 also balances automatically */
    { "zero weight is automatic", 3, 1, { 64 }, 6, 0.0, 0.0, 5.0 },
    { "weight 2.5, one-point video", 4, 4, { 1, 64, 33, 17 }, 3, 0.05, 2.5, 2000.0 },
    /* no positives: num_pos 0 counts as 1, reg_loss 0, auto weight cls / 0.01 */
    { "no positives", 5, 2, { 64, 40 }, 0, 0.0, -1.0, 1.0 },
};

static void
fill_random_batch (Batch *x, const LossCase *c)
{
    const TslTrainAssignConfig assign = { x->K, TSL_CENTER_SAMPLE_RADIUS, 1.5 };
    const size_t FT = x->pts.n_points;
    TslTestRng rng;

    tsl_test_rng_init (&rng, c->seed);
    for (int b = 0; b < c->B; b++) {
        float seg[2 * 8];
        int labels[8];

        x->lengths[b] = c->lengths[b];
        for (int j = 0; j < c->segments_per_video; j++) {
            const double len = 1.0 + 40.0 * tsl_test_rng_uniform (&rng);
            const double start = -1.0 + (64.0 - len) * tsl_test_rng_uniform (&rng);
            seg[2 * j] = start;
            seg[2 * j + 1] = start + len;
            labels[j] = tsl_test_rng_int (&rng, 0, x->K - 1);
        }
        g_assert_true (tsl_train_assign (x->gt_cls + b * FT * x->K, x->gt_offsets + b * FT * 2,
                                         &x->pts, seg, labels, c->segments_per_video, &assign,
                                         NULL));
    }
    for (int level = 0; level < x->pts.n_levels; level++) {
        tsl_test_fill_normal (&rng, x->cls[level], cls_len (x, level), 2.0f);
        /* offsets after ReLU: positive, away from 0 */
        tsl_test_fill_uniform (&rng, x->reg[level], reg_len (x, level), 0.05f, 4.0f);
    }
}

static void
test_random (gconstpointer data)
{
    const LossCase *c = data;
    TslActionFormerConfig model;
    TslTrainLossConfig cfg = { 3, c->label_smoothing, c->loss_weight, c->init_loss_norm };
    TslTrainLossValues v;
    RefLosses r;
    Batch x;

    train_fixture_config (&model);
    batch_init (&x, &model, &cfg, c->B);
    fill_random_batch (&x, c);

    g_assert_cmpfloat (tsl_train_loss_get_normalizer (x.loss), ==, c->init_loss_norm);
    batch_forward (&x, &v);
    ref_losses (&r, &x, c->init_loss_norm);
    printf ("# %s: num_pos %d, normaliser %.17g\n", c->name, v.num_pos, v.normalizer);
    g_assert_cmpint (v.num_pos, ==, r.num_pos);
    g_assert_true (c->segments_per_video > 0 || v.num_pos == 0);
    g_assert_cmpfloat (v.normalizer, ==, r.normalizer);
    g_assert_cmpfloat (tsl_train_loss_get_normalizer (x.loss), ==, r.normalizer);
    /* float32 per-element terms summed in double: about 1e-7 relative */
    check_rel ("cls_loss", v.cls_loss, r.cls_loss, 1e-6);
    if (r.num_pos > 0)
        check_rel ("reg_loss", v.reg_loss, r.reg_loss, 1e-6);
    else
        g_assert_cmpfloat (v.reg_loss, ==, 0.0f);
    check_rel ("final_loss", v.final_loss, r.final_loss, 1e-6);

    /* a second forward divides by the normaliser moved once more */
    RefLosses r2;
    batch_forward (&x, &v);
    ref_losses (&r2, &x, r.normalizer);
    g_assert_cmpfloat (v.normalizer, ==, r2.normalizer);
    check_rel ("second cls_loss", v.cls_loss, r2.cls_loss, 1e-6);

    /* gradients: finite differences of the float32 forward on 48 entries
     * of each tensor; eps 1e-2 on the logits (smooth), 1e-3 on the offsets
     * (DIoU has kinks where a predicted offset meets its target) */
    check_gradients_fd (&x, c->name, 48, 48, 1e-2f, 1e-3f, 1e-2);

    /* padded points get exactly nothing; without positives neither do the
     * offsets */
    for (int level = 0; level < x.pts.n_levels; level++) {
        const int T_L = x.pts.level_len[level], s = x.pts.level_stride[level];
        for (int b = 0; b < x.B; b++) {
            for (int i = 0; i < T_L; i++) {
                const gboolean padded = i * s >= x.lengths[b];
                for (int k = 0; k < x.K && padded; k++)
                    g_assert_true (x.dcls[level][((size_t) b * x.K + k) * T_L + i] == 0.0f);
                for (int k = 0; k < 2 && (padded || r.num_pos == 0); k++)
                    g_assert_true (x.dreg[level][((size_t) b * 2 + k) * T_L + i] == 0.0f);
            }
        }
    }

    /* accumulate rule: backward adds into what the buffers hold */
    tsl_train_loss_set_normalizer (x.loss, x.start_normalizer);
    batch_forward (&x, &v);
    batch_backward (&x);
    double *ref_c[MAX_LEVELS], *ref_r[MAX_LEVELS];
    for (int level = 0; level < x.pts.n_levels; level++) {
        ref_c[level] = g_new (double, cls_len (&x, level));
        ref_r[level] = g_new (double, reg_len (&x, level));
        for (size_t i = 0; i < cls_len (&x, level); i++) {
            ref_c[level][i] = x.dcls[level][i] + 0.5;
            x.dcls[level][i] = 0.5f;
        }
        for (size_t i = 0; i < reg_len (&x, level); i++) {
            ref_r[level][i] = x.dreg[level][i] - 0.25;
            x.dreg[level][i] = -0.25f;
        }
    }
    tsl_train_loss_backward (x.loss, x.dcls, x.dreg, (const float *const *) x.cls,
                             (const float *const *) x.reg);
    for (int level = 0; level < x.pts.n_levels; level++) {
        /* one float32 rounding of the sum */
        tsl_test_check_close ("accumulated dcls", x.dcls[level], ref_c[level],
                              cls_len (&x, level), 1e-7, 1e-7);
        tsl_test_check_close ("accumulated dreg", x.dreg[level], ref_r[level],
                              reg_len (&x, level), 1e-7, 1e-7);
        g_free (ref_c[level]);
        g_free (ref_r[level]);
    }
    batch_clear (&x);
}

/* ---- reference data ---- */

/* a batch of two videos from a reference file: logits, offsets, targets
 * and lengths (the targets are the file's, so that the losses are tested
 * apart from the assignment) */
static void
batch_load (Batch *x, const TslActionFormerConfig *model, const TslTrainLossConfig *cfg,
            const TslSafetensors *inputs, const char *prefix)
{
    size_t n;

    batch_init (x, model, cfg, 2);
    for (int level = 0; level < x->pts.n_levels; level++) {
        g_autofree float *cls = train_read_f32 (inputs, &n, "%scls_logits.%d", prefix, level);
        g_assert_cmpuint (n, ==, cls_len (x, level));
        memcpy (x->cls[level], cls, n * sizeof (float));
        g_autofree float *reg = train_read_f32 (inputs, &n, "%sreg_offsets.%d", prefix, level);
        g_assert_cmpuint (n, ==, reg_len (x, level));
        memcpy (x->reg[level], reg, n * sizeof (float));
    }
    g_autofree float *gt_cls = train_read_f32 (inputs, &n, "%sgt_cls", prefix);
    g_assert_cmpuint (n, ==, (size_t) 2 * x->pts.n_points * x->K);
    memcpy (x->gt_cls, gt_cls, n * sizeof (float));
    g_autofree float *gt_offsets = train_read_f32 (inputs, &n, "%sgt_offsets", prefix);
    g_assert_cmpuint (n, ==, (size_t) 2 * x->pts.n_points * 2);
    memcpy (x->gt_offsets, gt_offsets, n * sizeof (float));
    g_autofree int *lengths = train_read_int (inputs, &n, "%slengths", prefix);
    g_assert_cmpuint (n, ==, 2);
    x->lengths[0] = lengths[0];
    x->lengths[1] = lengths[1];
}

/* one forward compared with the file's num_pos, normaliser (exact) and
 * losses (PyTorch sums in float32, the ops in double: 1e-6 relative) */
static void
check_losses (Batch *x, const char *what, const TslSafetensors *ref, const char *prefix,
              const char *num_pos_name)
{
    TslTrainLossValues v;
    g_autofree char *cls_name = g_strdup_printf ("%s cls_loss", what);
    g_autofree char *reg_name = g_strdup_printf ("%s reg_loss", what);
    g_autofree char *final_name = g_strdup_printf ("%s final_loss", what);

    batch_forward (x, &v);
    printf ("# %s: num_pos %d, normaliser %.17g\n", what, v.num_pos, v.normalizer);
    g_assert_cmpint (v.num_pos, ==, (int) train_read_scalar (ref, "%s", num_pos_name));
    g_assert_cmpfloat (v.normalizer, ==, train_read_scalar (ref, "%sloss_normalizer", prefix));
    check_rel (cls_name, v.cls_loss, train_read_scalar (ref, "%scls_loss", prefix), 1e-6);
    check_rel (reg_name, v.reg_loss, train_read_scalar (ref, "%sreg_loss", prefix), 1e-6);
    check_rel (final_name, v.final_loss, train_read_scalar (ref, "%sfinal_loss", prefix), 1e-6);
}

static void
golden_loss_config (TslTrainLossConfig *cfg, const TslActionFormerConfig *model, double ls)
{
    tsl_train_loss_config_init (cfg, model->num_classes);
    cfg->label_smoothing = ls;
    cfg->init_loss_norm = 100.0; /* AF3: train_cfg.init_loss_norm */
}

static void
test_golden_af3 (void)
{
    g_autoptr (TslSafetensors) af3 = train_golden_open ("af3_train.safetensors");
    if (af3 == NULL)
        return;
    g_autoptr (TslSafetensors) af3b = train_golden_open ("af3b_extra.safetensors");
    g_autoptr (TslSafetensors) steps = train_golden_open ("af3_steps.safetensors");
    TslActionFormerConfig model;
    TslTrainLossConfig cfg;
    Batch x;

    train_golden_config (&model);
    golden_loss_config (&cfg, &model, 0.0);
    batch_load (&x, &model, &cfg, af3, "");
    check_losses (&x, "AF3", af3, "", "num_pos");
    /* steps 2 and 3 see the same targets: the normaliser keeps moving */
    for (int step = 2; step <= 3; step++) {
        TslTrainLossValues v;
        batch_forward (&x, &v);
        g_assert_cmpint (v.num_pos, ==, (int) train_read_scalar (steps, "step%d.num_pos", step));
        g_assert_cmpfloat (v.normalizer, ==,
                           train_read_scalar (steps, "step%d.loss_normalizer", step));
        printf ("# AF3 step %d normaliser %.17g OK\n", step, v.normalizer);
    }
    batch_clear (&x);

    /* AF3b: video B is 200 long, padded to 256 */
    batch_load (&x, &model, &cfg, af3b, "");
    check_losses (&x, "AF3b", af3b, "", "num_pos");
    batch_clear (&x);

    /* label smoothing 0.1 on the AF3 batch */
    golden_loss_config (&cfg, &model, 0.1);
    batch_load (&x, &model, &cfg, af3, "");
    check_losses (&x, "AF3 ls0.1", af3b, "ls0.1.", "num_pos");
    batch_clear (&x);
}

/* finite differences on the official batch: 16 entries of each logits
 * tensor, 48 of each offsets tensor */
static void
test_golden_gradients (void)
{
    g_autoptr (TslSafetensors) af3 = train_golden_open ("af3_train.safetensors");
    if (af3 == NULL)
        return;
    TslActionFormerConfig model;
    TslTrainLossConfig cfg;
    Batch x;

    train_golden_config (&model);
    golden_loss_config (&cfg, &model, 0.0);
    batch_load (&x, &model, &cfg, af3, "");
    check_gradients_fd (&x, "AF3", 16, 48, 1e-2f, 1e-3f, 1e-2);
    batch_clear (&x);
}

static void
test_fixture (void)
{
    g_autoptr (TslSafetensors) st = train_fixture_open ();
    if (st == NULL)
        return;
    const char *cases[] = { "a.", "b." };
    TslActionFormerConfig model;

    train_fixture_config (&model);
    for (size_t c = 0; c < G_N_ELEMENTS (cases); c++) {
        TslTrainLossConfig cfg;
        Batch x;

        tsl_train_loss_config_init (&cfg, model.num_classes);
        cfg.label_smoothing = train_read_scalar (st, "%scfg.label_smoothing", cases[c]);
        cfg.loss_weight = train_read_scalar (st, "%scfg.loss_weight", cases[c]);
        cfg.init_loss_norm = train_read_scalar (st, "%scfg.init_loss_norm", cases[c]);
        batch_load (&x, &model, &cfg, st, cases[c]);
        g_autofree char *what = g_strdup_printf ("fixture %s", cases[c]);
        g_autofree char *num_pos = g_strdup_printf ("%snum_pos", cases[c]);
        check_losses (&x, what, st, cases[c], num_pos);

        /* autograd of final_loss: float32 against float32, a few ulps of
         * the largest entry */
        batch_backward (&x);
        for (int level = 0; level < x.pts.n_levels; level++) {
            size_t n;
            g_autofree float *ref_c =
                train_read_f32 (st, &n, "%sgrad.cls_logits.%d", cases[c], level);
            g_autofree float *ref_r =
                train_read_f32 (st, &n, "%sgrad.reg_offsets.%d", cases[c], level);
            g_autofree double *ref_cd = g_new (double, cls_len (&x, level));
            g_autofree double *ref_rd = g_new (double, reg_len (&x, level));
            g_autofree char *cls_name = g_strdup_printf ("%s d cls_logits.%d", what, level);
            g_autofree char *reg_name = g_strdup_printf ("%s d reg_offsets.%d", what, level);
            for (size_t i = 0; i < cls_len (&x, level); i++)
                ref_cd[i] = ref_c[i];
            for (size_t i = 0; i < reg_len (&x, level); i++)
                ref_rd[i] = ref_r[i];
            tsl_test_check_close (cls_name, x.dcls[level], ref_cd, cls_len (&x, level), 1e-8,
                                  1e-5);
            tsl_test_check_close (reg_name, x.dreg[level], ref_rd, reg_len (&x, level), 1e-8,
                                  1e-5);
        }

        /* the second call divides by the normaliser moved once more */
        g_autofree char *what2 = g_strdup_printf ("fixture %sstep2", cases[c]);
        g_autofree char *prefix2 = g_strdup_printf ("%sstep2.", cases[c]);
        g_autofree char *num_pos2 = g_strdup_printf ("%sstep2.num_pos", cases[c]);
        check_losses (&x, what2, st, prefix2, num_pos2);
        batch_clear (&x);
    }
}

/* ---- refused arguments ---- */

static void
test_refused (void)
{
    TslActionFormerConfig model;
    TslTrainLossConfig cfg;
    TslTrainLossValues v;
    Batch x;

    train_fixture_config (&model);
    tsl_train_loss_config_init (&cfg, 3);
    g_assert_cmpfloat (cfg.label_smoothing, ==, 0.0);
    g_assert_cmpfloat (cfg.loss_weight, ==, 1.0);
    g_assert_cmpfloat (cfg.init_loss_norm, ==, 2000.0);
    batch_init (&x, &model, &cfg, 1);

    const struct { int B, length; } bad[] = { { 0, 10 }, { MAX_BATCH + 1, 10 }, { 1, 0 },
                                              { 1, 65 } };
    for (size_t i = 0; i < G_N_ELEMENTS (bad); i++) {
        g_autoptr (GError) error = NULL;
        int lengths[MAX_BATCH + 1];
        for (int b = 0; b <= MAX_BATCH; b++)
            lengths[b] = bad[i].length;
        g_assert_false (tsl_train_loss_forward (x.loss, &v, (const float *const *) x.cls,
                                                (const float *const *) x.reg, lengths, x.gt_cls,
                                                x.gt_offsets, bad[i].B, &error));
        g_assert_error (error, TSL_ERROR, TSL_ERROR_SHAPE);
        printf ("# %s\n", error->message);
    }
    /* the normaliser did not move */
    g_assert_cmpfloat (tsl_train_loss_get_normalizer (x.loss), ==, 2000.0);
    batch_clear (&x);

    const TslTrainLossConfig bad_cfg[] = {
        { 0, 0.0, 1.0, 100.0 }, { 3, -0.1, 1.0, 100.0 }, { 3, 0.0, 1.0, 0.0 },
        { 3, 0.0, NAN, 100.0 },
    };
    TslTrainPoints pts;
    g_assert_true (tsl_train_points_init (&pts, &model, 64, NULL));
    for (size_t i = 0; i < G_N_ELEMENTS (bad_cfg); i++) {
        g_autoptr (GError) error = NULL;
        g_assert_null (tsl_train_loss_new (be, &pts, &bad_cfg[i], 1, &error));
        g_assert_error (error, TSL_ERROR, TSL_ERROR_CONFIG);
    }
    tsl_train_points_clear (&pts);
}

int
main (int argc, char **argv)
{
    g_autoptr (GError) error = NULL;
    int status;

    g_test_init (&argc, &argv, NULL);
    be = tsl_backend_new ("cpu", &error);
    g_assert_no_error (error);
    for (size_t i = 0; i < G_N_ELEMENTS (loss_cases); i++) {
        g_autofree char *path = g_strdup_printf ("/train/loss/random/%s", loss_cases[i].name);
        g_test_add_data_func (path, &loss_cases[i], test_random);
    }
    g_test_add_func ("/train/loss/refused", test_refused);
    g_test_add_func ("/train/loss/golden", test_golden_af3);
    g_test_add_func ("/train/loss/golden-gradients", test_golden_gradients);
    g_test_add_func ("/train/loss/fixture", test_fixture);
    status = g_test_run ();
    tsl_backend_free (be);
    return status;
}
