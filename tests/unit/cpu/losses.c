/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests cpu/losses.c: the sigmoid focal loss and the 1-D centre DIoU loss,
 * forward and backward.
 *
 * References are double precision and written straight from the formulas in
 * ops.h (the focal loss through log(p) and log(1 - p), not the op's
 * BCE-with-logits form). The reference gradient is a central difference of the reference
 * loss in double (step 1e-6, far below float resolution), so it does not
 * repeat the op's derivation; at exact ties of min/max it gives the mean of
 * the two one-sided slopes, which is PyTorch's even split. The backward ops
 * are also checked by finite differences of the float op itself, and their
 * accumulate rule (d* += dloss * grad) on buffers that start non-zero.
 *
 * Cases: N = 1 and odd N, soft and hard targets, valid masks and weights
 * with zeros, alpha < 0 (no class weight), gamma 0, 1.5 and 2, DIoU points
 * that tie with the target, and an eps large enough to clamp.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>

#include "testutil.h"
#include "cpu/cpu-ops.h"

/* ---- sigmoid focal loss ---- */

typedef struct {
    int N, K;
    float alpha, gamma;
    gboolean soft;     /* targets uniform in [0, 1] rather than 0 / 1 */
    gboolean masked;   /* valid has zeros and a 0.5; else NULL */
    float logit_std;   /* spread of the logits */
    float dloss;       /* upstream gradient of the summed loss */
} FocalCase;

static const FocalCase focal_cases[] = {
    { 1, 1, 0.25f, 2.0f, FALSE, FALSE, 2.0f, 1.0f },
    { 1, 20, 0.25f, 2.0f, TRUE, FALSE, 2.0f, 0.5f },
    { 7, 3, 0.25f, 2.0f, FALSE, TRUE, 2.0f, 1.0f },
    { 37, 17, 0.25f, 0.0f, TRUE, TRUE, 3.0f, -1.3f },
    { 37, 17, -1.0f, 2.0f, TRUE, TRUE, 3.0f, 0.7f },
    { 64, 5, -1.0f, 0.0f, FALSE, FALSE, 1.0f, 1.0f },
    { 29, 11, 0.75f, 1.5f, TRUE, TRUE, 2.0f, 1.0f },
    /* large logits: p rounds to 1 in float, 1 - p must not */
    { 13, 9, 0.25f, 2.0f, FALSE, FALSE, 12.0f, 1.0f },
    { 333, 20, 0.25f, 2.0f, FALSE, TRUE, 3.0f, 1.0f },
};

/* one term of the focal loss, from the ops.h formulas, in double; 1 - p is
 * taken as sigmoid(-x) so that it survives logits of 40 */
static double
focal_term_ref (double x, double y, double alpha, double gamma)
{
    double p = 1.0 / (1.0 + exp (-x)), one_minus_p = 1.0 / (1.0 + exp (x));
    double ce = -(y * log (p) + (1.0 - y) * log (one_minus_p));
    double p_t = p * y + one_minus_p * (1.0 - y);
    double a_t = alpha >= 0.0 ? alpha * y + (1.0 - alpha) * (1.0 - y) : 1.0;

    return a_t * ce * pow (1.0 - p_t, gamma);
}

typedef struct {
    const FocalCase *c;
    TslBackend *be;
    float *loss;  /* [1] */
    float *logits, *targets, *valid;
} FocalCtx;

static double
focal_loss_of_op (void *data)
{
    FocalCtx *ctx = data;
    const FocalCase *c = ctx->c;

    tsl_cpu_focal_loss (ctx->be, ctx->loss, ctx->logits, ctx->targets, ctx->valid, c->N, c->K,
                        c->alpha, c->gamma);
    return (double) c->dloss * ctx->loss[0];
}

