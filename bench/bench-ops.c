/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * bench-ops.c: speed of the CPU ops that dominate inference and training,
 * at the sizes the models use:
 *   (a) gemm through the op table against cblas_sgemm called directly, to
 *       show the op adds nothing;
 *   (b) conv1d forward and backward at ActionFormer's sizes (C 512, T 2560,
 *       K 3), full and depthwise;
 *   (c) local attention forward and backward (T 2560, C 512, H 4, W 11);
 *   (d) full attention at ViT-B sizes (N 1568, C 768, H 12).
 * Each row is the median of several runs after one warm-up run, timed with
 * g_get_monotonic_time(). Run with `meson test -C <build> --benchmark -v`.
 */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>

#include "backend.h"
#include "bench-common.h"
#include "ops.h"

#define BENCH_RUNS 5

typedef void (*BenchFn) (void *ctx);

/* median wall time of BENCH_RUNS calls after one warm-up call, in ms */
static double
bench_median_ms (BenchFn fn, void *ctx)
{
    double ms[BENCH_RUNS];

    fn (ctx);
    for (int i = 0; i < BENCH_RUNS; i++) {
        gint64 start = g_get_monotonic_time ();

        fn (ctx);
        ms[i] = (double) (g_get_monotonic_time () - start) / 1000.0;
    }
    return bench_median (ms, BENCH_RUNS);
}

/* uniform values in [-1, 1) from a fixed linear congruential sequence */
static float *
bench_random (TslBackend *be, size_t n, guint32 seed)
{
    g_autoptr (GError) error = NULL;
    float *x = tsl_backend_alloc (be, n * sizeof (float), &error);

    g_assert_no_error (error);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float) (seed >> 8) / 8388608.0f - 1.0f;
    }
    return x;
}

static double
gflops (double flop, double ms)
{
    return flop / (ms * 1e6);
}

/* ---- (a) gemm ---- */

typedef struct {
    TslBackend *be;
    int M, N, K;
    float *a, *b, *c;
} GemmBench;

static void
gemm_through_op (void *ctx)
{
    GemmBench *g = ctx;

    g->be->ops->gemm (g->be, g->c, g->a, g->b, 1, g->M, g->N, g->K, FALSE, FALSE, 1.0f, 0.0f, 0,
                      0, 0);
}

static void
gemm_direct (void *ctx)
{
    GemmBench *g = ctx;

    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, g->M, g->N, g->K, 1.0f, g->a, g->K,
                 g->b, g->N, 0.0f, g->c, g->N);
}

static void
bench_gemm (TslBackend *be)
{
    static const int shapes[][3] = {
        { 512, 512, 512 },     /* square reference */
        { 512, 2560, 1536 },   /* ActionFormer conv K 3 as im2col: Cout x T x Cin*K */
        { 1568, 1408, 4224 },  /* ViT-g MLP-like token block */
        { 1, 1408, 4224 },     /* one vector */
    };

    printf ("\n(a) gemm, C[M, N] = A[M, K] B[K, N]\n");
    printf ("%-22s %12s %12s %12s %12s\n", "M x N x K", "op ms", "op GFLOP/s", "cblas ms",
            "cblas GFLOP/s");
    for (guint i = 0; i < G_N_ELEMENTS (shapes); i++) {
        GemmBench g = { be, shapes[i][0], shapes[i][1], shapes[i][2] };
        double flop = 2.0 * g.M * g.N * g.K;
        g_autofree char *name = g_strdup_printf ("%d x %d x %d", g.M, g.N, g.K);

        g.a = bench_random (be, (size_t) g.M * g.K, 1);
        g.b = bench_random (be, (size_t) g.K * g.N, 2);
        g.c = bench_random (be, (size_t) g.M * g.N, 3);
        double op_ms = bench_median_ms (gemm_through_op, &g);
        double direct_ms = bench_median_ms (gemm_direct, &g);
        printf ("%-22s %12.3f %12.1f %12.3f %12.1f\n", name, op_ms, gflops (flop, op_ms),
                direct_ms, gflops (flop, direct_ms));
        tsl_backend_free_memory (be, g.a);
        tsl_backend_free_memory (be, g.b);
        tsl_backend_free_memory (be, g.c);
    }
}

/* ---- (b) conv1d ---- */

