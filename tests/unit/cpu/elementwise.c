/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests cpu/elementwise.c (bias add, add, mul, scale, per-channel scale and
 * their backward ops) against double-precision loops, over shapes with odd
 * sizes, B > 1, T = 1 (token rows) and C = 1. For every backward op:
 * the gradient against the double reference, the accumulate rule (d* is
 * prefilled and must end as prefill + gradient), the "or NULL" arguments,
 * and a finite-difference check of loss = sum(out * r), so dout = r.
 * Forward outputs are guarded against writes past their end.
 */
#include <string.h>

#include "testutil.h"
#include "cpu/cpu-ops.h"

typedef struct {
    int B, C, T;
} Shape;

static const Shape shapes[] = {
    { 1, 1, 1 },
    { 2, 3, 5 },
    { 3, 17, 1 },    /* token rows [B*N, C, 1] */
    { 2, 1, 33 },    /* one channel, as Scale uses */
    { 2, 65, 37 },   /* channel count past one reduction block */
    { 3, 130, 97 },  /* large enough to run threaded */
    { 260, 130, 1 }, /* token rows (a mask over a [C, T] tensor), threaded */
};

/* Elementwise results are one correctly rounded float operation (or two):
 * half an ulp relative, with room. */
#define ELEMENT_RTOL 1e-6
/* prefill + gradient rounds twice, and the sum can cancel: absolute room
 * of a few ulp of the N(0, 1)-sized terms */
#define ACCUM_ATOL 1e-6
/* Per-channel sums add B*T float products in float partials per row of T:
 * a few ulp of the largest partial sum. */
#define SUM_ATOL 2e-5
#define SUM_RTOL 1e-5

/* Finite differences of a loss that is linear (or bilinear) in each input:
 * only the rounding of the float forward remains. */
#define GRAD_EPS 1e-2f
#define GRAD_ATOL 2e-3
#define GRAD_RTOL 1e-3
#define GRAD_CHECKS 48

static size_t
shape_numel (const Shape *s)
{
    return (size_t) s->B * s->C * s->T;
}

static float *
random_array (TslTestRng *rng, size_t n)
{
    float *x = g_new (float, n);

    tsl_test_fill_normal (rng, x, n, 1.0f);
    return x;
}

/* ---- loss for the gradient checks: sum(out * r) over a forward ---- */

typedef struct LossContext LossContext;
struct LossContext {
    void (*forward) (LossContext *ctx);  /* writes out from a, b, s */
    TslBackend *be;
    const Shape *shape;
    size_t n;         /* elements of out */
    float *a, *b;     /* inputs, perturbed by the checker */
    float s;          /* scalar parameter */
    float *out;       /* [n] */
    const float *r;   /* [n] loss weights = dout */
};

static double
weighted_sum_loss (void *data)
{
    LossContext *ctx = data;
    double loss = 0.0;

    ctx->forward (ctx);
    for (size_t i = 0; i < ctx->n; i++)
        loss += (double) ctx->out[i] * ctx->r[i];
    return loss;
}

static void
forward_bias_add (LossContext *ctx)
{
    tsl_cpu_bias_add (ctx->be, ctx->out, ctx->a, ctx->b, ctx->shape->B, ctx->shape->C,
                      ctx->shape->T);
}

static void
forward_add (LossContext *ctx)
{
    tsl_cpu_add (ctx->be, ctx->out, ctx->a, ctx->b, ctx->n);
}

static void
forward_mul (LossContext *ctx)
{
    tsl_cpu_mul (ctx->be, ctx->out, ctx->a, ctx->b, ctx->n);
}

static void
forward_scale (LossContext *ctx)
{
    tsl_cpu_scale (ctx->be, ctx->out, ctx->a, ctx->s, ctx->n);
}

static void
forward_channel_scale (LossContext *ctx)
{
    tsl_cpu_channel_scale (ctx->be, ctx->out, ctx->a, ctx->b, ctx->shape->B, ctx->shape->C,
                           ctx->shape->T);
}

/* Checks an accumulating gradient: got was prefilled with prefill, the op
 * added its gradient, and the result must be prefill + ref. */
static void
check_accumulated (const char *name, const float *got, const float *prefill, const double *ref,
                   size_t n, double atol, double rtol)
{
    double *want = g_new (double, n);

    for (size_t i = 0; i < n; i++)
        want[i] = (double) prefill[i] + ref[i];
    tsl_test_check_close (name, got, want, n, atol, rtol);
    g_free (want);
}

/* ---- bias add ---- */

