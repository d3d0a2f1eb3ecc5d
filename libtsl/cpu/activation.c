/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cpu/activation.c: GELU (the exact erf form of torch.nn.GELU(), not the
 * tanh approximation), ReLU and the logistic sigmoid, elementwise over flat
 * arrays, with their backward ops. Semantics: TslActivationFn and
 * TslActivationBackwardFn in ../ops.h.
 *
 * Forward ops overwrite out (out may equal x). Backward ops add
 * dout * f'(.) into dx: GELU and ReLU read the forward input x, sigmoid reads
 * the forward output y. ReLU's derivative at exactly 0 is taken as 0, as in
 * PyTorch.
 */
#include <math.h>

#include "cpu-ops.h"
#include "vector-math.h"

/* below this many elements, starting threads costs more than it saves */
#define ACTIVATION_PARALLEL_MIN 16384

/* elements per work item of the vectorised GELU loops */
#define ACTIVATION_CHUNK ((size_t) 4096)

/* ---- GELU ---- */

/* GELU(x) = x Phi(x) with Phi the standard normal CDF. PyTorch writes it
 * 0.5 x (1 + erf(x / sqrt 2)), which cancels for x << 0; here the lower
 * tail Phi(-|x|) = erfc(|x| / sqrt 2) / 2 is computed directly, so that the
 * result keeps its relative accuracy on both sides:
 *
 *   Phi(-a) = exp(-a^2 / 2) R(t),   t = 1 / (1 + 0.3 a),   a = |x| <= 13,
 *
 * where R, a degree-10 polynomial in s = 2.5128205 t - 1.5128205 (t mapped
 * onto [-1, 1]), approximates exp(a^2 / 2) Phi(-a) with a relative error
 * below 3e-9 (weighted least squares iterated to equal ripple against
 * 40-digit erfc). exp(-a^2 / 2) splits a into a 12-bit head, whose square
 * is exact in float, and a small rest, so the rounding of a^2 (up to 85)
 * does not reach the result (exp itself: vector-math.h). Against the
 * exact GELU of the float input the relative error is below 5.4e-7 for
 * |x| <= 8 and 1.1e-6 beyond (a few ulp, from rounding in the polynomial
 * evaluation; tests/unit/cpu/activation.c sweeps it against double erfc),
 * where 0.5 x (1 + erff) loses all relative accuracy for x << 0. Below
 * x = -13, Phi(x) < 6.1e-39 is taken as 0 (the result flushes to -0);
 * above 13 as 1. The backward uses the same Phi and the density
 * exp(-x^2 / 2) / sqrt(2 pi). Plain arithmetic and integer selects only,
 * so the loops vectorise; they are compiled per vector ISA
 * (TSL_VECTOR_CLONES). */

#define GELU_TAIL_LIMIT 13.0f
#define INV_SQRT_2PI 0.39894228040143267794f  /* 1 / sqrt(2 pi) */

/* exp(-a^2 / 2) for 0 <= a <= GELU_TAIL_LIMIT */
static inline float
gelu_gaussian (float a)
{
    /* a = head + rest: head is a rounded to a multiple of 2^-8 (at most 12
     * significant bits below 16), so head^2 / 2 is exact */
    const float head = (a + 32768.0f) - 32768.0f;
    const float rest = a - head;
    const float half_square_head = 0.5f * head * head;
    const float half_square_rest = 0.5f * rest * (a + head);  /* |.| < 0.03 */
    /* -a^2 / 2 = n ln 2 + r, |r| <= ln 2 / 2, n in [-122, 0] */
    const float n = (-(half_square_head + half_square_rest) * TSL_LOG2E + TSL_ROUND_MAGIC) -
                    TSL_ROUND_MAGIC;
    const float r = (-half_square_head - n * TSL_LN2_HI) - half_square_rest - n * TSL_LN2_LO;

    return tsl_exp_reduced (n, r);
}

/* exp(a^2 / 2) Phi(-a) for 0 <= a <= GELU_TAIL_LIMIT */
static inline float
gelu_tail_ratio (float a)
{
    const float t = 1.0f / (1.0f + 0.3f * a);
    const float s = 2.51282051f * t - 1.51282051f;
    float p = -1.93269640e-06f;
    p = p * s - 2.90366175e-06f;
    p = p * s + 2.77751039e-05f;
    p = p * s + 3.10627253e-05f;
    p = p * s - 3.78303981e-04f;
    p = p * s - 6.94815959e-04f;
    p = p * s + 5.42654223e-03f;
    p = p * s + 3.47098034e-02f;
    p = p * s + 1.04010508e-01f;
    p = p * s + 2.00702146e-01f;
    p = p * s + 1.56170118e-01f;
    return p;
}

/* The selects below work on bit patterns (see vector-math.h), which order
 * like the values for non-negative floats, NaN above everything. */