static void
test_focal_case (gconstpointer data)
{
    const FocalCase *c = data;
    const size_t nk = (size_t) c->N * c->K;
    const double h = 1e-6;  /* step of the double-precision reference derivative */
    g_autoptr (GError) error = NULL;
    TslBackend *be = tsl_backend_new ("cpu", &error);
    TslTestRng rng;
    float *logits = g_new (float, nk), *targets = g_new (float, nk);
    float *valid = c->masked ? g_new (float, c->N) : NULL;
    float *loss = tsl_test_alloc_guarded (1);
    float *dlogits = tsl_test_alloc_guarded (nk);
    float *prefill = g_new (float, nk);
    double *dref = g_new (double, nk);
    double loss_ref = 0.0;

    g_assert_no_error (error);
    tsl_test_rng_init (&rng, 1000 + c->N * 31 + c->K);
    tsl_test_fill_normal (&rng, logits, nk, c->logit_std);
    for (size_t i = 0; i < nk; i++) {
        double u = tsl_test_rng_uniform (&rng);
        targets[i] = c->soft ? (float) u : (u < 0.3 ? 1.0f : 0.0f);
    }
    if (valid != NULL) {
        for (int n = 0; n < c->N; n++)
            valid[n] = n % 3 == 1 ? 0.0f : (n % 7 == 4 ? 0.5f : 1.0f);
    }
    tsl_test_fill_normal (&rng, prefill, nk, 1.0f);

    for (int n = 0; n < c->N; n++) {
        double w = valid != NULL ? valid[n] : 1.0;
        for (int k = 0; k < c->K; k++) {
            size_t i = (size_t) n * c->K + k;
            double x = logits[i], y = targets[i];
            double slope = (focal_term_ref (x + h, y, c->alpha, c->gamma) -
                            focal_term_ref (x - h, y, c->alpha, c->gamma)) / (2.0 * h);

            loss_ref += w * focal_term_ref (x, y, c->alpha, c->gamma);
            dref[i] = prefill[i] + (double) c->dloss * w * slope;
        }
    }

    /* forward: every term is >= 0 and carries a few float ulps of error,
     * so the sum keeps that relative error */
    tsl_cpu_focal_loss (be, loss, logits, targets, valid, c->N, c->K, c->alpha, c->gamma);
    tsl_test_check_close ("focal_loss", loss, &loss_ref, 1, 1e-6, 4e-6);

    /* backward adds into a buffer that already holds values; the two parts
     * of the gradient can cancel with soft targets, hence the atol */
    for (size_t i = 0; i < nk; i++)
        dlogits[i] = prefill[i];
    tsl_cpu_focal_loss_backward (be, dlogits, logits, targets, valid, c->N, c->K, c->alpha,
                                 c->gamma, c->dloss);
    tsl_test_check_close ("focal_loss_backward", dlogits, dref, nk, 2e-6 * fabs (c->dloss), 1e-5);
    for (int n = 0; valid != NULL && n < c->N; n++) {
        for (int k = 0; k < c->K && valid[n] == 0.0f; k++) {
            size_t i = (size_t) n * c->K + k;
            if (dlogits[i] != prefill[i]) {
                printf ("# focal_loss_backward: masked point %d changed dlogits  NOT OK\n", n);
                g_test_fail ();
            }
        }
    }

    /* finite differences of the float op: the loss is stored as a float,
     * so its rounding (one ulp of the sum) over 2 eps bounds the noise */
    {
        const float eps = 1e-2f;
        FocalCtx ctx = { c, be, loss, logits, targets, valid };
        double noise = 2.0 * fabs (c->dloss * loss_ref) * FLT_EPSILON / (2.0 * eps);
        float *grad = g_new0 (float, nk);

        tsl_cpu_focal_loss_backward (be, grad, logits, targets, valid, c->N, c->K, c->alpha,
                                     c->gamma, c->dloss);
        tsl_test_check_gradient ("focal_loss_backward fd", focal_loss_of_op, &ctx, logits, grad,
                                 nk, 64, eps, noise + 2e-4 * fabs (c->dloss), 1e-3);
        g_free (grad);
    }

    tsl_test_free_guarded ("focal_loss", loss, 1);
    tsl_test_free_guarded ("focal_loss_backward", dlogits, nk);
    g_free (logits);
    g_free (targets);
    g_free (valid);
    g_free (prefill);
    g_free (dref);
    tsl_backend_free (be);
}

/* ---- 1-D centre DIoU loss ---- */

typedef struct {
    int N;
    float eps;
    float lo, hi;       /* distances drawn uniform in [lo, hi] */
    gboolean ties;      /* some predictions equal their target on one or both sides */
    gboolean weighted;  /* weights uniform in [0, 2] with zeros; else NULL */
    float dloss;
} DiouCase;

