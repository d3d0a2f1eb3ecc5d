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
#include <stdint.h>
#include <stdio.h>
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

/* x Phi(x), Phi through erfc: no cancellation of 1 + erf for x << 0 */
static double
ref_gelu (double x)
{
    return 0.5 * x * erfc (-x / sqrt (2.0));
}

static double
ref_gelu_derivative (double x, double y)
{
    return 0.5 * erfc (-x / sqrt (2.0)) + x * exp (-0.5 * x * x) / sqrt (2.0 * G_PI);
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
    /* relative error below 1.1e-6 (see the sweep below); the derivative
     * crosses 0 near x = -0.75, where its error of a few 1e-7 is absolute */
    { "gelu", tsl_cpu_gelu, tsl_cpu_gelu_backward, FALSE, ref_gelu, ref_gelu_derivative,
      5e-7, 1.5e-6,
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

/* Every 1024th float of [-14, 14] (2.1 million inputs) against the
 * double-precision x Phi(x). Tolerances, relative to the exact result of
 * the float input: 7e-7 for |x| <= 8 (measured 5.4e-7 at worst without
 * FMA, 3.9e-7 with it: a few ulp from rounding in the polynomial
 * evaluation), 1.5e-6 beyond (measured 1.0e-6 and 5.8e-7, in the far
 * negative tail); results below 1e-36 in magnitude
 * (x < -13) may be flushed to -0, 1e-37 absolute. Then the special
 * values: signed zeros, infinities, NaN, and both sides of |x| = 13. */
static void
test_gelu_sweep (void)
{
    const uint32_t limit_bits = 0x41600000u; /* 14.0f */
    const size_t n = 2 * (limit_bits / 1024 + 1);
    float *x = g_new (float, n), *out = tsl_test_alloc_guarded (n);
    size_t count = 0, bad = 0;
    double worst_inner = 0.0, worst_outer = 0.0;

    for (uint32_t bits = 0; bits <= limit_bits; bits += 1024) {
        float v;

        memcpy (&v, &bits, sizeof v);
        x[count++] = v;
        x[count++] = -v;
    }
    g_assert_cmpuint (count, ==, n);
    tsl_cpu_gelu (NULL, out, x, n);
    for (size_t i = 0; i < n; i++) {
        const double ref = ref_gelu (x[i]), err = fabs (out[i] - ref);
        gboolean ok;

        if (fabs (ref) < 1e-36) {
            ok = err <= 1e-37;
        } else if (fabs (x[i]) <= 8.0f) {
            worst_inner = MAX (worst_inner, err / fabs (ref));
            ok = err <= 7e-7 * fabs (ref);
        } else {
            worst_outer = MAX (worst_outer, err / fabs (ref));
            ok = err <= 1.5e-6 * fabs (ref);
        }
        if (!ok && bad++ < 8)
            printf ("# gelu(%.9g) = %.9g, want %.9g  NOT OK\n", x[i], out[i], ref);
    }
    printf ("# gelu sweep: %zu inputs, max rel error %.3g for |x| <= 8, %.3g beyond, %zu bad\n",
            n, worst_inner, worst_outer, bad);
    g_assert_cmpuint (bad, ==, 0);
    tsl_test_free_guarded ("gelu sweep", out, n);
    g_free (x);

    {
        const float special[] = { 0.0f, -0.0f, INFINITY, -INFINITY, NAN, 13.0f, -13.0f,
                                  nextafterf (13.0f, 14.0f), nextafterf (-13.0f, -14.0f),
                                  1e30f, -1e30f };
        float y[G_N_ELEMENTS (special)];

        tsl_cpu_gelu (NULL, y, special, G_N_ELEMENTS (special));
        g_assert_true (y[0] == 0.0f && !signbit (y[0]));
        g_assert_true (y[1] == 0.0f && signbit (y[1]));
        g_assert_true (y[2] == INFINITY);
        g_assert_true (isnan (y[3]));  /* -inf * 0, as PyTorch's formula gives */
        g_assert_true (isnan (y[4]));
        g_assert_cmpfloat (y[5], ==, 13.0f);
        g_assert_cmpfloat_with_epsilon (y[6], ref_gelu (-13.0), 1e-43);
        g_assert_cmpfloat (y[7], ==, special[7]);
        g_assert_true (y[8] == 0.0f);
        g_assert_cmpfloat (y[9], ==, 1e30f);
        g_assert_true (y[10] == 0.0f && signbit (y[10]));
    }
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
    g_test_add_func ("/cpu/activation/gelu/sweep", test_gelu_sweep);
    return g_test_run ();
}
