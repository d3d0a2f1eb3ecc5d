/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * tests/gpu/ops.c: CUDA-versus-CPU parity of every op in the table
 * (../../libtsl/ops.h), in the manner of ggml's test-backend-ops: one table
 * of cases (op family, shape, parameters, largest accepted NMSE), each run
 * on random inputs on the CPU backend (the reference) and on the CUDA
 * backend, and compared by NMSE = mse(cpu, cuda) / mse(cpu, 0) after a
 * check that both have the same NaN / infinity pattern.
 *
 * Modes (--mode):
 *   test  every forward op; forward outputs start as random garbage, so an
 *         op that leaves an element unwritten is caught;
 *   grad  every backward op; the saved tensors (mean, rstd, att, argmax,
 *         softmax and sigmoid outputs) come from the CPU forward and are
 *         given to both backends, and every d* buffer starts random, so the
 *         accumulate (+=) rule is checked too;
 *   perf  median time per op with CUDA events after a warm-up, at
 *         ActionFormer's sizes (C 512, T 2560, W 11) and gemm TFLOP/s at
 *         4096^3 and 8192^3, next to the same op's CPU time.
 * Without --mode, test and grad run. --op NAME[,NAME...] keeps the cases of
 * those ops (forward or backward names). Every buffer has GUARD_FLOATS
 * canary floats on each side, checked after the op, and every CUDA buffer
 * the op must not write (inputs, dout, the saved tensors, the d* buffers
 * in test mode) is checked to be unchanged.
 *
 * Output is TAP-like ("ok 3 - conv1d B=2 ..."); exit status 0 when all
 * pass, 1 on any failure, 77 (skipped) when there is no CUDA device.
 */
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ops.h"
#include "cuda/cuda-ops.h"

#define GUARD_FLOATS 256
/* NaN payloads no op writes, one per tensor of a case: a value read from
 * one tensor's guard and written into another's still shows */
#define GUARD_CANARY(i) (0x7fc0be00u + (guint32) (i))
#define MAX_TENSORS 16
#define SHOW_MISMATCHES 4

/* ---- NMSE limits, one per kind of difference between the backends ---- */

/* the same float operations, at most reordered or fused (FMA) */
#define NMSE_ELEMENTWISE 1e-12
/* sums over up to a few thousand terms in another order, exp/erf ulps */
#define NMSE_REDUCTION 1e-10
/* long dot products (cuBLAS blocking vs OpenBLAS), softmax chains */
#define NMSE_MATMUL 1e-9

/* ---- cases ---- */

typedef struct {
    const char *op;       /* family: its forward op (test mode) and backward op (grad mode) */
    int B, C, T;          /* batch (or rows), channels, time steps (or row length) */
    int M, N, K;          /* gemm sizes; N tokens or points; K kernel size (height) or classes */
    int Cout, stride, pad, groups;
    int H, W;             /* heads and window; conv2d: image height and width */
    int KW, stride_w;     /* conv2d: kernel width, stride along the width */
    gboolean trans_a, trans_b;
    gboolean masked;      /* give the op its mask / valid / weight input */
    gboolean no_bias;     /* bias (and dbias) NULL */
    gboolean no_dx;       /* dx (or da) NULL in the backward */
    gboolean inplace;     /* out == x */
    gboolean same;        /* conv2d: TensorFlow 'SAME' padding instead of pad */
    gboolean hard;        /* focal loss: 0/1 targets instead of soft ones */
    gboolean no_cpu;      /* perf: too slow to time on the CPU */
    float alpha, beta;    /* gemm scalars; scale factor; focal alpha and gamma */
    float eps;
    double max_nmse;
} OpCase;