static const DiouCase diou_cases[] = {
    { 1, 1e-8f, 0.1f, 3.0f, FALSE, FALSE, 1.0f },
    { 7, 1e-8f, 0.1f, 3.0f, TRUE, FALSE, 1.0f },
    { 100, 1e-8f, 0.1f, 3.0f, TRUE, TRUE, 0.7f },
    { 333, 1e-8f, 0.05f, 8.0f, FALSE, TRUE, -1.2f },
    /* eps above many unions and enclosing lengths: the clamps are active */
    { 61, 1.0f, 0.0f, 0.4f, TRUE, TRUE, 1.0f },
};

/* one term of the DIoU loss, from the ops.h formulas, in double */
static double
diou_term_ref (double lp, double rp, double lg, double rg, double eps)
{
    double inter = fmin (lp, lg) + fmin (rp, rg);
    double uni = lp + rp + lg + rg - inter;
    double enclose = fmax (lp, lg) + fmax (rp, rg);
    double rho = (rp - lp - rg + lg) / 2.0;
    double rho_c = rho / fmax (enclose, eps);

    return 1.0 - inter / fmax (uni, eps) + rho_c * rho_c;
}

/* TRUE when the point is within `gap` of a kink it is not meant to sit on:
 * a near tie, or a union / enclosing length next to eps */
static gboolean
diou_near_kink (const float *p, const float *g, gboolean tie_l, gboolean tie_r, double eps,
                double gap)
{
    double inter = fmin (p[0], g[0]) + fmin (p[1], g[1]);
    double uni = (double) p[0] + p[1] + g[0] + g[1] - inter;
    double enclose = fmax (p[0], g[0]) + fmax (p[1], g[1]);

    return (!tie_l && fabs ((double) p[0] - g[0]) < gap) ||
           (!tie_r && fabs ((double) p[1] - g[1]) < gap) || fabs (uni - eps) < gap ||
           fabs (enclose - eps) < gap;
}

typedef struct {
    const DiouCase *c;
    TslBackend *be;
    float *loss;  /* [1] */
    float *pred, *target, *weight;
} DiouCtx;

static double
diou_loss_of_op (void *data)
{
    DiouCtx *ctx = data;
    const DiouCase *c = ctx->c;

    tsl_cpu_diou_loss (ctx->be, ctx->loss, ctx->pred, ctx->target, ctx->weight, c->N, c->eps);
    return (double) c->dloss * ctx->loss[0];
}

