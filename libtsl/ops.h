/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * ops.h: the op table every backend fills (cpu/, cuda/), and the one place
 * where each op's signature and layout are written down.
 *
 * Each op's signature is a function type (TslGemmFn, ...). A backend declares
 * its implementations with it, `TslGemmFn tsl_cpu_gemm;`, so that the CPU and
 * CUDA versions cannot drift apart.
 *
 * Rules shared by every op:
 * - Argument order: backend, outputs, saved-for-backward, inputs, weights,
 *   sizes, then scalar parameters.
 * - Every pointer is device memory of the backend, float32, row-major, with
 *   its shape in a comment. ActionFormer tensors are channels-first [B, C, T];
 *   token tensors are [B, N, C], which the per-channel ops take as
 *   [B*N, C, 1].
 * - Masks are float, 1 = valid position, 0 = padding, shape [B, T].
 * - Forward ops overwrite their outputs. Backward ops ADD (+=) into every d*
 *   buffer; the caller zeroes them first. A d* pointer documented as
 *   "or NULL" is skipped when NULL.
 * - Scalar losses are written into a one-float device buffer (overwritten).
 * - Ops do not allocate except through tsl_backend_workspace().
 */
#pragma once

#include <stdint.h>

#include "backend.h"

G_BEGIN_DECLS

/* ---- linear algebra ---- */

/* c[i] = alpha * op(a[i]) @ op(b[i]) + beta * c[i] for i < batch, row-major,
 * packed. op(a) is [M, K] (a is [K, M] when trans_a), op(b) is [K, N] (b is
 * [N, K] when trans_b). Strides are in floats between batch items. */
typedef void TslGemmFn (TslBackend *be,
                        float *c,       /* [batch, M, N] */
                        const float *a, /* [batch, M, K] or [batch, K, M] */
                        const float *b, /* [batch, K, N] or [batch, N, K] */
                        int batch, int M, int N, int K,
                        gboolean trans_a, gboolean trans_b,
                        float alpha, float beta,
                        size_t stride_a, size_t stride_b, size_t stride_c);

/* ---- elementwise ---- */

/* out = x + bias[c] */
typedef void TslBiasAddFn (TslBackend *be, float *out /* [B, C, T] */, const float *x /* [B, C, T] */,
                           const float *bias /* [C] */, int B, int C, int T);
/* dx += dout (dx or NULL); dbias[c] += sum over b, t of dout */
typedef void TslBiasAddBackwardFn (TslBackend *be, float *dx /* [B, C, T] or NULL */,
                                   float *dbias /* [C] */, const float *dout /* [B, C, T] */,
                                   int B, int C, int T);

/* out = a + b */
typedef void TslAddFn (TslBackend *be, float *out /* [n] */, const float *a /* [n] */,
                       const float *b /* [n] */, size_t n);
/* da += dout, db += dout */
typedef void TslAddBackwardFn (TslBackend *be, float *da /* [n] or NULL */,
                               float *db /* [n] or NULL */, const float *dout /* [n] */, size_t n);
/* out = a * b */
typedef void TslMulFn (TslBackend *be, float *out /* [n] */, const float *a /* [n] */,
                       const float *b /* [n] */, size_t n);
/* da += dout * b, db += dout * a */
typedef void TslMulBackwardFn (TslBackend *be, float *da /* [n] or NULL */,
                               float *db /* [n] or NULL */, const float *dout /* [n] */,
                               const float *a /* [n] */, const float *b /* [n] */, size_t n);
/* out = s * x (out may equal x) */
typedef void TslScaleFn (TslBackend *be, float *out /* [n] */, const float *x /* [n] */, float s,
                         size_t n);
/* dx += s * dout */
typedef void TslScaleBackwardFn (TslBackend *be, float *dx /* [n] */, const float *dout /* [n] */,
                                 float s, size_t n);