typedef struct {
    TslBackend *be;
    int B, C, T, K, groups;
    float *x, *w, *bias, *mask, *out, *dout, *dx, *dw, *dbias;
} Conv1dBench;

static void
conv1d_forward (void *ctx)
{
    Conv1dBench *c = ctx;

    c->be->ops->conv1d (c->be, c->out, c->x, c->w, c->bias, c->mask, c->B, c->C, c->C, c->T, c->T,
                        c->K, 1, c->K / 2, c->groups);
}

static void
conv1d_backward (void *ctx)
{
    Conv1dBench *c = ctx;

    c->be->ops->conv1d_backward (c->be, c->dx, c->dw, c->dbias, c->dout, c->x, c->w, c->mask, c->B,
                                 c->C, c->C, c->T, c->T, c->K, 1, c->K / 2, c->groups);
}

static void
bench_conv1d (TslBackend *be)
{
    static const struct {
        const char *name;
        int groups;
    } rows[] = { { "full", 1 }, { "depthwise", 512 } };
    const int B = 1, C = 512, T = 2560, K = 3;

    printf ("\n(b) conv1d, B %d, C %d, T %d, K %d, stride 1, padding 1, bias and mask\n", B, C, T,
            K);
    printf ("%-22s %12s %12s %12s %12s\n", "groups", "fwd ms", "fwd GFLOP/s", "bwd ms",
            "bwd GFLOP/s");
    for (guint i = 0; i < G_N_ELEMENTS (rows); i++) {
        const size_t n_x = (size_t) B * C * T, n_w = (size_t) C * (C / rows[i].groups) * K;
        Conv1dBench c = { be, B, C, T, K, rows[i].groups };
        /* forward: one multiply-add per weight and output time step;
         * backward: twice that (dx and dw) */
        double flop = 2.0 * B * T * n_w;

        c.x = bench_random (be, n_x, 4);
        c.w = bench_random (be, n_w, 5);
        c.bias = bench_random (be, C, 6);
        c.mask = bench_random (be, (size_t) B * T, 7);
        c.out = bench_random (be, n_x, 8);
        c.dout = bench_random (be, n_x, 9);
        c.dx = bench_random (be, n_x, 10);
        c.dw = bench_random (be, n_w, 11);
        c.dbias = bench_random (be, C, 12);
        for (int t = 0; t < B * T; t++)
            c.mask[t] = t < T - T / 8 ? 1.0f : 0.0f;
        double fwd_ms = bench_median_ms (conv1d_forward, &c);
        double bwd_ms = bench_median_ms (conv1d_backward, &c);
        printf ("%-22s %12.3f %12.1f %12.3f %12.1f\n", rows[i].name, fwd_ms, gflops (flop, fwd_ms),
                bwd_ms, gflops (2.0 * flop, bwd_ms));
        tsl_backend_free_memory (be, c.x);
        tsl_backend_free_memory (be, c.w);
        tsl_backend_free_memory (be, c.bias);
        tsl_backend_free_memory (be, c.mask);
        tsl_backend_free_memory (be, c.out);
        tsl_backend_free_memory (be, c.dout);
        tsl_backend_free_memory (be, c.dx);
        tsl_backend_free_memory (be, c.dw);
        tsl_backend_free_memory (be, c.dbias);
    }
}

/* ---- (c) local attention ---- */

typedef struct {
    TslBackend *be;
    int B, C, T, H, W;
    float scale;
    float *q, *k, *v, *mask, *out, *att, *dout, *dq, *dk, *dv;
} LocalAttentionBench;

static void
local_attention_forward (void *ctx)
{
    LocalAttentionBench *l = ctx;

    l->be->ops->local_attention (l->be, l->out, l->att, l->q, l->k, l->v, l->mask, l->B, l->C, l->T,
                                 l->H, l->W, l->scale);
}

static void
local_attention_backward (void *ctx)
{
    LocalAttentionBench *l = ctx;

    l->be->ops->local_attention_backward (l->be, l->dq, l->dk, l->dv, l->dout, l->att, l->q, l->k,
                                          l->v, l->B, l->C, l->T, l->H, l->W, l->scale);
}