static void
test_bias_add (gconstpointer data)
{
    const Shape *s = data;
    const int B = s->B, C = s->C, T = s->T;
    const size_t n = shape_numel (s);
    TslTestRng rng;
    TslBackend *be = tsl_backend_new ("cpu", NULL);

    tsl_test_rng_init (&rng, 100 + n);
    float *x = random_array (&rng, n);       /* [B, C, T] */
    float *bias = random_array (&rng, C);    /* [C] */
    float *r = random_array (&rng, n);       /* [B, C, T] */
    float *prefill_x = random_array (&rng, n);
    float *prefill_bias = random_array (&rng, C);
    float *out = tsl_test_alloc_guarded (n);
    float *dx = g_new0 (float, n), *dbias = g_new0 (float, C);
    double *ref = g_new (double, n), *ref_dx = g_new (double, n);
    double *ref_dbias = g_new0 (double, C);

    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int t = 0; t < T; t++) {
                size_t i = ((size_t) b * C + c) * T + t;
                ref[i] = (double) x[i] + bias[c];
                ref_dx[i] = r[i];
                ref_dbias[c] += r[i];
            }
    tsl_cpu_bias_add (be, out, x, bias, B, C, T);
    tsl_test_check_close ("bias_add", out, ref, n, 0.0, ELEMENT_RTOL);

    /* backward, from zero: dx = dout exactly, dbias = sums */
    tsl_cpu_bias_add_backward (be, dx, dbias, r, B, C, T);
    tsl_test_check_close ("bias_add dx", dx, ref_dx, n, 0.0, 0.0);
    tsl_test_check_close ("bias_add dbias", dbias, ref_dbias, C, SUM_ATOL, SUM_RTOL);

    LossContext ctx = { forward_bias_add, be, s, n, x, bias, 0.0f, out, r };
    tsl_test_check_gradient ("bias_add grad x", weighted_sum_loss, &ctx, x, dx, n, GRAD_CHECKS,
                             GRAD_EPS, GRAD_ATOL, GRAD_RTOL);
    tsl_test_check_gradient ("bias_add grad bias", weighted_sum_loss, &ctx, bias, dbias, C,
                             GRAD_CHECKS, GRAD_EPS, GRAD_ATOL, GRAD_RTOL);

    /* accumulate, and dx = NULL leaves only dbias */
    memcpy (dx, prefill_x, n * sizeof (float));
    memcpy (dbias, prefill_bias, C * sizeof (float));
    tsl_cpu_bias_add_backward (be, dx, dbias, r, B, C, T);
    check_accumulated ("bias_add dx accumulates", dx, prefill_x, ref_dx, n, ACCUM_ATOL,
                       ELEMENT_RTOL);
    check_accumulated ("bias_add dbias accumulates", dbias, prefill_bias, ref_dbias, C, SUM_ATOL,
                       SUM_RTOL);
    memcpy (dbias, prefill_bias, C * sizeof (float));
    tsl_cpu_bias_add_backward (be, NULL, dbias, r, B, C, T);
    check_accumulated ("bias_add dbias (dx NULL)", dbias, prefill_bias, ref_dbias, C, SUM_ATOL,
                       SUM_RTOL);

    tsl_test_free_guarded ("bias_add", out, n);
    g_free (x);
    g_free (bias);
    g_free (r);
    g_free (prefill_x);
    g_free (prefill_bias);
    g_free (dx);
    g_free (dbias);
    g_free (ref);
    g_free (ref_dx);
    g_free (ref_dbias);
    tsl_backend_free (be);
}

/* ---- add and mul: out = a op b, with da and db ---- */