static const OpCase test_cases[] = {
    /* linear algebra */
    { "gemm", .B = 1, .M = 1, .N = 1, .K = 1, .alpha = 1, .max_nmse = NMSE_MATMUL },
    { "gemm", .B = 1, .M = 7, .N = 5, .K = 3, .alpha = 1, .max_nmse = NMSE_MATMUL },
    { "gemm", .B = 1, .M = 33, .N = 17, .K = 65, .trans_a = TRUE, .alpha = 0.5f,
      .max_nmse = NMSE_MATMUL },
    { "gemm", .B = 2, .M = 19, .N = 31, .K = 9, .trans_b = TRUE, .alpha = 1, .beta = 1,
      .max_nmse = NMSE_MATMUL },
    { "gemm", .B = 3, .M = 16, .N = 1, .K = 129, .trans_a = TRUE, .trans_b = TRUE, .alpha = -2,
      .beta = 0.25f, .max_nmse = NMSE_MATMUL },
    { "gemm", .B = 4, .M = 257, .N = 130, .K = 511, .alpha = 1, .beta = 0.5f,
      .max_nmse = NMSE_MATMUL },

    /* elementwise; flat ops use n = B * C * T */
    { "bias_add", .B = 2, .C = 17, .T = 37, .max_nmse = NMSE_ELEMENTWISE },
    { "bias_add", .B = 3, .C = 512, .T = 301, .no_dx = TRUE, .max_nmse = NMSE_REDUCTION },
    { "add", .B = 1, .C = 1, .T = 1, .max_nmse = NMSE_ELEMENTWISE },
    { "add", .B = 3, .C = 7, .T = 1001, .no_dx = TRUE, .max_nmse = NMSE_ELEMENTWISE },
    { "mul", .B = 2, .C = 33, .T = 65, .max_nmse = NMSE_ELEMENTWISE },
    { "mul", .B = 1, .C = 5, .T = 3, .no_dx = TRUE, .max_nmse = NMSE_ELEMENTWISE },
    { "scale", .B = 2, .C = 9, .T = 77, .alpha = 0.75f, .max_nmse = NMSE_ELEMENTWISE },
    { "scale", .B = 1, .C = 1, .T = 4097, .alpha = -3, .inplace = TRUE,
      .max_nmse = NMSE_ELEMENTWISE },
    { "channel_scale", .B = 2, .C = 48, .T = 129, .max_nmse = NMSE_REDUCTION },
    { "channel_scale", .B = 5, .C = 1, .T = 300, .no_dx = TRUE, .max_nmse = NMSE_REDUCTION },
    { "mean", .B = 2, .T = 197, .C = 96, .max_nmse = NMSE_REDUCTION },
    { "mean", .B = 3, .T = 1, .C = 5, .max_nmse = NMSE_REDUCTION },

    /* activations */
    { "gelu", .B = 2, .C = 31, .T = 63, .max_nmse = NMSE_ELEMENTWISE },
    { "relu", .B = 2, .C = 31, .T = 63, .max_nmse = NMSE_ELEMENTWISE },
    { "sigmoid", .B = 2, .C = 31, .T = 63, .max_nmse = NMSE_ELEMENTWISE },
    { "gelu", .B = 1, .C = 1, .T = 1, .max_nmse = NMSE_ELEMENTWISE },
    /* softmax rows = B * C, n = T; some rows are all -inf, some half */
    { "softmax", .B = 3, .C = 5, .T = 1, .max_nmse = NMSE_REDUCTION },
    { "softmax", .B = 2, .C = 9, .T = 33, .max_nmse = NMSE_REDUCTION },
    { "softmax", .B = 1, .C = 13, .T = 1568, .max_nmse = NMSE_REDUCTION },

    /* normalisation */
    { "layernorm", .B = 2, .C = 64, .T = 37, .eps = 1e-5f, .max_nmse = NMSE_REDUCTION },
    { "layernorm", .B = 1, .C = 3, .T = 100, .eps = 1e-5f, .max_nmse = NMSE_REDUCTION },
    { "layernorm", .B = 2, .C = 512, .T = 257, .eps = 1e-5f, .max_nmse = NMSE_REDUCTION },
    { "layernorm", .B = 37, .C = 1408, .T = 1, .eps = 1e-6f, .max_nmse = NMSE_REDUCTION },
    { "layernorm", .B = 5, .C = 1, .T = 1, .eps = 1e-5f, .max_nmse = NMSE_REDUCTION },
    { "batchnorm", .B = 2, .C = 16, .T = 49, .eps = 1e-5f, .max_nmse = NMSE_ELEMENTWISE },
    { "batchnorm", .B = 1, .C = 3, .T = 1, .eps = 1e-3f, .max_nmse = NMSE_ELEMENTWISE },

    /* convolution: T is Tin; Tout = (T + 2 pad - K) / stride + 1 */
    { "conv1d", .B = 2, .C = 17, .Cout = 24, .T = 37, .K = 3, .stride = 1, .pad = 1, .groups = 1,
      .max_nmse = NMSE_MATMUL },
    { "conv1d", .B = 2, .C = 32, .Cout = 16, .T = 41, .K = 3, .stride = 2, .pad = 1,
      .groups = 1, .masked = TRUE, .max_nmse = NMSE_MATMUL },
    { "conv1d", .B = 3, .C = 20, .Cout = 11, .T = 50, .K = 1, .stride = 1, .pad = 0,
      .groups = 1, .masked = TRUE, .max_nmse = NMSE_MATMUL },
    { "conv1d", .B = 1, .C = 7, .Cout = 5, .T = 23, .K = 5, .stride = 3, .pad = 2, .groups = 1,
      .no_bias = TRUE, .no_dx = TRUE, .max_nmse = NMSE_MATMUL },
    { "conv1d", .B = 2, .C = 48, .Cout = 48, .T = 67, .K = 3, .stride = 1, .pad = 1,
      .groups = 48, .masked = TRUE, .max_nmse = NMSE_REDUCTION },
    { "conv1d", .B = 2, .C = 24, .Cout = 24, .T = 33, .K = 3, .stride = 2, .pad = 1,
      .groups = 24, .no_bias = TRUE, .max_nmse = NMSE_REDUCTION },
    { "conv1d", .B = 2, .C = 16, .Cout = 8, .T = 29, .K = 3, .stride = 1, .pad = 1, .groups = 4,
      .masked = TRUE, .max_nmse = NMSE_REDUCTION },
    { "conv1d", .B = 2, .C = 256, .Cout = 256, .T = 301, .K = 3, .stride = 1, .pad = 1,
      .groups = 1, .masked = TRUE, .max_nmse = NMSE_MATMUL },
    /* conv2d: H x W image, K x KW kernel; pad on both sides unless 'same' */
    { "conv2d", .B = 2, .C = 3, .H = 17, .W = 19, .Cout = 8, .K = 3, .KW = 3, .stride = 1,
      .stride_w = 1, .same = TRUE, .max_nmse = NMSE_MATMUL },
    { "conv2d", .B = 1, .C = 4, .H = 23, .W = 20, .Cout = 6, .K = 7, .KW = 7, .stride = 2,
      .stride_w = 2, .pad = 3, .max_nmse = NMSE_MATMUL },
    { "conv2d", .B = 2, .C = 16, .H = 9, .W = 7, .Cout = 5, .K = 1, .KW = 1, .stride = 1,
      .stride_w = 1, .no_bias = TRUE, .max_nmse = NMSE_MATMUL },
    { "conv2d", .B = 3, .C = 2, .H = 12, .W = 31, .Cout = 4, .K = 3, .KW = 5, .stride = 2,
      .stride_w = 1, .same = TRUE, .max_nmse = NMSE_MATMUL },

    /* pooling: To = (T + 2 pad - K) / stride + 1 */
    { "maxpool1d", .B = 2, .C = 5, .T = 37, .K = 3, .stride = 2, .pad = 1,
      .max_nmse = NMSE_ELEMENTWISE },
    { "maxpool1d", .B = 1, .C = 3, .T = 20, .K = 2, .stride = 2, .pad = 0,
      .max_nmse = NMSE_ELEMENTWISE },
    { "maxpool1d", .B = 2, .C = 4, .T = 13, .K = 4, .stride = 1, .pad = 2,
      .max_nmse = NMSE_ELEMENTWISE },
    /* maxpool2d: H x W image, K x KW window; 'SAME' (-inf) padding or pad on both sides */
    { "maxpool2d", .B = 2, .C = 5, .H = 75, .W = 40, .K = 3, .KW = 3, .stride = 2,
      .stride_w = 2, .same = TRUE, .max_nmse = NMSE_ELEMENTWISE },
    { "maxpool2d", .B = 1, .C = 3, .H = 10, .W = 9, .K = 2, .KW = 4, .stride = 1,
      .stride_w = 3, .same = TRUE, .max_nmse = NMSE_ELEMENTWISE },
    { "maxpool2d", .B = 2, .C = 2, .H = 9, .W = 11, .K = 3, .KW = 3, .stride = 1,
      .stride_w = 1, .pad = 1, .max_nmse = NMSE_ELEMENTWISE },
    /* mask_downsample: To = N */
    { "mask_downsample", .B = 3, .T = 37, .N = 18, .max_nmse = NMSE_ELEMENTWISE },
    { "mask_downsample", .B = 2, .T = 100, .N = 7, .max_nmse = NMSE_ELEMENTWISE },
    { "mask_downsample", .B = 1, .T = 5, .N = 5, .max_nmse = NMSE_ELEMENTWISE },

    /* attention: C = H * Dh; local attention window W */
    { "local_attention", .B = 2, .C = 32, .T = 37, .H = 4, .W = 9, .masked = TRUE,
      .max_nmse = NMSE_REDUCTION },
    { "local_attention", .B = 1, .C = 60, .T = 5, .H = 4, .W = 9, .masked = TRUE,
      .max_nmse = NMSE_REDUCTION },
    { "local_attention", .B = 2, .C = 16, .T = 1, .H = 1, .W = 3, .masked = TRUE,
      .max_nmse = NMSE_REDUCTION },
    { "local_attention", .B = 1, .C = 24, .T = 70, .H = 2, .W = 1, .masked = TRUE,
      .max_nmse = NMSE_REDUCTION },
    { "local_attention", .B = 2, .C = 64, .T = 131, .H = 4, .W = 37, .masked = TRUE,
      .max_nmse = NMSE_REDUCTION },
    { "local_attention", .B = 2, .C = 512, .T = 300, .H = 4, .W = 19, .masked = TRUE,
      .max_nmse = NMSE_REDUCTION },
    { "attention", .B = 1, .N = 1, .C = 8, .H = 2, .max_nmse = NMSE_MATMUL },
    { "attention", .B = 2, .N = 37, .C = 48, .H = 4, .max_nmse = NMSE_MATMUL },
    { "attention", .B = 2, .N = 197, .C = 96, .H = 3, .max_nmse = NMSE_MATMUL },

    /* losses: N points, K classes; focal alpha, gamma in alpha, beta */
    { "focal_loss", .N = 1, .K = 1, .alpha = 0.25f, .beta = 2, .max_nmse = NMSE_REDUCTION },
    { "focal_loss", .N = 1000, .K = 20, .alpha = 0.25f, .beta = 2, .masked = TRUE,
      .max_nmse = NMSE_REDUCTION },
    { "focal_loss", .N = 333, .K = 7, .alpha = -1, .beta = 0, .hard = TRUE,
      .max_nmse = NMSE_REDUCTION },
    { "focal_loss", .N = 50, .K = 3, .alpha = 0.5f, .beta = 1.5f, .hard = TRUE, .masked = TRUE,
      .max_nmse = NMSE_REDUCTION },
    { "diou_loss", .N = 1, .eps = 1e-8f, .max_nmse = NMSE_REDUCTION },
    { "diou_loss", .N = 777, .eps = 1e-8f, .masked = TRUE, .max_nmse = NMSE_REDUCTION },
    { "diou_loss", .N = 5000, .eps = 1e-6f, .max_nmse = NMSE_REDUCTION },

    /* optimiser: flat ops, n = B * C * T */
    { "sum_squares", .B = 1, .C = 1, .T = 1, .max_nmse = NMSE_REDUCTION },
    { "sum_squares", .B = 3, .C = 333, .T = 1001, .max_nmse = NMSE_REDUCTION },
    { "adamw", .B = 1, .C = 37, .T = 1001, .max_nmse = NMSE_ELEMENTWISE },
    { "ema", .B = 1, .C = 3, .T = 10007, .max_nmse = NMSE_ELEMENTWISE },
};

/* ActionFormer's sizes (C 512, T 2560, W 11, 2 clips) and the ViT's */
static const OpCase perf_cases[] = {
    { "gemm", .B = 1, .M = 4096, .N = 4096, .K = 4096, .alpha = 1, .no_cpu = TRUE },
    { "gemm", .B = 1, .M = 8192, .N = 8192, .K = 8192, .alpha = 1, .no_cpu = TRUE },
    { "conv1d", .B = 2, .C = 512, .Cout = 512, .T = 2560, .K = 3, .stride = 1, .pad = 1,
      .groups = 1, .masked = TRUE },
    { "conv1d", .B = 2, .C = 512, .Cout = 512, .T = 2560, .K = 3, .stride = 1, .pad = 1,
      .groups = 512, .masked = TRUE },
    { "conv1d", .B = 2, .C = 512, .Cout = 512, .T = 2560, .K = 1, .stride = 1, .pad = 0,
      .groups = 1, .masked = TRUE },
    { "local_attention", .B = 2, .C = 512, .T = 2560, .H = 4, .W = 11, .masked = TRUE },
    { "layernorm", .B = 2, .C = 512, .T = 2560, .eps = 1e-5f },
    { "maxpool1d", .B = 2, .C = 512, .T = 2560, .K = 3, .stride = 2, .pad = 1 },
    { "gelu", .B = 2, .C = 512, .T = 2560 },
    { "bias_add", .B = 2, .C = 512, .T = 2560 },
    { "channel_scale", .B = 2, .C = 512, .T = 2560 },
    { "softmax", .B = 2, .C = 4 * 2560, .T = 11 },
    { "attention", .B = 1, .N = 1568, .C = 768, .H = 12 },
    { "conv2d", .B = 8, .C = 64, .H = 48, .W = 40, .Cout = 64, .K = 3, .KW = 3, .stride = 1,
      .stride_w = 1, .same = TRUE },
    { "focal_loss", .N = 2 * 5120, .K = 20, .alpha = 0.25f, .beta = 2, .masked = TRUE },
    { "adamw", .B = 1, .C = 1, .T = 30000000 },
};

/* ---- tensors of one case ---- */