static void
test_diou_case (gconstpointer data)
{
    const DiouCase *c = data;
    const size_t n2 = 2 * (size_t) c->N;
    const float fd_eps = 1e-3f;  /* step of the float finite differences */
    const double h = 1e-7;       /* step of the double-precision reference derivative */
    g_autoptr (GError) error = NULL;
    TslBackend *be = tsl_backend_new ("cpu", &error);
    TslTestRng rng;
    float *pred = g_new (float, n2), *target = g_new (float, n2);
    float *weight = c->weighted ? g_new (float, c->N) : NULL;
    float *loss = tsl_test_alloc_guarded (1);
    float *dpred = tsl_test_alloc_guarded (n2);
    float *prefill = g_new (float, n2);
    double *dref = g_new (double, n2);
    double loss_ref = 0.0;
    int n_ties = 0;

    g_assert_no_error (error);
    tsl_test_rng_init (&rng, 2000 + c->N);
    for (int n = 0; n < c->N; n++) {
        float *p = pred + 2 * n, *g = target + 2 * n;
        gboolean tie_l = c->ties && n % 3 == 0, tie_r = c->ties && n % 4 == 1;

        /* keep every other point 2 finite-difference steps away from kinks */
        do {
            tsl_test_fill_uniform (&rng, p, 2, c->lo, c->hi);
            tsl_test_fill_uniform (&rng, g, 2, c->lo, c->hi);
            if (tie_l)
                p[0] = g[0];
            if (tie_r)
                p[1] = g[1];
        } while (diou_near_kink (p, g, tie_l, tie_r, c->eps, 2.0 * fd_eps));
        n_ties += tie_l + tie_r;
    }
    if (weight != NULL) {
        tsl_test_fill_uniform (&rng, weight, c->N, 0.0f, 2.0f);
        for (int n = 0; n < c->N; n += 5)
            weight[n] = 0.0f;
    }
    tsl_test_fill_normal (&rng, prefill, n2, 1.0f);

    for (int n = 0; n < c->N; n++) {
        double w = weight != NULL ? weight[n] : 1.0;
        double lp = pred[2 * n], rp = pred[2 * n + 1], lg = target[2 * n], rg = target[2 * n + 1];
        double slope_l = (diou_term_ref (lp + h, rp, lg, rg, c->eps) -
                          diou_term_ref (lp - h, rp, lg, rg, c->eps)) / (2.0 * h);
        double slope_r = (diou_term_ref (lp, rp + h, lg, rg, c->eps) -
                          diou_term_ref (lp, rp - h, lg, rg, c->eps)) / (2.0 * h);

        loss_ref += w * diou_term_ref (lp, rp, lg, rg, c->eps);
        dref[2 * n] = prefill[2 * n] + (double) c->dloss * w * slope_l;
        dref[2 * n + 1] = prefill[2 * n + 1] + (double) c->dloss * w * slope_r;
    }
    if (c->ties)
        g_assert_cmpint (n_ties, >, 0);

    /* forward: non-negative terms, each within a few float ulps of 1 */
    tsl_cpu_diou_loss (be, loss, pred, target, weight, c->N, c->eps);
    tsl_test_check_close ("diou_loss", loss, &loss_ref, 1, 1e-6 * c->N, 4e-6);

    /* backward: slopes reach 1 / (lo + lo) and the reference derivative
     * carries h times the jump of the curvature at ties */
    for (size_t i = 0; i < n2; i++)
        dpred[i] = prefill[i];
    tsl_cpu_diou_loss_backward (be, dpred, pred, target, weight, c->N, c->eps, c->dloss);
    tsl_test_check_close ("diou_loss_backward", dpred, dref, n2, 1e-5, 1e-5);
    for (int n = 0; weight != NULL && n < c->N; n++) {
        if (weight[n] == 0.0f &&
            (dpred[2 * n] != prefill[2 * n] || dpred[2 * n + 1] != prefill[2 * n + 1])) {
            printf ("# diou_loss_backward: zero-weight point %d changed dpred  NOT OK\n", n);
            g_test_fail ();
        }
    }

    /* finite differences of the float op (at a tie the central difference
     * is the mean of both sides, as the op's even split) */
    {
        DiouCtx ctx = { c, be, loss, pred, target, weight };
        double noise = 2.0 * fabs (c->dloss * loss_ref) * FLT_EPSILON / (2.0 * fd_eps);
        float *grad = g_new0 (float, n2);

        tsl_cpu_diou_loss_backward (be, grad, pred, target, weight, c->N, c->eps, c->dloss);
        tsl_test_check_gradient ("diou_loss_backward fd", diou_loss_of_op, &ctx, pred, grad, n2,
                                 64, fd_eps, noise + 1e-4, 2e-3);
        g_free (grad);
    }

    tsl_test_free_guarded ("diou_loss", loss, 1);
    tsl_test_free_guarded ("diou_loss_backward", dpred, n2);
    g_free (pred);
    g_free (target);
    g_free (weight);
    g_free (prefill);
    g_free (dref);
    tsl_backend_free (be);
}

/* pred == target == 0 and eps = 1e-8: both clamps are active, loss = 1 */
static void
test_diou_degenerate (void)
{
    g_autoptr (GError) error = NULL;
    TslBackend *be = tsl_backend_new ("cpu", &error);
    const float zeros[2] = { 0.0f, 0.0f };
    float loss = 0.0f;
    double one = 1.0;

    g_assert_no_error (error);
    tsl_cpu_diou_loss (be, &loss, zeros, zeros, NULL, 1, 1e-8f);
    tsl_test_check_close ("diou_loss degenerate", &loss, &one, 1, 0.0, 0.0);
    tsl_backend_free (be);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS (focal_cases); i++) {
        const FocalCase *c = &focal_cases[i];
        g_autofree char *path =
            g_strdup_printf ("/cpu/focal_loss/%u_n%d_k%d_a%g_g%g%s%s", i, c->N, c->K, c->alpha,
                             c->gamma, c->soft ? "_soft" : "", c->masked ? "_masked" : "");
        g_test_add_data_func (path, c, test_focal_case);
    }
    for (guint i = 0; i < G_N_ELEMENTS (diou_cases); i++) {
        const DiouCase *c = &diou_cases[i];
        g_autofree char *path =
            g_strdup_printf ("/cpu/diou_loss/%u_n%d_eps%g%s%s", i, c->N, c->eps,
                             c->ties ? "_ties" : "", c->weighted ? "_weighted" : "");
        g_test_add_data_func (path, c, test_diou_case);
    }
    g_test_add_func ("/cpu/diou_loss/degenerate", test_diou_degenerate);
    return g_test_run ();
}
