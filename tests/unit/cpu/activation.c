/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests cpu/activation.c: GELU (exact erf form), ReLU and sigmoid against
 * double-precision formulas, over odd lengths and inputs that include large
 * magnitudes (saturated sigmoid, GELU tails). For each backward: the
 * gradient against the double derivative, the accumulate rule (dx
 * prefilled), and a finite-difference check of loss = sum(out * r). ReLU's
 * inputs stay at least 0.1 away from the kink so that finite differences
 * are exact there. Outputs are guarded against writes past their end.
 */
#include <math.h>
#include <string.h>

#include "testutil.h"
#include "cpu/cpu-ops.h"

typedef struct {
    const char *name;
    TslActivationFn *forward;
    TslActivationBackwardFn *backward;
    gboolean backward_reads_y;                 /* sigmoid: backward takes the output */
    double (*ref_forward) (double x);
    double (*ref_derivative) (double x, double y);
    double atol, rtol;                         /* forward and backward against double */
    float grad_eps;
    double grad_atol, grad_rtol;               /* finite differences */
    gboolean away_from_zero;                   /* inputs with |x| >= 0.1 */
} ActivationOp;

static double
ref_gelu (double x)
{
    return 0.5 * x * (1.0 + erf (x / sqrt (2.0)));
}

static double
ref_gelu_derivative (double x, double y)
{
    return 0.5 * (1.0 + erf (x / sqrt (2.0))) + x * exp (-0.5 * x * x) / sqrt (2.0 * G_PI);
}

static double
ref_relu (double x)
{
    return x > 0.0 ? x : 0.0;
}

static double
ref_relu_derivative (double x, double y)
{
    return x > 0.0 ? 1.0 : 0.0;
}

static double
ref_sigmoid (double x)
{
    return 1.0 / (1.0 + exp (-x));
}

static double
ref_sigmoid_derivative (double x, double y)
{
    return y * (1.0 - y);
}

static const ActivationOp ops[] = {
    /* erff is good to about 1e-7 absolute; for x << 0, 1 + erf cancels and
     * that absolute error is scaled by |x| / 2 (inputs reach |x| = 12) */
    { "gelu", tsl_cpu_gelu, tsl_cpu_gelu_backward, FALSE, ref_gelu, ref_gelu_derivative,
      2e-6, 1e-6,
      /* smooth: eps^2 truncation plus float rounding of out over 2 eps */
      1e-2f, 2e-4, 1e-3, FALSE },
    /* exact selects and copies */
    { "relu", tsl_cpu_relu, tsl_cpu_relu_backward, FALSE, ref_relu, ref_relu_derivative,
      0.0, 0.0,
      /* piecewise linear and no input within eps of the kink: exact up to rounding */
      1e-2f, 1e-4, 1e-4, TRUE },
    /* expf and one division: a few ulp */
    { "sigmoid", tsl_cpu_sigmoid, tsl_cpu_sigmoid_backward, TRUE, ref_sigmoid,
      ref_sigmoid_derivative, 1e-7, 1e-6,
      /* smooth, bounded derivatives */
      1e-2f, 1e-4, 1e-3, FALSE },
};

static const size_t lengths[] = { 1, 7, 1000, 50001 };

/* dx = prefill + dout * f'(x): two float roundings of O(1) values */
#define ACCUM_ATOL 1e-6
#define GRAD_CHECKS 64

typedef struct {
    TslBackend *be;
    const ActivationOp *op;
    float *x;         /* [n] */
    float *out;       /* [n] */
    const float *r;   /* [n] loss weights = dout */
    size_t n;
} LossContext;

static double
weighted_sum_loss (void *data)
{
    LossContext *ctx = data;
    double loss = 0.0;

    ctx->op->forward (ctx->be, ctx->out, ctx->x, ctx->n);
    for (size_t i = 0; i < ctx->n; i++)
        loss += (double) ctx->out[i] * ctx->r[i];
    return loss;
}