/* out[b, c, t] = x[b, c, t] * s[c]: AffineDropPath and Scale (C = 1). */
typedef void TslChannelScaleFn (TslBackend *be, float *out /* [B, C, T] */,
                                const float *x /* [B, C, T] */, const float *s /* [C] */,
                                int B, int C, int T);
/* dx += dout * s[c]; ds[c] += sum over b, t of dout * x */
typedef void TslChannelScaleBackwardFn (TslBackend *be, float *dx /* [B, C, T] or NULL */,
                                        float *ds /* [C] or NULL */, const float *dout /* [B, C, T] */,
                                        const float *x /* [B, C, T] */, const float *s /* [C] */,
                                        int B, int C, int T);

/* out[a, c] = mean over n of x[a, n, c] */
typedef void TslMeanFn (TslBackend *be, float *out /* [A, C] */, const float *x /* [A, N, C] */,
                        int A, int N, int C);
/* dx[a, n, c] += dout[a, c] / N */
typedef void TslMeanBackwardFn (TslBackend *be, float *dx /* [A, N, C] */,
                                const float *dout /* [A, C] */, int A, int N, int C);

/* ---- activations ---- */

typedef void TslActivationFn (TslBackend *be, float *out /* [n] */, const float *x /* [n] */,
                              size_t n);
/* GELU (exact erf form) and ReLU backward read the forward input x;
 * sigmoid backward reads the forward output y. dx += dout * f'(.) */
typedef void TslActivationBackwardFn (TslBackend *be, float *dx /* [n] */,
                                      const float *dout /* [n] */,
                                      const float *x_or_y /* [n] */, size_t n);

/* Softmax over the last axis. A row of all -INFINITY gives zeros. */
typedef void TslSoftmaxFn (TslBackend *be, float *out /* [rows, n] */,
                           const float *x /* [rows, n] */, int rows, int n);
/* dx += out * (dout - sum(dout * out)) */
typedef void TslSoftmaxBackwardFn (TslBackend *be, float *dx /* [rows, n] */,
                                   const float *dout /* [rows, n] */,
                                   const float *out /* [rows, n] */, int rows, int n);

/* ---- normalisation ---- */

/* LayerNorm over channels for every (b, t), biased variance:
 * out = (x - mean) * rstd * gamma[c] + beta[c]. mean and rstd are saved. */
typedef void TslLayerNormFn (TslBackend *be, float *out /* [B, C, T] */, float *mean /* [B, T] */,
                             float *rstd /* [B, T] */, const float *x /* [B, C, T] */,
                             const float *gamma /* [C] */, const float *beta /* [C] */,
                             int B, int C, int T, float eps);
typedef void TslLayerNormBackwardFn (TslBackend *be, float *dx /* [B, C, T] */,
                                     float *dgamma /* [C] */, float *dbeta /* [C] */,
                                     const float *dout /* [B, C, T] */, const float *x /* [B, C, T] */,
                                     const float *gamma /* [C] */, const float *mean /* [B, T] */,
                                     const float *rstd /* [B, T] */, int B, int C, int T);

/* Batch norm, inference form: out = (x - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c] */
typedef void TslBatchNormFn (TslBackend *be, float *out /* [B, C, S] */, const float *x /* [B, C, S] */,
                             const float *mean /* [C] */, const float *var /* [C] */,
                             const float *gamma /* [C] */, const float *beta /* [C] */,
                             int B, int C, int S, float eps);

/* ---- convolution and pooling ---- */

/* 1-D convolution, channels-first, zero padding on both sides:
 * Tout = (Tin + 2 * padding - K) / stride + 1,
 * out[b, o, t] = mask[b, t] * (bias[o] + sum over g-group inputs i, k of
 *                w[o, i, k] * x[b, g * Cin/G + i, t * stride - padding + k]).
 * groups = Cin = Cout is depthwise. mask and bias may be NULL. */