typedef enum {
    ROLE_INPUT,     /* read by forward and backward */
    ROLE_OUTPUT,    /* written by the forward (compared in test mode); saved for the backward */
    ROLE_GRAD_OUT,  /* dout, read by the backward */
    ROLE_GRAD,      /* d*, added to by the backward (compared in grad mode) */
} Role;

typedef enum {
    FILL_NORMAL,    /* N(0, 1) */
    FILL_POSITIVE,  /* U(0.1, 2): variances, distances */
    FILL_UNIT,      /* U(0, 1): soft targets, second moments */
    FILL_BINARY,    /* 0 or 1, mostly 1: valid flags, hard targets */
    FILL_MASK,      /* [rows, row_len] ones then zeros, tails of random length */
    FILL_NEG_INF,   /* [rows, row_len] normal; some rows all -inf, some half */
    FILL_INT,       /* int32 output; starts as -7 */
} Fill;

typedef struct {
    const char *name;
    Role role;
    Fill fill;
    size_t n;       /* elements (4 bytes each) */
    int row_len;    /* FILL_MASK, FILL_NEG_INF */
} TensorSpec;

typedef struct {
    TensorSpec spec[MAX_TENSORS];
    int n_specs;
    float *init[MAX_TENSORS];  /* host: the values every backend starts from */
    float *dev[MAX_TENSORS];   /* the active backend's buffers, guards excluded */
} Tensors;

static void
add_tensor (Tensors *ts, const char *name, Role role, Fill fill, size_t n, int row_len)
{
    g_assert (ts->n_specs < MAX_TENSORS);
    ts->spec[ts->n_specs++] = (TensorSpec) { name, role, fill, n, row_len };
}

static void
add (Tensors *ts, const char *name, Role role, Fill fill, size_t n)
{
    add_tensor (ts, name, role, fill, n, 0);
}

static int
tensor_index (const Tensors *ts, const char *name)
{
    for (int i = 0; i < ts->n_specs; i++)
        if (strcmp (ts->spec[i].name, name) == 0)
            return i;
    return -1;
}

/* the active backend's pointer; a name the case did not add is a bug */
static float *
tensor (const Tensors *ts, const char *name)
{
    int i = tensor_index (ts, name);

    if (i < 0)
        g_error ("tests/gpu/ops: no tensor '%s'", name);
    return ts->dev[i];
}

/* NULL when the case left the tensor out (NULL-able arguments) */
static float *
tensor_or_null (const Tensors *ts, const char *name)
{
    int i = tensor_index (ts, name);

    return i < 0 ? NULL : ts->dev[i];
}

#define T(name) tensor (ts, (name))
#define T_OR_NULL(name) tensor_or_null (ts, (name))
#define T_INT(name) ((int32_t *) tensor (ts, (name)))

/* ---- op families ---- */

typedef struct {
    const char *name;      /* forward op, as in TslBackendOps */
    const char *backward_name;  /* backward op, or NULL */
    size_t forward_slot;   /* offsetof (TslBackendOps, op) */
    size_t backward_slot;  /* 0 without a backward */
    void (*describe) (const OpCase *c, Tensors *ts);
    void (*forward) (TslBackend *be, const OpCase *c, const Tensors *ts);
    void (*backward) (TslBackend *be, const OpCase *c, const Tensors *ts);
    double (*flops) (const OpCase *c);  /* forward floating-point operations, or NULL */
} OpFamily;

static size_t
flat_n (const OpCase *c)
{
    return (size_t) c->B * c->C * c->T;
}

/* gemm: batch items separated by a gap of 3 floats, as in tests/unit/cpu/gemm.c */
static size_t gemm_stride_a (const OpCase *c) { return (size_t) c->M * c->K + 3; }
static size_t gemm_stride_b (const OpCase *c) { return (size_t) c->K * c->N + 3; }
static size_t gemm_stride_c (const OpCase *c) { return (size_t) c->M * c->N + 3; }

static void
gemm_describe (const OpCase *c, Tensors *ts)
{
    add (ts, "a", ROLE_INPUT, FILL_NORMAL, gemm_stride_a (c) * c->B);
    add (ts, "b", ROLE_INPUT, FILL_NORMAL, gemm_stride_b (c) * c->B);
    add (ts, "c", ROLE_OUTPUT, FILL_NORMAL, gemm_stride_c (c) * c->B);
}

static void
gemm_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->gemm (be, T ("c"), T ("a"), T ("b"), c->B, c->M, c->N, c->K, c->trans_a, c->trans_b,
                   c->alpha, c->beta, gemm_stride_a (c), gemm_stride_b (c), gemm_stride_c (c));
}

static double
gemm_flops (const OpCase *c)
{
    return 2.0 * c->B * c->M * c->N * c->K;
}

static void
bias_add_describe (const OpCase *c, Tensors *ts)
{
    add (ts, "x", ROLE_INPUT, FILL_NORMAL, flat_n (c));
    add (ts, "bias", ROLE_INPUT, FILL_NORMAL, c->C);
    add (ts, "out", ROLE_OUTPUT, FILL_NORMAL, flat_n (c));
    add (ts, "dout", ROLE_GRAD_OUT, FILL_NORMAL, flat_n (c));
    if (!c->no_dx)
        add (ts, "dx", ROLE_GRAD, FILL_NORMAL, flat_n (c));
    add (ts, "dbias", ROLE_GRAD, FILL_NORMAL, c->C);
}

static void
bias_add_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->bias_add (be, T ("out"), T ("x"), T ("bias"), c->B, c->C, c->T);
}

static void
bias_add_backward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->bias_add_backward (be, T_OR_NULL ("dx"), T ("dbias"), T ("dout"), c->B, c->C, c->T);
}

/* add and mul share their tensors */
static void
binary_describe (const OpCase *c, Tensors *ts)
{
    add (ts, "a", ROLE_INPUT, FILL_NORMAL, flat_n (c));
    add (ts, "b", ROLE_INPUT, FILL_NORMAL, flat_n (c));
    add (ts, "out", ROLE_OUTPUT, FILL_NORMAL, flat_n (c));
    add (ts, "dout", ROLE_GRAD_OUT, FILL_NORMAL, flat_n (c));
    if (!c->no_dx)
        add (ts, "da", ROLE_GRAD, FILL_NORMAL, flat_n (c));
    add (ts, "db", ROLE_GRAD, FILL_NORMAL, flat_n (c));
}

static void
add_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->add (be, T ("out"), T ("a"), T ("b"), flat_n (c));
}

static void
add_backward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->add_backward (be, T_OR_NULL ("da"), T ("db"), T ("dout"), flat_n (c));
}

static void
mul_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->mul (be, T ("out"), T ("a"), T ("b"), flat_n (c));
}

static void
mul_backward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->mul_backward (be, T_OR_NULL ("da"), T ("db"), T ("dout"), T ("a"), T ("b"),
                           flat_n (c));
}

/* scale; in place, out holds x's values and is both argument */
static void
scale_describe (const OpCase *c, Tensors *ts)
{
    if (!c->inplace)
        add (ts, "x", ROLE_INPUT, FILL_NORMAL, flat_n (c));
    add (ts, "out", ROLE_OUTPUT, FILL_NORMAL, flat_n (c));
    add (ts, "dout", ROLE_GRAD_OUT, FILL_NORMAL, flat_n (c));
    add (ts, "dx", ROLE_GRAD, FILL_NORMAL, flat_n (c));
}

static void
scale_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->scale (be, T ("out"), c->inplace ? T ("out") : T ("x"), c->alpha, flat_n (c));
}

static void
scale_backward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->scale_backward (be, T ("dx"), T ("dout"), c->alpha, flat_n (c));
}

static void
channel_scale_describe (const OpCase *c, Tensors *ts)
{
    add (ts, "x", ROLE_INPUT, FILL_NORMAL, flat_n (c));
    add (ts, "s", ROLE_INPUT, FILL_NORMAL, c->C);
    add (ts, "out", ROLE_OUTPUT, FILL_NORMAL, flat_n (c));
    add (ts, "dout", ROLE_GRAD_OUT, FILL_NORMAL, flat_n (c));
    if (!c->no_dx)
        add (ts, "dx", ROLE_GRAD, FILL_NORMAL, flat_n (c));
    add (ts, "ds", ROLE_GRAD, FILL_NORMAL, c->C);
}

static void
channel_scale_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->channel_scale (be, T ("out"), T ("x"), T ("s"), c->B, c->C, c->T);
}

static void
channel_scale_backward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->channel_scale_backward (be, T_OR_NULL ("dx"), T ("ds"), T ("dout"), T ("x"), T ("s"),
                                     c->B, c->C, c->T);
}

/* mean over tokens: x [A = B, N = T, C] */
static void
mean_describe (const OpCase *c, Tensors *ts)
{
    add (ts, "x", ROLE_INPUT, FILL_NORMAL, flat_n (c));
    add (ts, "out", ROLE_OUTPUT, FILL_NORMAL, (size_t) c->B * c->C);
    add (ts, "dout", ROLE_GRAD_OUT, FILL_NORMAL, (size_t) c->B * c->C);
    add (ts, "dx", ROLE_GRAD, FILL_NORMAL, flat_n (c));
}

static void
mean_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->mean (be, T ("out"), T ("x"), c->B, c->T, c->C);
}