typedef struct {
    const ActivationOp *op;
    size_t n;
} ActivationCase;

static void
test_activation_case (gconstpointer data)
{
    const ActivationCase *c = data;
    const ActivationOp *op = c->op;
    const size_t n = c->n;
    TslTestRng rng;
    TslBackend *be = tsl_backend_new ("cpu", NULL);
    float *x = g_new (float, n), *r = g_new (float, n), *prefill = g_new (float, n);  /* [n] */
    float *dx = g_new0 (float, n);
    float *out = tsl_test_alloc_guarded (n);
    double *ref = g_new (double, n), *ref_dx = g_new (double, n);
    char name[64];

    tsl_test_rng_init (&rng, 600 + n + (op->forward == tsl_cpu_relu));
    tsl_test_fill_normal (&rng, x, n, 3.0f);
    tsl_test_fill_normal (&rng, r, n, 1.0f);
    tsl_test_fill_normal (&rng, prefill, n, 1.0f);
    if (n >= 8) {
        /* saturated sigmoid and far GELU tails */
        x[1] = -100.0f;
        x[2] = 100.0f;
        x[3] = -12.0f;
        x[4] = 12.0f;
    }
    if (op->away_from_zero) {
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] < 0.0f ? x[i] - 0.1f : x[i] + 0.1f;
    }

    for (size_t i = 0; i < n; i++)
        ref[i] = op->ref_forward (x[i]);
    op->forward (be, out, x, n);
    g_snprintf (name, sizeof name, "%s", op->name);
    tsl_test_check_close (name, out, ref, n, op->atol, op->rtol);

    /* backward from zero, against the double derivative at the op's own y */
    for (size_t i = 0; i < n; i++)
        ref_dx[i] = (double) r[i] * op->ref_derivative (x[i], out[i]);
    op->backward (be, dx, r, op->backward_reads_y ? out : x, n);
    g_snprintf (name, sizeof name, "%s dx", op->name);
    tsl_test_check_close (name, dx, ref_dx, n, op->atol, op->rtol);

    /* finite differences; the forward overwrites out, so back it up for y */
    float *y = g_memdup2 (out, n * sizeof (float));
    LossContext ctx = { be, op, x, out, r, n };
    g_snprintf (name, sizeof name, "%s grad x", op->name);
    tsl_test_check_gradient (name, weighted_sum_loss, &ctx, x, dx, n, GRAD_CHECKS, op->grad_eps,
                             op->grad_atol, op->grad_rtol);

    memcpy (dx, prefill, n * sizeof (float));
    op->backward (be, dx, r, op->backward_reads_y ? y : x, n);
    for (size_t i = 0; i < n; i++)
        ref_dx[i] += prefill[i];
    g_snprintf (name, sizeof name, "%s dx accumulates", op->name);
    tsl_test_check_close (name, dx, ref_dx, n, op->atol + ACCUM_ATOL, op->rtol);

    tsl_test_free_guarded (op->name, out, n);
    g_free (x);
    g_free (y);
    g_free (r);
    g_free (prefill);
    g_free (dx);
    g_free (ref);
    g_free (ref_dx);
    tsl_backend_free (be);
}

int
main (int argc, char **argv)
{
    static ActivationCase cases[G_N_ELEMENTS (ops) * G_N_ELEMENTS (lengths)];
    guint n_cases = 0;

    g_test_init (&argc, &argv, NULL);
    for (guint o = 0; o < G_N_ELEMENTS (ops); o++) {
        for (guint i = 0; i < G_N_ELEMENTS (lengths); i++) {
            ActivationCase *c = &cases[n_cases++];
            c->op = &ops[o];
            c->n = lengths[i];
            g_autofree char *path =
                g_strdup_printf ("/cpu/activation/%s/n%zu", c->op->name, c->n);
            g_test_add_data_func (path, c, test_activation_case);
        }
    }
    return g_test_run ();
}