typedef void TslConv1dFn (TslBackend *be, float *out /* [B, Cout, Tout] */,
                          const float *x /* [B, Cin, Tin] */,
                          const float *w /* [Cout, Cin / groups, K] */,
                          const float *bias /* [Cout] or NULL */,
                          const float *mask /* [B, Tout] or NULL */,
                          int B, int Cin, int Cout, int Tin, int Tout, int K,
                          int stride, int padding, int groups);
typedef void TslConv1dBackwardFn (TslBackend *be, float *dx /* [B, Cin, Tin] or NULL */,
                                  float *dw /* [Cout, Cin / groups, K] */,
                                  float *dbias /* [Cout] or NULL */,
                                  const float *dout /* [B, Cout, Tout] */,
                                  const float *x /* [B, Cin, Tin] */,
                                  const float *w /* [Cout, Cin / groups, K] */,
                                  const float *mask /* [B, Tout] or NULL */,
                                  int B, int Cin, int Cout, int Tin, int Tout, int K,
                                  int stride, int padding, int groups);

/* 2-D convolution, NCHW, explicit zero padding (top/left; bottom/right make
 * up Ho/Wo). tsl_conv2d_same_padding() gives TensorFlow's 'SAME' values. */
typedef void TslConv2dFn (TslBackend *be, float *out /* [B, Cout, Ho, Wo] */,
                          const float *x /* [B, Cin, H, W] */,
                          const float *w /* [Cout, Cin, KH, KW] */,
                          const float *bias /* [Cout] or NULL */,
                          int B, int Cin, int H, int W, int Cout, int KH, int KW,
                          int stride_h, int stride_w, int pad_top, int pad_left, int Ho, int Wo);

/* Max pooling over time with -inf padding at the array ends (PyTorch
 * MaxPool1d): To = (T + 2 * padding - K) / stride + 1. argmax keeps the
 * winning input index (first on ties) for backward. */
typedef void TslMaxPool1dFn (TslBackend *be, float *out /* [B, C, To] */,
                             int32_t *argmax /* [B, C, To] */, const float *x /* [B, C, T] */,
                             int B, int C, int T, int To, int K, int stride, int padding);
typedef void TslMaxPool1dBackwardFn (TslBackend *be, float *dx /* [B, C, T] */,
                                     const float *dout /* [B, C, To] */,
                                     const int32_t *argmax /* [B, C, To] */,
                                     int B, int C, int T, int To);

/* 2-D max pooling, NCHW, forward only (the audio ResNet's stem):
 * out[b, c, oh, ow] = max over kh < KH, kw < KW of
 *     x[b, c, oh * stride_h - pad_top + kh, ow * stride_w - pad_left + kw],
 * positions outside the image take no part (-inf padding, as TensorFlow's
 * 'SAME' max pooling; tsl_conv2d_same_padding() gives those values). A
 * NaN in a window wins. A window with no position inside gives -inf. */
typedef void TslMaxPool2dFn (TslBackend *be, float *out /* [B, C, Ho, Wo] */,
                             const float *x /* [B, C, H, W] */,
                             int B, int C, int H, int W, int KH, int KW,
                             int stride_h, int stride_w, int pad_top, int pad_left, int Ho, int Wo);

/* Nearest down-sampling of masks (F.interpolate mode='nearest'), with
 * PyTorch's float arithmetic: scale = (float) T / To,
 * out[b, i] = mask[b, min((int) floor(i * scale), T - 1)]. */
typedef void TslMaskDownsampleFn (TslBackend *be, float *out /* [B, To] */,
                                  const float *mask /* [B, T] */, int B, int T, int To);

/* ---- attention ---- */

/* ActionFormer's banded local self-attention, channels-first, C = H * Dh,
 * channel c = h * Dh + d. Query t sees keys t - W/2 .. t + W/2 (W odd);
 * keys outside [0, T) are excluded; keys with mask 0 get -1e4 added to their
 * score; att = softmax(scale * q.k + that); rows of queries with mask 0 are
 * set to 0 after the softmax. att[b, h, t, j] is the weight of key
 * t - W/2 + j (0 for excluded keys). */
