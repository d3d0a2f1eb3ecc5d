/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * decode/sigmoid.c: PyTorch's CPU float32 sigmoid, blocks of 16 through a
 * SLEEF-style expf and the tail through the C library's expf; see
 * sigmoid.h. Every step is a float32 operation in the order the AVX2
 * kernel performs it (fmaf where it fuses, plain products elsewhere).
 */
#include "sigmoid.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* products are rounded before they are added unless fmaf says otherwise */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

#define VECTOR_BLOCK 16 /* two AVX2 vectors of 8 floats per loop step */

/* 2^q for -126 <= q <= 127, built from its exponent bits */
static inline float
power_of_two (int q)
{
    const uint32_t bits = (uint32_t) (q + 127) << 23;
    float value;

    memcpy (&value, &bits, sizeof value);
    return value;
}

/* SLEEF's expf_u10 algorithm in scalar form: q = rint(x / ln 2), the
 * remainder s = x - q ln 2 in two fused steps (ln 2 split into a short
 * upper part and a correction), e^s = 1 + s + s^2 P(s), scaled by 2^q in
 * two halves so that no intermediate power overflows. */
static float
vector_expf (float x)
{
    if (isnan (x))
        return x;
    if (x < -104.0f)
        return 0.0f;
    if (x > 100.0f)
        return INFINITY;

    const int q = (int) rintf (x * 1.442695040888963407359924681001892137426645954152985934f);
    const float qf = (float) q;
    float s = fmaf (qf, -0.693145751953125f, x);
    s = fmaf (qf, -1.428606765330187045e-06f, s);

    float u = 0.000198527617612853646278381f;
    u = fmaf (u, s, 0.00139304355252534151077271f);
    u = fmaf (u, s, 0.00833336077630519866943359f);
    u = fmaf (u, s, 0.0416664853692054748535156f);
    u = fmaf (u, s, 0.166666671633720397949219f);
    u = fmaf (u, s, 0.5f);
    const float s_squared = s * s;
    u = 1.0f + fmaf (s_squared, u, s);

    const int q_half = q >> 1;
    u = u * power_of_two (q_half);
    return u * power_of_two (q - q_half);
}

void
tsl_decode_sigmoid (float *out, const float *logits, size_t n)
{
    const size_t n_vector = n / VECTOR_BLOCK * VECTOR_BLOCK;

    for (size_t i = 0; i < n_vector; i++) {
        const float e = vector_expf (0.0f - logits[i]);
        out[i] = 1.0f / (e + 1.0f);
    }
    for (size_t i = n_vector; i < n; i++)
        out[i] = 1.0f / (1.0f + expf (-logits[i]));
}