#define GELU_TAIL_LIMIT_BITS 0x41500000  /* 13.0f */

static TSL_VECTOR_CLONES void
gelu_span (float *out /* [n] */, const float *x /* [n] */, size_t n)
{
    #pragma omp simd
    for (size_t i = 0; i < n; i++) {
        const int32_t x_bits = tsl_float_bits (x[i]);
        const int32_t abs_bits = x_bits & 0x7fffffff;
        const float a = tsl_bits_float (MIN (abs_bits, GELU_TAIL_LIMIT_BITS));  /* min(|x|, 13) */
        const float lower = gelu_gaussian (a) * gelu_tail_ratio (a);         /* Phi(-a) */
        const float upper = 1.0f - lower;                                   /* Phi(a) */
        const int32_t negative = x_bits >> 31;                             /* all ones: x < 0 */
        const int32_t inside = abs_bits <= GELU_TAIL_LIMIT_BITS ? -1 : 0;  /* all ones: |x| <= 13 */
        const int32_t cdf = (tsl_float_bits (lower) & negative & inside) |
                            (tsl_float_bits (upper) & ~negative);

        out[i] = x[i] * tsl_bits_float (cdf);
    }
}

/* d/dx [x Phi(x)] = Phi(x) + x phi(x), with phi the normal density */
static TSL_VECTOR_CLONES void
gelu_backward_span (float *dx /* [n] */, const float *dout /* [n] */, const float *x /* [n] */,
                    size_t n)
{
    #pragma omp simd
    for (size_t i = 0; i < n; i++) {
        const int32_t x_bits = tsl_float_bits (x[i]);
        const int32_t abs_bits = x_bits & 0x7fffffff;
        const float a = tsl_bits_float (MIN (abs_bits, GELU_TAIL_LIMIT_BITS));
        const float gaussian = gelu_gaussian (a);
        const float lower = gaussian * gelu_tail_ratio (a);
        const float upper = 1.0f - lower;
        const int32_t negative = x_bits >> 31;
        const int32_t inside = abs_bits <= GELU_TAIL_LIMIT_BITS ? -1 : 0;
        const int32_t cdf = (tsl_float_bits (lower) & negative & inside) |
                            (tsl_float_bits (upper) & ~negative);
        const int32_t pdf = tsl_float_bits (INV_SQRT_2PI * gaussian) & inside;

        dx[i] += dout[i] * (tsl_bits_float (cdf) + x[i] * tsl_bits_float (pdf));
    }
}

void
tsl_cpu_gelu (TslBackend *be, float *out, const float *x, size_t n)
{
    const size_t n_chunks = (n + ACTIVATION_CHUNK - 1) / ACTIVATION_CHUNK;

    #pragma omp parallel for if (n >= ACTIVATION_PARALLEL_MIN)
    for (size_t chunk = 0; chunk < n_chunks; chunk++) {
        const size_t i0 = chunk * ACTIVATION_CHUNK;

        gelu_span (out + i0, x + i0, MIN (ACTIVATION_CHUNK, n - i0));
    }
}

void
tsl_cpu_gelu_backward (TslBackend *be, float *dx, const float *dout, const float *x, size_t n)
{
    const size_t n_chunks = (n + ACTIVATION_CHUNK - 1) / ACTIVATION_CHUNK;

    #pragma omp parallel for if (n >= ACTIVATION_PARALLEL_MIN)
    for (size_t chunk = 0; chunk < n_chunks; chunk++) {
        const size_t i0 = chunk * ACTIVATION_CHUNK;

        gelu_backward_span (dx + i0, dout + i0, x + i0, MIN (ACTIVATION_CHUNK, n - i0));
    }
}

/* ---- ReLU and sigmoid ---- */

void
tsl_cpu_relu (TslBackend *be, float *out, const float *x, size_t n)
{
    #pragma omp parallel for simd if (n >= ACTIVATION_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = x[i] < 0.0f ? 0.0f : x[i];  /* NaN passes through, as in PyTorch */
}

void
tsl_cpu_relu_backward (TslBackend *be, float *dx, const float *dout, const float *x, size_t n)
{
    #pragma omp parallel for simd if (n >= ACTIVATION_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        dx[i] += x[i] > 0.0f ? dout[i] : 0.0f;
}

void
tsl_cpu_sigmoid (TslBackend *be, float *out, const float *x, size_t n)
{
    /* for very negative x, expf overflows to +inf and the result is a clean 0 */
    #pragma omp parallel for if (n >= ACTIVATION_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = 1.0f / (1.0f + expf (-x[i]));
}

void
tsl_cpu_sigmoid_backward (TslBackend *be, float *dx, const float *dout, const float *y, size_t n)
{
    #pragma omp parallel for simd if (n >= ACTIVATION_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        dx[i] += dout[i] * y[i] * (1.0f - y[i]);
}