static void
test_binary (const Shape *s, gboolean multiply)
{
    const size_t n = shape_numel (s);
    const char *op = multiply ? "mul" : "add";
    TslTestRng rng;
    TslBackend *be = tsl_backend_new ("cpu", NULL);

    tsl_test_rng_init (&rng, 200 + n + multiply);
    float *a = random_array (&rng, n), *b = random_array (&rng, n);  /* [n] */
    float *r = random_array (&rng, n);                                 /* [n] */
    float *prefill_a = random_array (&rng, n), *prefill_b = random_array (&rng, n);
    float *out = tsl_test_alloc_guarded (n);
    float *da = g_new0 (float, n), *db = g_new0 (float, n);
    double *ref = g_new (double, n), *ref_da = g_new (double, n), *ref_db = g_new (double, n);
    char name[64];

    for (size_t i = 0; i < n; i++) {
        ref[i] = multiply ? (double) a[i] * b[i] : (double) a[i] + b[i];
        ref_da[i] = multiply ? (double) r[i] * b[i] : r[i];
        ref_db[i] = multiply ? (double) r[i] * a[i] : r[i];
    }
    if (multiply)
        tsl_cpu_mul (be, out, a, b, n);
    else
        tsl_cpu_add (be, out, a, b, n);
    tsl_test_check_close (op, out, ref, n, 0.0, ELEMENT_RTOL);

    if (multiply)
        tsl_cpu_mul_backward (be, da, db, r, a, b, n);
    else
        tsl_cpu_add_backward (be, da, db, r, n);
    g_snprintf (name, sizeof name, "%s da", op);
    tsl_test_check_close (name, da, ref_da, n, 0.0, ELEMENT_RTOL);
    g_snprintf (name, sizeof name, "%s db", op);
    tsl_test_check_close (name, db, ref_db, n, 0.0, ELEMENT_RTOL);

    LossContext ctx = { multiply ? forward_mul : forward_add, be, s, n, a, b, 0.0f, out, r };
    g_snprintf (name, sizeof name, "%s grad a", op);
    tsl_test_check_gradient (name, weighted_sum_loss, &ctx, a, da, n, GRAD_CHECKS, GRAD_EPS,
                             GRAD_ATOL, GRAD_RTOL);
    g_snprintf (name, sizeof name, "%s grad b", op);
    tsl_test_check_gradient (name, weighted_sum_loss, &ctx, b, db, n, GRAD_CHECKS, GRAD_EPS,
                             GRAD_ATOL, GRAD_RTOL);

    /* accumulate into both, then into one with the other NULL */
    for (int which = 0; which < 3; which++) {
        gboolean want_a = which != 2, want_b = which != 1;

        memcpy (da, prefill_a, n * sizeof (float));
        memcpy (db, prefill_b, n * sizeof (float));
        if (multiply)
            tsl_cpu_mul_backward (be, want_a ? da : NULL, want_b ? db : NULL, r, a, b, n);
        else
            tsl_cpu_add_backward (be, want_a ? da : NULL, want_b ? db : NULL, r, n);
        g_snprintf (name, sizeof name, "%s da accumulates (db %s)", op,
                    want_b ? "given" : "NULL");
        if (want_a)
            check_accumulated (name, da, prefill_a, ref_da, n, ACCUM_ATOL, ELEMENT_RTOL);
        else
            tsl_test_check_close_f ("da untouched", da, prefill_a, n, 0.0, 0.0);
        g_snprintf (name, sizeof name, "%s db accumulates (da %s)", op,
                    want_a ? "given" : "NULL");
        if (want_b)
            check_accumulated (name, db, prefill_b, ref_db, n, ACCUM_ATOL, ELEMENT_RTOL);
        else
            tsl_test_check_close_f ("db untouched", db, prefill_b, n, 0.0, 0.0);
    }

    tsl_test_free_guarded (op, out, n);
    g_free (a);
    g_free (b);
    g_free (r);
    g_free (prefill_a);
    g_free (prefill_b);
    g_free (da);
    g_free (db);
    g_free (ref);
    g_free (ref_da);
    g_free (ref_db);
    tsl_backend_free (be);
}

static void
test_add (gconstpointer data)
{
    test_binary (data, FALSE);
}

static void
test_mul (gconstpointer data)
{
    test_binary (data, TRUE);
}

/* ---- scale ---- */

static void
test_scale (gconstpointer data)
{
    const Shape *s = data;
    const size_t n = shape_numel (s);
    const float scale = -1.75f;
    TslTestRng rng;
    TslBackend *be = tsl_backend_new ("cpu", NULL);

    tsl_test_rng_init (&rng, 300 + n);
    float *x = random_array (&rng, n), *r = random_array (&rng, n);  /* [n] */
    float *prefill = random_array (&rng, n);
    float *in_place = g_memdup2 (x, n * sizeof (float));
    float *out = tsl_test_alloc_guarded (n);
    float *dx = g_new0 (float, n);
    double *ref = g_new (double, n), *ref_dx = g_new (double, n);

    for (size_t i = 0; i < n; i++) {
        ref[i] = (double) scale * x[i];
        ref_dx[i] = (double) scale * r[i];
    }
    tsl_cpu_scale (be, out, x, scale, n);
    tsl_test_check_close ("scale", out, ref, n, 0.0, ELEMENT_RTOL);
    tsl_cpu_scale (be, in_place, in_place, scale, n);
    tsl_test_check_close ("scale in place", in_place, ref, n, 0.0, ELEMENT_RTOL);

    tsl_cpu_scale_backward (be, dx, r, scale, n);
    tsl_test_check_close ("scale dx", dx, ref_dx, n, 0.0, ELEMENT_RTOL);
    LossContext ctx = { forward_scale, be, s, n, x, NULL, scale, out, r };
    tsl_test_check_gradient ("scale grad x", weighted_sum_loss, &ctx, x, dx, n, GRAD_CHECKS,
                             GRAD_EPS, GRAD_ATOL, GRAD_RTOL);

    memcpy (dx, prefill, n * sizeof (float));
    tsl_cpu_scale_backward (be, dx, r, scale, n);
    check_accumulated ("scale dx accumulates", dx, prefill, ref_dx, n, ACCUM_ATOL, ELEMENT_RTOL);

    tsl_test_free_guarded ("scale", out, n);
    g_free (x);
    g_free (r);
    g_free (prefill);
    g_free (in_place);
    g_free (dx);
    g_free (ref);
    g_free (ref_dx);
    tsl_backend_free (be);
}