static void
bench_local_attention (TslBackend *be)
{
    LocalAttentionBench l = { be, 1, 512, 2560, 4, 11 };
    const size_t n = (size_t) l.B * l.C * l.T;

    l.scale = 1.0f / sqrtf ((float) (l.C / l.H));
    l.q = bench_random (be, n, 13);
    l.k = bench_random (be, n, 14);
    l.v = bench_random (be, n, 15);
    l.mask = bench_random (be, (size_t) l.B * l.T, 16);
    l.out = bench_random (be, n, 17);
    l.att = bench_random (be, (size_t) l.B * l.H * l.T * l.W, 18);
    l.dout = bench_random (be, n, 19);
    l.dq = bench_random (be, n, 20);
    l.dk = bench_random (be, n, 21);
    l.dv = bench_random (be, n, 22);
    for (int t = 0; t < l.B * l.T; t++)
        l.mask[t] = t < l.T - l.T / 8 ? 1.0f : 0.0f;

    printf ("\n(c) local attention, B %d, C %d, T %d, H %d, W %d\n", l.B, l.C, l.T, l.H, l.W);
    printf ("%-22s %12s %12s\n", "pass", "ms", "tokens/s");
    double fwd_ms = bench_median_ms (local_attention_forward, &l);
    printf ("%-22s %12.3f %12.0f\n", "forward", fwd_ms, l.B * l.T / (fwd_ms / 1000.0));
    double bwd_ms = bench_median_ms (local_attention_backward, &l);
    printf ("%-22s %12.3f %12.0f\n", "backward", bwd_ms, l.B * l.T / (bwd_ms / 1000.0));

    tsl_backend_free_memory (be, l.q);
    tsl_backend_free_memory (be, l.k);
    tsl_backend_free_memory (be, l.v);
    tsl_backend_free_memory (be, l.mask);
    tsl_backend_free_memory (be, l.out);
    tsl_backend_free_memory (be, l.att);
    tsl_backend_free_memory (be, l.dout);
    tsl_backend_free_memory (be, l.dq);
    tsl_backend_free_memory (be, l.dk);
    tsl_backend_free_memory (be, l.dv);
}

/* ---- (d) full attention ---- */

typedef struct {
    TslBackend *be;
    int B, N, C, H;
    float scale;
    float *qkv, *out;
} AttentionBench;

static void
attention_forward (void *ctx)
{
    AttentionBench *a = ctx;

    a->be->ops->attention (a->be, a->out, a->qkv, a->B, a->N, a->C, a->H, a->scale);
}

static void
bench_attention (TslBackend *be)
{
    AttentionBench a = { be, 1, 1568, 768, 12 };
    /* q k^T and att v: two products of N x N x C multiply-adds */
    double flop = 4.0 * a.B * a.N * (double) a.N * a.C;

    a.scale = 1.0f / sqrtf ((float) (a.C / a.H));
    a.qkv = bench_random (be, (size_t) a.B * a.N * 3 * a.C, 23);
    a.out = bench_random (be, (size_t) a.B * a.N * a.C, 24);

    printf ("\n(d) attention, B %d, N %d, C %d, H %d\n", a.B, a.N, a.C, a.H);
    printf ("%-22s %12s %12s %12s\n", "pass", "ms", "GFLOP/s", "tokens/s");
    double ms = bench_median_ms (attention_forward, &a);
    printf ("%-22s %12.3f %12.1f %12.0f\n", "forward", ms, gflops (flop, ms),
            a.B * a.N / (ms / 1000.0));

    tsl_backend_free_memory (be, a.qkv);
    tsl_backend_free_memory (be, a.out);
}

int
main (int argc, char **argv)
{
    g_autoptr (GError) error = NULL;
    TslBackend *be = tsl_backend_new ("cpu", &error);

    if (be == NULL) {
        fprintf (stderr, "bench-ops: %s\n", error->message);
        return 1;
    }
    /* OpenBLAS picks its kernels from the CPU model; an unknown model gets
     * slow generic ones (OPENBLAS_CORETYPE overrides the choice) */
    printf ("CPU ops, %d OpenMP threads, OpenBLAS kernels for %s, median of %d runs after a "
            "warm-up\n", omp_get_max_threads (), openblas_get_corename (), BENCH_RUNS);
    bench_gemm (be);
    bench_conv1d (be);
    bench_local_attention (be);
    bench_attention (be);
    tsl_backend_free (be);
    return 0;
}
