/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cpu/vector-math.h: exp and bit-level selects written so that GCC
 * vectorises the loops that call them (libm's expf is a call per element).
 * Plain arithmetic only: exp(x) = 2^n exp(r) with n = round(x / ln 2),
 * r = x - n ln 2 in two parts (Cody and Waite) and exp(r) a degree-6
 * minimax polynomial on [-ln 2 / 2, ln 2 / 2] (relative error 2e-9 before
 * float rounding, about 1-2 ulp after).
 *
 * Float selects (x < 0 ? a : b) that are not a plain min or max are kept
 * as branches by GCC under the default -ftrapping-math, which stops the
 * vectoriser, so selects go through the bit patterns: tsl_float_bits and
 * tsl_bits_float reinterpret, and integer compares and masks do the choosing.
 *
 * TSL_VECTOR_CLONES marks a hot vectorised function to be compiled three
 * times, for x86-64-v4 (AVX-512), x86-64-v3 (AVX2, FMA) and the baseline,
 * the dynamic loader picking the best the CPU runs (GCC target_clones, an
 * ifunc, so glibc on x86-64 only). OpenMP regions must call such a
 * function rather than contain the loop: their outlined bodies are not
 * cloned. With FMA the last bits of a result may differ between CPUs.
 */
#pragma once

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__GLIBC__)
#define TSL_VECTOR_CLONES \
    __attribute__ ((target_clones ("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TSL_VECTOR_CLONES
#endif

/* TSL_NO_CONTRACT keeps a function's a * b + c as a rounded product and a
 * rounded sum, where a fused multiply-add would break a cancellation the
 * arithmetic relies on (GCC; other compilers do not contract by default). */
#if defined(__GNUC__) && !defined(__clang__)
#define TSL_NO_CONTRACT __attribute__ ((optimize ("fp-contract=off")))
#else
#define TSL_NO_CONTRACT
#endif

#define TSL_LN2_HI 0.693145752f     /* ln 2 rounded to 15 bits: n * TSL_LN2_HI is exact */
#define TSL_LN2_LO 1.42860677e-06f  /* ln 2 - TSL_LN2_HI */
#define TSL_LOG2E 1.44269504f
#define TSL_ROUND_MAGIC 12582912.0f /* 1.5 * 2^23: (y + it) - it rounds y to an integer */

static inline int32_t
tsl_float_bits (float f)
{
    int32_t bits;

    memcpy (&bits, &f, sizeof bits);
    return bits;
}

static inline float
tsl_bits_float (int32_t bits)
{
    float f;

    memcpy (&f, &bits, sizeof f);
    return f;
}

/* An integer that orders like the float (-0 just below +0, NaN at the
 * ends), and back: the map flips the magnitude bits of negative floats and
 * is its own inverse. */
static inline int32_t
tsl_float_order_key (float f)
{
    const int32_t bits = tsl_float_bits (f);

    return bits ^ ((bits >> 31) & 0x7fffffff);
}

static inline float
tsl_order_key_float (int32_t key)
{
    return tsl_bits_float (key ^ ((key >> 31) & 0x7fffffff));
}

/* max(a, b) for non-NaN floats (a plain float max is not always vectorised) */
static inline float
tsl_max (float a, float b)
{
    const int32_t key_a = tsl_float_order_key (a), key_b = tsl_float_order_key (b);

    return tsl_order_key_float (key_a > key_b ? key_a : key_b);
}

/* 2^n exp(r) for an integer-valued n in [-126, 127] and |r| <= ln 2 / 2 */
static inline float
tsl_exp_reduced (float n, float r)
{
    float p = 1.38368455e-03f;

    p = p * r + 8.37481649e-03f;
    p = p * r + 4.16682256e-02f;
    p = p * r + 1.66664202e-01f;
    p = p * r + 4.99999921e-01f;
    p = p * r + 1.00000004e+00f;
    p = p * r + 1.0f;
    return p * tsl_bits_float (((int32_t) n + 127) << 23);
}

/* exp(x) for x <= 0 (softmax terms), x not NaN: arguments below -87
 * (-inf included) give exp(-87) = 1.6e-38 instead of less. */
static inline float
tsl_exp_nonpositive (float x)
{
    const float clamped = tsl_max (x, -87.0f);
    const float n = (clamped * TSL_LOG2E + TSL_ROUND_MAGIC) - TSL_ROUND_MAGIC;
    const float r = (clamped - n * TSL_LN2_HI) - n * TSL_LN2_LO;

    return tsl_exp_reduced (n, r);
}