static void
mean_backward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->mean_backward (be, T ("dx"), T ("dout"), c->B, c->T, c->C);
}

/* activations: backward reads x (gelu, relu) or the forward output (sigmoid) */
static void
activation_describe (const OpCase *c, Tensors *ts)
{
    add (ts, "x", ROLE_INPUT, FILL_NORMAL, flat_n (c));
    add (ts, "out", ROLE_OUTPUT, FILL_NORMAL, flat_n (c));
    add (ts, "dout", ROLE_GRAD_OUT, FILL_NORMAL, flat_n (c));
    add (ts, "dx", ROLE_GRAD, FILL_NORMAL, flat_n (c));
}

static void
gelu_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->gelu (be, T ("out"), T ("x"), flat_n (c));
}

static void
gelu_backward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->gelu_backward (be, T ("dx"), T ("dout"), T ("x"), flat_n (c));
}

static void
relu_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->relu (be, T ("out"), T ("x"), flat_n (c));
}

static void
relu_backward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->relu_backward (be, T ("dx"), T ("dout"), T ("x"), flat_n (c));
}

static void
sigmoid_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->sigmoid (be, T ("out"), T ("x"), flat_n (c));
}

static void
sigmoid_backward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->sigmoid_backward (be, T ("dx"), T ("dout"), T ("out"), flat_n (c));
}

/* softmax over rows = B * C of n = T */
static void
softmax_describe (const OpCase *c, Tensors *ts)
{
    add_tensor (ts, "x", ROLE_INPUT, FILL_NEG_INF, flat_n (c), c->T);
    add (ts, "out", ROLE_OUTPUT, FILL_NORMAL, flat_n (c));
    add (ts, "dout", ROLE_GRAD_OUT, FILL_NORMAL, flat_n (c));
    add (ts, "dx", ROLE_GRAD, FILL_NORMAL, flat_n (c));
}

static void
softmax_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->softmax (be, T ("out"), T ("x"), c->B * c->C, c->T);
}

static void
softmax_backward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->softmax_backward (be, T ("dx"), T ("dout"), T ("out"), c->B * c->C, c->T);
}

static void
layernorm_describe (const OpCase *c, Tensors *ts)
{
    add (ts, "x", ROLE_INPUT, FILL_NORMAL, flat_n (c));
    add (ts, "gamma", ROLE_INPUT, FILL_NORMAL, c->C);
    add (ts, "beta", ROLE_INPUT, FILL_NORMAL, c->C);
    add (ts, "out", ROLE_OUTPUT, FILL_NORMAL, flat_n (c));
    add (ts, "mean", ROLE_OUTPUT, FILL_NORMAL, (size_t) c->B * c->T);
    add (ts, "rstd", ROLE_OUTPUT, FILL_NORMAL, (size_t) c->B * c->T);
    add (ts, "dout", ROLE_GRAD_OUT, FILL_NORMAL, flat_n (c));
    add (ts, "dx", ROLE_GRAD, FILL_NORMAL, flat_n (c));
    add (ts, "dgamma", ROLE_GRAD, FILL_NORMAL, c->C);
    add (ts, "dbeta", ROLE_GRAD, FILL_NORMAL, c->C);
}

static void
layernorm_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->layernorm (be, T ("out"), T ("mean"), T ("rstd"), T ("x"), T ("gamma"), T ("beta"),
                        c->B, c->C, c->T, c->eps);
}

static void
layernorm_backward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->layernorm_backward (be, T ("dx"), T ("dgamma"), T ("dbeta"), T ("dout"), T ("x"),
                                 T ("gamma"), T ("mean"), T ("rstd"), c->B, c->C, c->T);
}

/* batch norm: S = T */
static void
batchnorm_describe (const OpCase *c, Tensors *ts)
{
    add (ts, "x", ROLE_INPUT, FILL_NORMAL, flat_n (c));
    add (ts, "mean", ROLE_INPUT, FILL_NORMAL, c->C);
    add (ts, "var", ROLE_INPUT, FILL_POSITIVE, c->C);
    add (ts, "gamma", ROLE_INPUT, FILL_NORMAL, c->C);
    add (ts, "beta", ROLE_INPUT, FILL_NORMAL, c->C);
    add (ts, "out", ROLE_OUTPUT, FILL_NORMAL, flat_n (c));
}

static void
batchnorm_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->batchnorm (be, T ("out"), T ("x"), T ("mean"), T ("var"), T ("gamma"), T ("beta"),
                        c->B, c->C, c->T, c->eps);
}

/* conv1d: Cin = C, Tin = T */
static int
conv1d_tout (const OpCase *c)
{
    return (c->T + 2 * c->pad - c->K) / c->stride + 1;
}

static void
conv1d_describe (const OpCase *c, Tensors *ts)
{
    const size_t n_in = (size_t) c->B * c->C * c->T;
    const size_t n_out = (size_t) c->B * c->Cout * conv1d_tout (c);
    const size_t n_w = (size_t) c->Cout * (c->C / c->groups) * c->K;

    add (ts, "x", ROLE_INPUT, FILL_NORMAL, n_in);
    add (ts, "w", ROLE_INPUT, FILL_NORMAL, n_w);
    if (!c->no_bias)
        add (ts, "bias", ROLE_INPUT, FILL_NORMAL, c->Cout);
    if (c->masked)
        add_tensor (ts, "mask", ROLE_INPUT, FILL_MASK, (size_t) c->B * conv1d_tout (c),
                    conv1d_tout (c));
    add (ts, "out", ROLE_OUTPUT, FILL_NORMAL, n_out);
    add (ts, "dout", ROLE_GRAD_OUT, FILL_NORMAL, n_out);
    if (!c->no_dx)
        add (ts, "dx", ROLE_GRAD, FILL_NORMAL, n_in);
    add (ts, "dw", ROLE_GRAD, FILL_NORMAL, n_w);
    if (!c->no_bias)
        add (ts, "dbias", ROLE_GRAD, FILL_NORMAL, c->Cout);
}

static void
conv1d_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->conv1d (be, T ("out"), T ("x"), T ("w"), T_OR_NULL ("bias"), T_OR_NULL ("mask"),
                     c->B, c->C, c->Cout, c->T, conv1d_tout (c), c->K, c->stride, c->pad,
                     c->groups);
}

static void
conv1d_backward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->conv1d_backward (be, T_OR_NULL ("dx"), T ("dw"), T_OR_NULL ("dbias"), T ("dout"),
                              T ("x"), T ("w"), T_OR_NULL ("mask"), c->B, c->C, c->Cout, c->T,
                              conv1d_tout (c), c->K, c->stride, c->pad, c->groups);
}

static double
conv1d_flops (const OpCase *c)
{
    return 2.0 * c->B * c->Cout * conv1d_tout (c) * (c->C / c->groups) * c->K;
}

/* conv2d: H x W image, K x KW kernel */
typedef struct {
    int pad_top, pad_left, Ho, Wo;
} Conv2dGeometry;

static Conv2dGeometry
conv2d_geometry (const OpCase *c)
{
    Conv2dGeometry g;

    if (c->same) {
        tsl_conv2d_same_padding (c->H, c->K, c->stride, &g.pad_top, &g.Ho);
        tsl_conv2d_same_padding (c->W, c->KW, c->stride_w, &g.pad_left, &g.Wo);
    } else {
        g.pad_top = g.pad_left = c->pad;
        g.Ho = (c->H + 2 * c->pad - c->K) / c->stride + 1;
        g.Wo = (c->W + 2 * c->pad - c->KW) / c->stride_w + 1;
    }
    return g;
}

static void
conv2d_describe (const OpCase *c, Tensors *ts)
{
    const Conv2dGeometry g = conv2d_geometry (c);

    add (ts, "x", ROLE_INPUT, FILL_NORMAL, (size_t) c->B * c->C * c->H * c->W);
    add (ts, "w", ROLE_INPUT, FILL_NORMAL, (size_t) c->Cout * c->C * c->K * c->KW);
    if (!c->no_bias)
        add (ts, "bias", ROLE_INPUT, FILL_NORMAL, c->Cout);
    add (ts, "out", ROLE_OUTPUT, FILL_NORMAL, (size_t) c->B * c->Cout * g.Ho * g.Wo);
}

static void
conv2d_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    const Conv2dGeometry g = conv2d_geometry (c);

    be->ops->conv2d (be, T ("out"), T ("x"), T ("w"), T_OR_NULL ("bias"), c->B, c->C, c->H, c->W,
                     c->Cout, c->K, c->KW, c->stride, c->stride_w, g.pad_top, g.pad_left, g.Ho,
                     g.Wo);
}

static double
conv2d_flops (const OpCase *c)
{
    const Conv2dGeometry g = conv2d_geometry (c);

    return 2.0 * c->B * c->Cout * g.Ho * g.Wo * c->C * c->K * c->KW;
}

/* maxpool1d */
static int
maxpool_to (const OpCase *c)
{
    return (c->T + 2 * c->pad - c->K) / c->stride + 1;
}