/* ---- per-channel scale ---- */

static void
test_channel_scale (gconstpointer data)
{
    const Shape *s = data;
    const int B = s->B, C = s->C, T = s->T;
    const size_t n = shape_numel (s);
    TslTestRng rng;
    TslBackend *be = tsl_backend_new ("cpu", NULL);

    tsl_test_rng_init (&rng, 400 + n);
    float *x = random_array (&rng, n);      /* [B, C, T] */
    float *scale = random_array (&rng, C);  /* [C] */
    float *r = random_array (&rng, n);      /* [B, C, T] */
    float *prefill_x = random_array (&rng, n), *prefill_s = random_array (&rng, C);
    float *out = tsl_test_alloc_guarded (n);
    float *dx = g_new0 (float, n), *ds = g_new0 (float, C);
    double *ref = g_new (double, n), *ref_dx = g_new (double, n);
    double *ref_ds = g_new0 (double, C);

    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int t = 0; t < T; t++) {
                size_t i = ((size_t) b * C + c) * T + t;
                ref[i] = (double) x[i] * scale[c];
                ref_dx[i] = (double) r[i] * scale[c];
                ref_ds[c] += (double) r[i] * x[i];
            }
    tsl_cpu_channel_scale (be, out, x, scale, B, C, T);
    tsl_test_check_close ("channel_scale", out, ref, n, 0.0, ELEMENT_RTOL);

    tsl_cpu_channel_scale_backward (be, dx, ds, r, x, scale, B, C, T);
    tsl_test_check_close ("channel_scale dx", dx, ref_dx, n, 0.0, ELEMENT_RTOL);
    tsl_test_check_close ("channel_scale ds", ds, ref_ds, C, SUM_ATOL, SUM_RTOL);
    LossContext ctx = { forward_channel_scale, be, s, n, x, scale, 0.0f, out, r };
    tsl_test_check_gradient ("channel_scale grad x", weighted_sum_loss, &ctx, x, dx, n,
                             GRAD_CHECKS, GRAD_EPS, GRAD_ATOL, GRAD_RTOL);
    tsl_test_check_gradient ("channel_scale grad s", weighted_sum_loss, &ctx, scale, ds, C,
                             GRAD_CHECKS, GRAD_EPS, GRAD_ATOL, GRAD_RTOL);

    /* accumulate into both, then each alone with the other NULL */
    for (int which = 0; which < 3; which++) {
        gboolean want_x = which != 2, want_s = which != 1;

        memcpy (dx, prefill_x, n * sizeof (float));
        memcpy (ds, prefill_s, C * sizeof (float));
        tsl_cpu_channel_scale_backward (be, want_x ? dx : NULL, want_s ? ds : NULL, r, x, scale,
                                        B, C, T);
        if (want_x)
            check_accumulated ("channel_scale dx accumulates", dx, prefill_x, ref_dx, n, ACCUM_ATOL,
                               ELEMENT_RTOL);
        else
            tsl_test_check_close_f ("dx untouched", dx, prefill_x, n, 0.0, 0.0);
        if (want_s)
            check_accumulated ("channel_scale ds accumulates", ds, prefill_s, ref_ds, C,
                               SUM_ATOL, SUM_RTOL);
        else
            tsl_test_check_close_f ("ds untouched", ds, prefill_s, C, 0.0, 0.0);
    }

    tsl_test_free_guarded ("channel_scale", out, n);
    g_free (x);
    g_free (scale);
    g_free (r);
    g_free (prefill_x);
    g_free (prefill_s);
    g_free (dx);
    g_free (ds);
    g_free (ref);
    g_free (ref_dx);
    g_free (ref_ds);
    tsl_backend_free (be);
}

int
main (int argc, char **argv)
{
    static const struct {
        const char *name;
        GTestDataFunc func;
    } ops[] = {
        { "bias_add", test_bias_add },
        { "add", test_add },
        { "mul", test_mul },
        { "scale", test_scale },
        { "channel_scale", test_channel_scale },
    };

    g_test_init (&argc, &argv, NULL);
    for (guint o = 0; o < G_N_ELEMENTS (ops); o++) {
        for (guint i = 0; i < G_N_ELEMENTS (shapes); i++) {
            const Shape *s = &shapes[i];
            g_autofree char *path = g_strdup_printf ("/cpu/elementwise/%s/b%d_c%d_t%d",
                                                     ops[o].name, s->B, s->C, s->T);
            g_test_add_data_func (path, s, ops[o].func);
        }
    }
    return g_test_run ();
}