typedef void TslLocalAttentionFn (TslBackend *be, float *out /* [B, C, T] */,
                                  float *att /* [B, H, T, W] */,
                                  const float *q /* [B, C, T] */, const float *k /* [B, C, T] */,
                                  const float *v /* [B, C, T] */, const float *mask /* [B, T] */,
                                  int B, int C, int T, int H, int W, float scale);
typedef void TslLocalAttentionBackwardFn (TslBackend *be, float *dq /* [B, C, T] */,
                                          float *dk /* [B, C, T] */, float *dv /* [B, C, T] */,
                                          const float *dout /* [B, C, T] */,
                                          const float *att /* [B, H, T, W] */,
                                          const float *q /* [B, C, T] */,
                                          const float *k /* [B, C, T] */,
                                          const float *v /* [B, C, T] */,
                                          int B, int C, int T, int H, int W, float scale);

/* Full multi-head self-attention over N tokens (ViT), from a fused qkv
 * projection: qkv[b, n, s * C + h * Dh + d] for s = 0 (q), 1 (k), 2 (v).
 * out[b, n, h * Dh + d] = sum over m of softmax_m(scale * q.k) v. */
typedef void TslAttentionFn (TslBackend *be, float *out /* [B, N, C] */,
                             const float *qkv /* [B, N, 3 * C] */,
                             int B, int N, int C, int H, float scale);

/* ---- losses (training) ---- */

/* Sigmoid focal loss summed over valid points and classes:
 * p = sigmoid(x), ce = BCE-with-logits(x, y), p_t = p y + (1 - p)(1 - y),
 * a_t = alpha y + (1 - alpha)(1 - y), loss = sum a_t ce (1 - p_t)^gamma.
 * alpha < 0 disables a_t. Targets may be soft. */
typedef void TslFocalLossFn (TslBackend *be, float *loss /* [1] */,
                             const float *logits /* [N, K] */, const float *targets /* [N, K] */,
                             const float *valid /* [N] or NULL */, int N, int K,
                             float alpha, float gamma);
/* dlogits += dloss * d(loss)/d(logits) */
typedef void TslFocalLossBackwardFn (TslBackend *be, float *dlogits /* [N, K] */,
                                     const float *logits /* [N, K] */,
                                     const float *targets /* [N, K] */,
                                     const float *valid /* [N] or NULL */, int N, int K,
                                     float alpha, float gamma, float dloss);

/* 1-D centre-DIoU loss over (left, right) distances, summed over points with
 * weight (NULL = all 1): i = min(lp, lg) + min(rp, rg),
 * u = lp + rp + lg + rg - i, c = max(lp, lg) + max(rp, rg),
 * rho = (rp - lp - rg + lg) / 2, loss = 1 - i / max(u, eps) + (rho / max(c, eps))^2. */
typedef void TslDiouLossFn (TslBackend *be, float *loss /* [1] */, const float *pred /* [N, 2] */,
                            const float *target /* [N, 2] */, const float *weight /* [N] or NULL */,
                            int N, float eps);
typedef void TslDiouLossBackwardFn (TslBackend *be, float *dpred /* [N, 2] */,
                                    const float *pred /* [N, 2] */, const float *target /* [N, 2] */,
                                    const float *weight /* [N] or NULL */, int N, float eps,
                                    float dloss);

/* ---- optimiser ---- */

/* out[0] = sum of x^2, accumulated in double and stored as float */
typedef void TslSumSquaresFn (TslBackend *be, float *out /* [1] */, const float *x /* [n] */,
                              size_t n);

/* One AdamW step as in PyTorch 1.13 (torch.optim.AdamW, single tensor):
 * p *= 1 - lr * wd; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * p -= lr / (1 - b1^step) * m / (sqrt(v) / sqrt(1 - b2^step) + eps).
 * step counts from 1. Pass weight_decay 0 for tensors without decay.
 * The hyper-parameters are doubles, as Python's are: every scalar factor
 * (1 - beta1, lr / (1 - beta1^step), ...) is formed in double and rounded
 * to float once, as PyTorch does before its float32 kernels run. */