static void
maxpool1d_describe (const OpCase *c, Tensors *ts)
{
    const size_t n_out = (size_t) c->B * c->C * maxpool_to (c);

    add (ts, "x", ROLE_INPUT, FILL_NORMAL, flat_n (c));
    add (ts, "out", ROLE_OUTPUT, FILL_NORMAL, n_out);
    add (ts, "argmax", ROLE_OUTPUT, FILL_INT, n_out);
    add (ts, "dout", ROLE_GRAD_OUT, FILL_NORMAL, n_out);
    add (ts, "dx", ROLE_GRAD, FILL_NORMAL, flat_n (c));
}

static void
maxpool1d_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->maxpool1d (be, T ("out"), T_INT ("argmax"), T ("x"), c->B, c->C, c->T,
                        maxpool_to (c), c->K, c->stride, c->pad);
}

static void
maxpool1d_backward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->maxpool1d_backward (be, T ("dx"), T ("dout"), T_INT ("argmax"), c->B, c->C, c->T,
                                 maxpool_to (c));
}

/* maxpool2d: the geometry of conv2d (K x KW window, same or pad) */
static void
maxpool2d_describe (const OpCase *c, Tensors *ts)
{
    const Conv2dGeometry g = conv2d_geometry (c);

    add (ts, "x", ROLE_INPUT, FILL_NORMAL, (size_t) c->B * c->C * c->H * c->W);
    add (ts, "out", ROLE_OUTPUT, FILL_NORMAL, (size_t) c->B * c->C * g.Ho * g.Wo);
}

static void
maxpool2d_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    const Conv2dGeometry g = conv2d_geometry (c);

    be->ops->maxpool2d (be, T ("out"), T ("x"), c->B, c->C, c->H, c->W, c->K, c->KW, c->stride,
                        c->stride_w, g.pad_top, g.pad_left, g.Ho, g.Wo);
}

/* mask_downsample: [B, T] to [B, To = N] */
static void
mask_downsample_describe (const OpCase *c, Tensors *ts)
{
    add_tensor (ts, "mask", ROLE_INPUT, FILL_MASK, (size_t) c->B * c->T, c->T);
    add (ts, "out", ROLE_OUTPUT, FILL_NORMAL, (size_t) c->B * c->N);
}

static void
mask_downsample_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->mask_downsample (be, T ("out"), T ("mask"), c->B, c->T, c->N);
}

/* local attention: the scale is 1 / sqrt(Dh), as in ActionFormer */
static float
head_scale (const OpCase *c)
{
    return 1.0f / sqrtf ((float) (c->C / c->H));
}

static void
local_attention_describe (const OpCase *c, Tensors *ts)
{
    const size_t att = (size_t) c->B * c->H * c->T * c->W;

    add (ts, "q", ROLE_INPUT, FILL_NORMAL, flat_n (c));
    add (ts, "k", ROLE_INPUT, FILL_NORMAL, flat_n (c));
    add (ts, "v", ROLE_INPUT, FILL_NORMAL, flat_n (c));
    add_tensor (ts, "mask", ROLE_INPUT, FILL_MASK, (size_t) c->B * c->T, c->T);
    add (ts, "out", ROLE_OUTPUT, FILL_NORMAL, flat_n (c));
    add (ts, "att", ROLE_OUTPUT, FILL_NORMAL, att);
    add (ts, "dout", ROLE_GRAD_OUT, FILL_NORMAL, flat_n (c));
    add (ts, "dq", ROLE_GRAD, FILL_NORMAL, flat_n (c));
    add (ts, "dk", ROLE_GRAD, FILL_NORMAL, flat_n (c));
    add (ts, "dv", ROLE_GRAD, FILL_NORMAL, flat_n (c));
}

static void
local_attention_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->local_attention (be, T ("out"), T ("att"), T ("q"), T ("k"), T ("v"), T ("mask"),
                              c->B, c->C, c->T, c->H, c->W, head_scale (c));
}

static void
local_attention_backward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->local_attention_backward (be, T ("dq"), T ("dk"), T ("dv"), T ("dout"), T ("att"),
                                       T ("q"), T ("k"), T ("v"), c->B, c->C, c->T, c->H, c->W,
                                       head_scale (c));
}

static double
local_attention_flops (const OpCase *c)
{
    return 4.0 * c->B * c->C * c->T * c->W;
}

/* full attention over N tokens */
static void
attention_describe (const OpCase *c, Tensors *ts)
{
    add (ts, "qkv", ROLE_INPUT, FILL_NORMAL, (size_t) c->B * c->N * 3 * c->C);
    add (ts, "out", ROLE_OUTPUT, FILL_NORMAL, (size_t) c->B * c->N * c->C);
}

static void
attention_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->attention (be, T ("out"), T ("qkv"), c->B, c->N, c->C, c->H, head_scale (c));
}

static double
attention_flops (const OpCase *c)
{
    return 4.0 * c->B * c->N * c->N * c->C;
}

/* focal loss: alpha = c->alpha, gamma = c->beta; the backward scales by DLOSS */
#define DLOSS 0.7f

static void
focal_loss_describe (const OpCase *c, Tensors *ts)
{
    const size_t n = (size_t) c->N * c->K;

    add (ts, "logits", ROLE_INPUT, FILL_NORMAL, n);
    add (ts, "targets", ROLE_INPUT, c->hard ? FILL_BINARY : FILL_UNIT, n);
    if (c->masked)
        add (ts, "valid", ROLE_INPUT, FILL_BINARY, c->N);
    add (ts, "loss", ROLE_OUTPUT, FILL_NORMAL, 1);
    add (ts, "dlogits", ROLE_GRAD, FILL_NORMAL, n);
}

static void
focal_loss_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->focal_loss (be, T ("loss"), T ("logits"), T ("targets"), T_OR_NULL ("valid"), c->N,
                         c->K, c->alpha, c->beta);
}

static void
focal_loss_backward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->focal_loss_backward (be, T ("dlogits"), T ("logits"), T ("targets"),
                                  T_OR_NULL ("valid"), c->N, c->K, c->alpha, c->beta, DLOSS);
}

static void
diou_loss_describe (const OpCase *c, Tensors *ts)
{
    add (ts, "pred", ROLE_INPUT, FILL_POSITIVE, (size_t) c->N * 2);
    add (ts, "target", ROLE_INPUT, FILL_POSITIVE, (size_t) c->N * 2);
    if (c->masked)
        add (ts, "weight", ROLE_INPUT, FILL_UNIT, c->N);
    add (ts, "loss", ROLE_OUTPUT, FILL_NORMAL, 1);
    add (ts, "dpred", ROLE_GRAD, FILL_NORMAL, (size_t) c->N * 2);
}

static void
diou_loss_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->diou_loss (be, T ("loss"), T ("pred"), T ("target"), T_OR_NULL ("weight"), c->N,
                        c->eps);
}

static void
diou_loss_backward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->diou_loss_backward (be, T ("dpred"), T ("pred"), T ("target"), T_OR_NULL ("weight"),
                                 c->N, c->eps, DLOSS);
}

static void
sum_squares_describe (const OpCase *c, Tensors *ts)
{
    add (ts, "x", ROLE_INPUT, FILL_NORMAL, flat_n (c));
    add (ts, "out", ROLE_OUTPUT, FILL_NORMAL, 1);
}

static void
sum_squares_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->sum_squares (be, T ("out"), T ("x"), flat_n (c));
}

/* adamw updates param, m and v in place: they are outputs with meaningful starts */
static void
adamw_describe (const OpCase *c, Tensors *ts)
{
    add (ts, "grad", ROLE_INPUT, FILL_NORMAL, flat_n (c));
    add (ts, "param", ROLE_OUTPUT, FILL_NORMAL, flat_n (c));
    add (ts, "m", ROLE_OUTPUT, FILL_NORMAL, flat_n (c));
    add (ts, "v", ROLE_OUTPUT, FILL_UNIT, flat_n (c));
}

static void
adamw_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->adamw (be, T ("param"), T ("m"), T ("v"), T ("grad"), flat_n (c), 1e-3, 0.9,
                    0.999, 1e-8, 0.05, 3);
}

static void
ema_describe (const OpCase *c, Tensors *ts)
{
    add (ts, "param", ROLE_INPUT, FILL_NORMAL, flat_n (c));
    add (ts, "ema", ROLE_OUTPUT, FILL_NORMAL, flat_n (c));
}

static void
ema_forward (TslBackend *be, const OpCase *c, const Tensors *ts)
{
    be->ops->ema (be, T ("ema"), T ("param"), flat_n (c), 0.999);
}

#define SLOT(op) offsetof (TslBackendOps, op)

static const OpFamily families[] = {
    { "gemm", NULL, SLOT (gemm), 0, gemm_describe, gemm_forward, NULL, gemm_flops },
    { "bias_add", "bias_add_backward", SLOT (bias_add), SLOT (bias_add_backward),
      bias_add_describe, bias_add_forward, bias_add_backward, NULL },
    { "add", "add_backward", SLOT (add), SLOT (add_backward), binary_describe, add_forward,
      add_backward, NULL },
    { "mul", "mul_backward", SLOT (mul), SLOT (mul_backward), binary_describe, mul_forward,
      mul_backward, NULL },
    { "scale", "scale_backward", SLOT (scale), SLOT (scale_backward), scale_describe,
      scale_forward, scale_backward, NULL },
    { "channel_scale", "channel_scale_backward", SLOT (channel_scale),
      SLOT (channel_scale_backward), channel_scale_describe, channel_scale_forward,
      channel_scale_backward, NULL },
    { "mean", "mean_backward", SLOT (mean), SLOT (mean_backward), mean_describe, mean_forward,
      mean_backward, NULL },
    { "gelu", "gelu_backward", SLOT (gelu), SLOT (gelu_backward), activation_describe,
      gelu_forward, gelu_backward, NULL },
    { "relu", "relu_backward", SLOT (relu), SLOT (relu_backward), activation_describe,
      relu_forward, relu_backward, NULL },
    { "sigmoid", "sigmoid_backward", SLOT (sigmoid), SLOT (sigmoid_backward),
      activation_describe, sigmoid_forward, sigmoid_backward, NULL },
    { "softmax", "softmax_backward", SLOT (softmax), SLOT (softmax_backward), softmax_describe,
      softmax_forward, softmax_backward, NULL },
    { "layernorm", "layernorm_backward", SLOT (layernorm), SLOT (layernorm_backward),
      layernorm_describe, layernorm_forward, layernorm_backward, NULL },
    { "batchnorm", NULL, SLOT (batchnorm), 0, batchnorm_describe, batchnorm_forward, NULL,
      NULL },
    { "conv1d", "conv1d_backward", SLOT (conv1d), SLOT (conv1d_backward), conv1d_describe,
      conv1d_forward, conv1d_backward, conv1d_flops },
    { "conv2d", NULL, SLOT (conv2d), 0, conv2d_describe, conv2d_forward, NULL, conv2d_flops },
    { "maxpool1d", "maxpool1d_backward", SLOT (maxpool1d), SLOT (maxpool1d_backward),
      maxpool1d_describe, maxpool1d_forward, maxpool1d_backward, NULL },
    { "maxpool2d", NULL, SLOT (maxpool2d), 0, maxpool2d_describe, maxpool2d_forward, NULL,
      NULL },
    { "mask_downsample", NULL, SLOT (mask_downsample), 0, mask_downsample_describe,
      mask_downsample_forward, NULL, NULL },
    { "local_attention", "local_attention_backward", SLOT (local_attention),
      SLOT (local_attention_backward), local_attention_describe, local_attention_forward,
      local_attention_backward, local_attention_flops },
    { "attention", NULL, SLOT (attention), 0, attention_describe, attention_forward, NULL,
      attention_flops },
    { "focal_loss", "focal_loss_backward", SLOT (focal_loss), SLOT (focal_loss_backward),
      focal_loss_describe, focal_loss_forward, focal_loss_backward, NULL },
    { "diou_loss", "diou_loss_backward", SLOT (diou_loss), SLOT (diou_loss_backward),
      diou_loss_describe, diou_loss_forward, diou_loss_backward, NULL },
    { "sum_squares", NULL, SLOT (sum_squares), 0, sum_squares_describe, sum_squares_forward,
      NULL, NULL },
    { "adamw", NULL, SLOT (adamw), 0, adamw_describe, adamw_forward, NULL, NULL },
    { "ema", NULL, SLOT (ema), 0, ema_describe, ema_forward, NULL, NULL },
};

static const OpFamily *
find_family (const char *name)
{
    for (guint i = 0; i < G_N_ELEMENTS (families); i++)
        if (strcmp (families[i].name, name) == 0)
            return &families[i];
    g_error ("tests/gpu/ops: unknown op family '%s'", name);
    return NULL;
}

static gboolean
backend_has (const TslBackend *be, size_t slot)
{
    return *(void *const *) ((const char *) be->ops + slot) != NULL;
}