typedef void TslAdamWFn (TslBackend *be, float *param /* [n] */, float *m /* [n] */,
                         float *v /* [n] */, const float *grad /* [n] */, size_t n,
                         double lr, double beta1, double beta2, double eps, double weight_decay,
                         int step);

/* ema = decay * ema + (1 - decay) * param, both factors formed in double
 * and rounded to float */
typedef void TslEmaFn (TslBackend *be, float *ema /* [n] */, const float *param /* [n] */,
                       size_t n, double decay);

/* ---- the table ---- */

#define TSL_BACKEND_OPS_VERSION 1

struct _TslBackendOps {
    int version;                /* TSL_BACKEND_OPS_VERSION */
    const char *name;           /* "cpu", "cuda" */

    /* memory; all synchronous with respect to later ops of the same backend */
    void *(*alloc) (TslBackend *be, size_t bytes, GError **error);
    void (*free) (TslBackend *be, void *ptr);
    void (*upload) (TslBackend *be, void *dst, const void *src_host, size_t bytes);
    void (*download) (TslBackend *be, void *dst_host, const void *src, size_t bytes);
    void (*copy) (TslBackend *be, void *dst, const void *src, size_t bytes);
    void (*zero) (TslBackend *be, void *dst, size_t bytes);
    gboolean (*synchronize) (TslBackend *be, GError **error);  /* NULL: synchronous */
    void (*destroy) (TslBackend *be);                          /* frees be->context */

    TslGemmFn *gemm;
    TslBiasAddFn *bias_add;
    TslBiasAddBackwardFn *bias_add_backward;
    TslAddFn *add;
    TslAddBackwardFn *add_backward;
    TslMulFn *mul;
    TslMulBackwardFn *mul_backward;
    TslScaleFn *scale;
    TslScaleBackwardFn *scale_backward;
    TslChannelScaleFn *channel_scale;
    TslChannelScaleBackwardFn *channel_scale_backward;
    TslMeanFn *mean;
    TslMeanBackwardFn *mean_backward;

    TslActivationFn *gelu;
    TslActivationBackwardFn *gelu_backward;  /* reads x */
    TslActivationFn *relu;
    TslActivationBackwardFn *relu_backward;  /* reads x */
    TslActivationFn *sigmoid;
    TslActivationBackwardFn *sigmoid_backward;  /* reads y */
    TslSoftmaxFn *softmax;
    TslSoftmaxBackwardFn *softmax_backward;

    TslLayerNormFn *layernorm;
    TslLayerNormBackwardFn *layernorm_backward;
    TslBatchNormFn *batchnorm;

    TslConv1dFn *conv1d;
    TslConv1dBackwardFn *conv1d_backward;
    TslConv2dFn *conv2d;
    TslMaxPool1dFn *maxpool1d;
    TslMaxPool1dBackwardFn *maxpool1d_backward;
    TslMaxPool2dFn *maxpool2d;
    TslMaskDownsampleFn *mask_downsample;

    TslLocalAttentionFn *local_attention;
    TslLocalAttentionBackwardFn *local_attention_backward;
    TslAttentionFn *attention;

    TslFocalLossFn *focal_loss;
    TslFocalLossBackwardFn *focal_loss_backward;
    TslDiouLossFn *diou_loss;
    TslDiouLossBackwardFn *diou_loss_backward;

    TslSumSquaresFn *sum_squares;
    TslAdamWFn *adamw;
    TslEmaFn *ema;
};

/* TensorFlow 'SAME' padding for one spatial axis: out = ceil(in / stride),
 * total = max((out - 1) * stride + k - in, 0), before = total / 2. */
void tsl_conv2d_same_padding (int in, int k, int stride, int *pad_before, int *out);

G_END_DECLS