/* "B=2 C=17 T=37 Cout=24 K=3 stride=2 masked" */
static char *
case_vars (const OpCase *c)
{
    GString *s = g_string_new (NULL);

#define INT_VAR(field)                                                                          \
    if (c->field)                                                                               \
        g_string_append_printf (s, " %s=%d", #field, c->field)
#define FLAG_VAR(field)                                                                         \
    if (c->field)                                                                               \
        g_string_append (s, " " #field)
#define FLOAT_VAR(field)                                                                        \
    if (c->field != 0.0f)                                                                       \
        g_string_append_printf (s, " %s=%g", #field, c->field)
    INT_VAR (B); INT_VAR (C); INT_VAR (T); INT_VAR (M); INT_VAR (N); INT_VAR (K);
    INT_VAR (Cout); INT_VAR (stride); INT_VAR (pad); INT_VAR (groups); INT_VAR (H); INT_VAR (W);
    INT_VAR (KW); INT_VAR (stride_w);
    FLAG_VAR (trans_a); FLAG_VAR (trans_b); FLAG_VAR (masked); FLAG_VAR (no_bias);
    FLAG_VAR (no_dx); FLAG_VAR (inplace); FLAG_VAR (same); FLAG_VAR (hard);
    FLOAT_VAR (alpha); FLOAT_VAR (beta); FLOAT_VAR (eps);
#undef INT_VAR
#undef FLAG_VAR
#undef FLOAT_VAR
    return g_string_free (s, FALSE);
}

/* ---- host data ---- */

static void
fill_tensor (TslTestRng *rng, const TensorSpec *s, float *x)
{
    const int rows = s->row_len ? (int) (s->n / s->row_len) : 0;

    switch (s->fill) {
    case FILL_NORMAL:
        tsl_test_fill_normal (rng, x, s->n, 1.0f);
        break;
    case FILL_POSITIVE:
        tsl_test_fill_uniform (rng, x, s->n, 0.1f, 2.0f);
        break;
    case FILL_UNIT:
        tsl_test_fill_uniform (rng, x, s->n, 0.0f, 1.0f);
        break;
    case FILL_BINARY:
        for (size_t i = 0; i < s->n; i++)
            x[i] = tsl_test_rng_uniform (rng) < 0.7 ? 1.0f : 0.0f;
        break;
    case FILL_MASK:
        /* even rows lose their last third, odd rows a random tail (maybe none) */
        for (int r = 0; r < rows; r++) {
            const int len = s->row_len;
            const int valid = r % 2 == 0 ? MAX (len - len / 3, 1) : tsl_test_rng_int (rng, 1, len);
            for (int t = 0; t < len; t++)
                x[(size_t) r * len + t] = t < valid ? 1.0f : 0.0f;
        }
        break;
    case FILL_NEG_INF:
        tsl_test_fill_normal (rng, x, s->n, 2.0f);
        for (int r = 0; r < rows; r++) {
            const int len = s->row_len;
            const int masked_from = r % 4 == 1 ? 0 : r % 4 == 2 ? len / 2 + 1 : len;
            for (int t = masked_from; t < len; t++)
                x[(size_t) r * len + t] = -INFINITY;
        }
        break;
    case FILL_INT:
        for (size_t i = 0; i < s->n; i++)
            ((int32_t *) x)[i] = -7;
        break;
    }
}

static void
tensors_init (Tensors *ts, const OpCase *c, const OpFamily *f, guint64 seed)
{
    TslTestRng rng;

    memset (ts, 0, sizeof *ts);
    f->describe (c, ts);
    tsl_test_rng_init (&rng, seed);
    for (int i = 0; i < ts->n_specs; i++) {
        ts->init[i] = g_new (float, MAX (ts->spec[i].n, 1));
        fill_tensor (&rng, &ts->spec[i], ts->init[i]);
    }
}

static void
tensors_clear (Tensors *ts)
{
    for (int i = 0; i < ts->n_specs; i++)
        g_free (ts->init[i]);
}

/* ---- guarded device buffers ---- */

/* The buffers of one case on one backend: [guard | data | guard] each. */
typedef struct {
    TslBackend *be;
    float *base[MAX_TENSORS];
    int n;
} Placement;

static gboolean
place (Placement *p, TslBackend *be, Tensors *ts, GError **error)
{
    guint32 canary[GUARD_FLOATS];

    memset (p, 0, sizeof *p);
    p->be = be;
    for (int i = 0; i < ts->n_specs; i++) {
        const size_t n = ts->spec[i].n;
        float *base = tsl_backend_alloc (be, (n + 2 * GUARD_FLOATS) * sizeof (float), error);

        if (base == NULL)
            return FALSE;
        p->base[i] = base;
        p->n = i + 1;
        for (int g = 0; g < GUARD_FLOATS; g++)
            canary[g] = GUARD_CANARY (i);
        tsl_backend_upload (be, base, canary, sizeof canary);
        tsl_backend_upload (be, base + GUARD_FLOATS, ts->init[i], n * sizeof (float));
        tsl_backend_upload (be, base + GUARD_FLOATS + n, canary, sizeof canary);
    }
    return tsl_backend_synchronize (be, error);
}

/* points ts->dev at p's buffers */
static void
activate (const Placement *p, Tensors *ts)
{
    for (int i = 0; i < ts->n_specs; i++)
        ts->dev[i] = p->base[i] + GUARD_FLOATS;
}

static void
unplace (Placement *p)
{
    for (int i = 0; i < p->n; i++)
        tsl_backend_free_memory (p->be, p->base[i]);
    p->n = 0;
}

/* Downloads tensor i's data (n floats, returned) and checks its guards. */
static float *
fetch (const Placement *p, const Tensors *ts, int i, gboolean *guards_ok)
{
    const size_t n = ts->spec[i].n;
    guint32 *whole = g_new (guint32, n + 2 * GUARD_FLOATS);
    float *data = g_new (float, MAX (n, 1));
    size_t changed = 0;

    tsl_backend_download (p->be, whole, p->base[i], (n + 2 * GUARD_FLOATS) * sizeof (float));
    for (size_t g = 0; g < GUARD_FLOATS; g++) {
        changed += whole[g] != GUARD_CANARY (i);
        changed += whole[GUARD_FLOATS + n + g] != GUARD_CANARY (i);
    }
    memcpy (data, whole + GUARD_FLOATS, n * sizeof (float));
    g_free (whole);
    if (changed) {
        printf ("# %s: %s: %zu guard floats around the buffer were overwritten\n",
                tsl_backend_name (p->be), ts->spec[i].name, changed);
        *guards_ok = FALSE;
    }
    return data;
}

/* ---- comparison ---- */

/* NMSE of got against ref after checking that both have the same
 * non-finite values at the same places; INFINITY when they do not. */
static double
compare_floats (const char *name, const float *ref, const float *got, size_t n)
{
    size_t mismatched = 0, nonfinite = 0, worst = 0;
    double worst_diff = -1.0;
    float *ref_finite, *got_finite;
    double nmse;

    for (size_t i = 0; i < n; i++) {
        const gboolean rf = isfinite (ref[i]), gf = isfinite (got[i]);

        if (rf != gf || (!rf && !(ref[i] == got[i] || (isnan (ref[i]) && isnan (got[i]))))) {
            if (mismatched < SHOW_MISMATCHES)
                printf ("#   %s[%zu]: cpu %g, cuda %g (non-finite mismatch)\n", name, i, ref[i],
                        got[i]);
            mismatched++;
        }
        nonfinite += !rf;
        if (rf && gf && fabs ((double) ref[i] - got[i]) > worst_diff) {
            worst_diff = fabs ((double) ref[i] - got[i]);
            worst = i;
        }
    }
    if (mismatched) {
        printf ("#   %s: %zu of %zu values differ in NaN / infinity\n", name, mismatched, n);
        return INFINITY;
    }
    if (nonfinite == 0) {
        nmse = tsl_test_nmse (ref, got, n);
    } else {
        /* the same non-finite pattern: compare the finite values */
        ref_finite = g_new (float, n);
        got_finite = g_new (float, n);
        for (size_t i = 0; i < n; i++) {
            ref_finite[i] = isfinite (ref[i]) ? ref[i] : 0.0f;
            got_finite[i] = isfinite (got[i]) ? got[i] : 0.0f;
        }
        nmse = tsl_test_nmse (ref_finite, got_finite, n);
        g_free (ref_finite);
        g_free (got_finite);
    }
    if (worst_diff > 0.0)
        printf ("#   %s: nmse %.3g, largest difference at [%zu]: cpu %.9g, cuda %.9g\n", name,
                nmse, worst, ref[worst], got[worst]);
    return nmse;
}

static double
compare_ints (const char *name, const int32_t *ref, const int32_t *got, size_t n)
{
    size_t mismatched = 0;

    for (size_t i = 0; i < n; i++) {
        if (ref[i] != got[i]) {
            if (mismatched < SHOW_MISMATCHES)
                printf ("#   %s[%zu]: cpu %d, cuda %d\n", name, i, ref[i], got[i]);
            mismatched++;
        }
    }
    if (mismatched)
        printf ("#   %s: %zu of %zu indices differ\n", name, mismatched, n);
    return mismatched ? INFINITY : 0.0;
}

/* ---- running a case ---- */

typedef enum {
    MODE_TEST,
    MODE_GRAD,
} Mode;

typedef struct {
    TslBackend *cpu, *cuda;
    int run, failed, skipped;
} Harness;

static void
report (Harness *h, gboolean ok, const char *what, const char *vars, double worst_nmse,
        double max_nmse)
{
    h->run++;
    h->failed += !ok;
    printf ("%s %d - %s%s: worst nmse %.3g (max %.0e)\n", ok ? "ok" : "not ok", h->run, what,
            vars, worst_nmse, max_nmse);
}

static void
skip (Harness *h, const char *what, const char *vars, const char *why)
{
    h->run++;
    h->skipped++;
    printf ("ok %d - %s%s # SKIP %s\n", h->run, what, vars, why);
}

/* Copies the outputs of the CPU forward into the CUDA buffers. */
static void
share_outputs (const Placement *cpu, const Placement *cuda, const Tensors *ts)
{
    for (int i = 0; i < ts->n_specs; i++) {
        const size_t bytes = ts->spec[i].n * sizeof (float);
        float *host;

        if (ts->spec[i].role != ROLE_OUTPUT)
            continue;
        host = g_new (float, MAX (ts->spec[i].n, 1));
        tsl_backend_download (cpu->be, host, cpu->base[i] + GUARD_FLOATS, bytes);
        tsl_backend_upload (cuda->be, cuda->base[i] + GUARD_FLOATS, host, bytes);
        g_free (host);
    }
}

static void
run_case (Harness *h, const OpCase *c, const OpFamily *f, Mode mode, guint64 seed)
{
    const gboolean grad = mode == MODE_GRAD;
    const char *what = grad ? f->backward_name : f->name;
    const Role compared = grad ? ROLE_GRAD : ROLE_OUTPUT;
    g_autofree char *vars = case_vars (c);
    g_autoptr (GError) error = NULL;
    Placement on_cpu = { 0 }, on_cuda = { 0 };
    Tensors ts;
    gboolean ok = TRUE;
    double worst = 0.0;

    if (!backend_has (h->cpu, f->forward_slot) ||
        (grad && !backend_has (h->cpu, f->backward_slot))) {
        skip (h, what, vars, "the CPU backend lacks this op");
        return;
    }
    tensors_init (&ts, c, f, seed);
    if (!place (&on_cpu, h->cpu, &ts, &error) || !place (&on_cuda, h->cuda, &ts, &error)) {
        printf ("# %s: %s\n", what, error->message);
        report (h, FALSE, what, vars, INFINITY, c->max_nmse);
        goto out;
    }

    activate (&on_cpu, &ts);
    f->forward (h->cpu, c, &ts);
    if (grad) {
        share_outputs (&on_cpu, &on_cuda, &ts);
        f->backward (h->cpu, c, &ts);
        activate (&on_cuda, &ts);
        f->backward (h->cuda, c, &ts);
    } else {
        activate (&on_cuda, &ts);
        f->forward (h->cuda, c, &ts);
    }
    if (!tsl_backend_synchronize (h->cuda, &error) || !tsl_backend_synchronize (h->cpu, &error)) {
        printf ("# %s: %s\n", what, error->message);
        ok = FALSE;
    }

    for (int i = 0; i < ts.n_specs; i++) {
        const TensorSpec *s = &ts.spec[i];
        gboolean guards_ok = TRUE;
        float *ref = fetch (&on_cpu, &ts, i, &guards_ok);
        float *got = fetch (&on_cuda, &ts, i, &guards_ok);

        ok &= guards_ok;
        if (s->role == compared) {
            const double nmse = s->fill == FILL_INT
                                    ? compare_ints (s->name, (int32_t *) ref, (int32_t *) got,
                                                    s->n)
                                    : compare_floats (s->name, ref, got, s->n);
            worst = MAX (worst, nmse);
            if (!(nmse <= c->max_nmse)) {
                printf ("#   %s: nmse %.3g above %.0e  NOT OK\n", s->name, nmse, c->max_nmse);
                ok = FALSE;
            }
        } else {
            /* everything else stays as it was: inputs, dout, the d* buffers
             * in test mode, the saved tensors (the CPU's) in grad mode */
            const float *expected = grad && s->role == ROLE_OUTPUT ? ref : ts.init[i];

            if (memcmp (got, expected, s->n * sizeof (float)) != 0) {
                printf ("#   %s: the CUDA op wrote into this buffer  NOT OK\n", s->name);
                ok = FALSE;
            }
        }
        g_free (ref);
        g_free (got);
    }
    report (h, ok, what, vars, worst, c->max_nmse);

out:
    unplace (&on_cuda);
    unplace (&on_cpu);
    tensors_clear (&ts);
}

/* ---- perf ---- */

#define PERF_WARMUP 3
#define PERF_RUNS_CUDA 25
#define PERF_RUNS_CPU 3

typedef void (*PerfRunFn) (TslBackend *be, const OpCase *c, const Tensors *ts);

static int
compare_doubles (const void *a, const void *b)
{
    const double x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}

static double
median (double *values, int n)
{
    qsort (values, n, sizeof (double), compare_doubles);
    return values[n / 2];
}

/* median ms per call on the CUDA stream, measured with events; < 0 on error */
static double
time_cuda (Harness *h, PerfRunFn fn, const OpCase *c, const Tensors *ts)
{
    cudaStream_t stream = (cudaStream_t) tsl_cuda_backend_stream (h->cuda);
    cudaEvent_t start = NULL, stop = NULL;
    double ms[PERF_RUNS_CUDA];
    g_autoptr (GError) error = NULL;
    double result = -1.0;

    if (cudaEventCreate (&start) != cudaSuccess || cudaEventCreate (&stop) != cudaSuccess)
        goto out;
    for (int i = 0; i < PERF_WARMUP; i++)
        fn (h->cuda, c, ts);
    if (!tsl_backend_synchronize (h->cuda, &error)) {
        printf ("# %s\n", error->message);
        goto out;
    }
    for (int i = 0; i < PERF_RUNS_CUDA; i++) {
        float elapsed = 0.0f;

        cudaEventRecord (start, stream);
        fn (h->cuda, c, ts);
        cudaEventRecord (stop, stream);
        if (cudaEventSynchronize (stop) != cudaSuccess ||
            cudaEventElapsedTime (&elapsed, start, stop) != cudaSuccess)
            goto out;
        ms[i] = elapsed;
    }
    if (tsl_backend_synchronize (h->cuda, &error))
        result = median (ms, PERF_RUNS_CUDA);
    else
        printf ("# %s\n", error->message);
out:
    if (start)
        cudaEventDestroy (start);
    if (stop)
        cudaEventDestroy (stop);
    return result;
}

/* median ms per call on the CPU, wall clock */
static double
time_cpu (Harness *h, PerfRunFn fn, const OpCase *c, const Tensors *ts)
{
    double ms[PERF_RUNS_CPU];

    fn (h->cpu, c, ts);
    for (int i = 0; i < PERF_RUNS_CPU; i++) {
        const gint64 start = g_get_monotonic_time ();

        fn (h->cpu, c, ts);
        ms[i] = (double) (g_get_monotonic_time () - start) / 1000.0;
    }
    return median (ms, PERF_RUNS_CPU);
}

static void
perf_row (Harness *h, const char *what, const char *vars, double cuda_ms, double cpu_ms,
          double flops)
{
    g_autofree char *cpu =
        cpu_ms > 0 ? g_strdup_printf ("%10.3f", cpu_ms) : g_strdup_printf ("%10s", "-");
    g_autofree char *speedup = cpu_ms > 0 && cuda_ms > 0
                                   ? g_strdup_printf ("%8.1fx", cpu_ms / cuda_ms)
                                   : g_strdup_printf ("%9s", "-");
    g_autofree char *rate = flops > 0 && cuda_ms > 0
                                ? g_strdup_printf ("%9.2f", flops / (cuda_ms * 1e-3) / 1e12)
                                : g_strdup_printf ("%9s", "-");

    if (cuda_ms < 0) {
        h->failed++;
        printf ("%-26s %10s %s %s %s  %s  FAILED\n", what, "-", cpu, speedup, rate, vars);
        return;
    }
    printf ("%-26s %10.3f %s %s %s  %s\n", what, cuda_ms, cpu, speedup, rate, vars);
}

static void
perf_case (Harness *h, const OpCase *c, const OpFamily *f, guint64 seed)
{
    g_autofree char *vars = case_vars (c);
    g_autoptr (GError) error = NULL;
    Placement on_cpu = { 0 }, on_cuda = { 0 };
    const gboolean with_cpu = !c->no_cpu && backend_has (h->cpu, f->forward_slot);
    Tensors ts;
    double cuda_ms, cpu_ms = -1.0;

    tensors_init (&ts, c, f, seed);
    if (!place (&on_cuda, h->cuda, &ts, &error) ||
        (with_cpu && !place (&on_cpu, h->cpu, &ts, &error))) {
        printf ("# %s%s: %s\n", f->name, vars, error->message);
        h->failed++;
        goto out;
    }
    activate (&on_cuda, &ts);
    cuda_ms = time_cuda (h, f->forward, c, &ts);
    if (with_cpu) {
        activate (&on_cpu, &ts);
        cpu_ms = time_cpu (h, f->forward, c, &ts);
    }
    perf_row (h, f->name, vars, cuda_ms, cpu_ms, f->flops ? f->flops (c) : 0.0);

    /* backward after the forward, which left the saved tensors in place */
    if (f->backward == NULL)
        goto out;
    activate (&on_cuda, &ts);
    cuda_ms = time_cuda (h, f->backward, c, &ts);
    cpu_ms = -1.0;
    if (with_cpu && backend_has (h->cpu, f->backward_slot)) {
        activate (&on_cpu, &ts);
        cpu_ms = time_cpu (h, f->backward, c, &ts);
    }
    perf_row (h, f->backward_name, vars, cuda_ms, cpu_ms, f->flops ? 2.0 * f->flops (c) : 0.0);
out:
    unplace (&on_cuda);
    unplace (&on_cpu);
    tensors_clear (&ts);
}

static void
print_device (void)
{
    struct cudaDeviceProp prop;
    int device = 0, driver = 0, runtime = 0;

    cudaGetDevice (&device);
    cudaDriverGetVersion (&driver);
    cudaRuntimeGetVersion (&runtime);
    if (cudaGetDeviceProperties (&prop, device) == cudaSuccess)
        printf ("# device %d: %s, sm_%d%d, %d SMs, %.1f GiB; driver %d, runtime %d\n", device,
                prop.name, prop.major, prop.minor, prop.multiProcessorCount,
                (double) prop.totalGlobalMem / (1 << 30), driver, runtime);
}

/* ---- main ---- */

/* ops: NULL (everything) or a list of op names */
static gboolean
op_listed (char **ops, const char *name)
{
    return name != NULL && ops != NULL && g_strv_contains ((const char *const *) ops, name);
}

static gboolean
family_selected (const OpFamily *f, char **ops)
{
    return ops == NULL || op_listed (ops, f->name) || op_listed (ops, f->backward_name);
}

int
main (int argc, char **argv)
{
    g_autofree char *op = NULL;
    g_autofree char *mode = NULL;
    g_auto (GStrv) ops = NULL;
    gint64 seed = 1234;
    const GOptionEntry entries[] = {
        { "op", 0, 0, G_OPTION_ARG_STRING, &op,
          "Only the cases of these ops (forward or backward names, comma-separated)", "NAME,..." },
        { "mode", 0, 0, G_OPTION_ARG_STRING, &mode, "test, grad or perf (default: test and grad)",
          "MODE" },
        { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed of the random inputs", "N" },
        { NULL },
    };
    g_autoptr (GOptionContext) context = g_option_context_new ("- CUDA-vs-CPU parity of every op");
    g_autoptr (GError) error = NULL;
    gboolean do_test, do_grad, do_perf;
    Harness h = { 0 };

    g_option_context_add_main_entries (context, entries, NULL);
    if (!g_option_context_parse (context, &argc, &argv, &error)) {
        fprintf (stderr, "%s\n", error->message);
        return 2;
    }
    do_test = mode == NULL || strcmp (mode, "test") == 0;
    do_grad = mode == NULL || strcmp (mode, "grad") == 0;
    do_perf = mode != NULL && strcmp (mode, "perf") == 0;
    if (!do_test && !do_grad && !do_perf) {
        fprintf (stderr, "unknown mode '%s' (expected test, grad or perf)\n", mode);
        return 2;
    }
    if (op != NULL) {
        ops = g_strsplit (op, ",", -1);
        for (char **name = ops; *name != NULL; name++) {
            gboolean known = FALSE;
            for (guint i = 0; i < G_N_ELEMENTS (families); i++)
                known |= g_strcmp0 (*name, families[i].name) == 0 ||
                         g_strcmp0 (*name, families[i].backward_name) == 0;
            if (!known) {
                fprintf (stderr, "unknown op '%s'\n", *name);
                return 2;
            }
        }
    }

    h.cuda = tsl_backend_new ("cuda", &error);
    if (h.cuda == NULL) {
        printf ("1..0 # SKIP no CUDA backend: %s\n", error->message);
        return 77;
    }
    h.cpu = tsl_backend_new ("cpu", &error);
    g_assert_no_error (error);
    print_device ();

    for (guint i = 0; i < G_N_ELEMENTS (test_cases); i++) {
        const OpCase *c = &test_cases[i];
        const OpFamily *f = find_family (c->op);

        if (!family_selected (f, ops))
            continue;
        if (do_test && (ops == NULL || op_listed (ops, f->name)))
            run_case (&h, c, f, MODE_TEST, (guint64) seed + 7919u * i);
        if (do_grad && f->backward_name != NULL)
            run_case (&h, c, f, MODE_GRAD, (guint64) seed + 7919u * i);
    }
    if (do_test || do_grad)
        printf ("1..%d\n# %d passed, %d failed, %d skipped\n", h.run,
                h.run - h.failed - h.skipped, h.failed, h.skipped);

    if (do_perf) {
        printf ("# median of %d runs after %d warm-up runs (CUDA events); CPU: median of %d\n",
                PERF_RUNS_CUDA, PERF_WARMUP, PERF_RUNS_CPU);
        printf ("%-26s %10s %10s %9s %9s  %s\n", "op", "cuda ms", "cpu ms", "speed-up", "TFLOP/s",
                "case");
        for (guint i = 0; i < G_N_ELEMENTS (perf_cases); i++) {
            const OpCase *c = &perf_cases[i];
            const OpFamily *f = find_family (c->op);

            if (family_selected (f, ops))
                perf_case (&h, c, f, (guint64) seed + 104729u * i);
        }
    }

    tsl_backend_free (h.cpu);
    tsl_backend_free (h.cuda);
    return h.failed ? 1 : 0;
}
