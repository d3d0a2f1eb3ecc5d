/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests cpu/vector-math.h: tsl_exp_nonpositive against double exp over
 * every 256th float of [-87, 0] (its documented range) and its clamp below
 * it, tsl_float_order_key's order against the float order over samples of all
 * finite floats, and tsl_max on signed zeros, infinities and subnormals.
 * The header is compiled here with the test's flags, which is the
 * baseline (no FMA) build of the kernels that include it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "cpu/vector-math.h"

/* 2^n times a degree-6 polynomial with 2e-9 relative error; the range
 * reduction and Horner steps round a few times (measured 1.05e-7, about
 * 1 ulp; 2 ulp of 2^-23 allowed) */
#define EXP_RTOL 2.4e-7

static void
test_exp_nonpositive (void)
{
    const uint32_t lowest = 0xc2ae0000u; /* -87.0f */
    double worst = 0.0;
    size_t count = 0, bad = 0;

    for (uint32_t bits = 0x80000000u; bits <= lowest; bits += 256) {
        float x;
        double ref, err;

        memcpy (&x, &bits, sizeof x);
        ref = exp ((double) x);
        err = fabs (tsl_exp_nonpositive (x) - ref) / ref;
        worst = MAX (worst, err);
        if (err > EXP_RTOL && bad++ < 8)
            printf ("# exp(%.9g) = %.9g, want %.9g  NOT OK\n", x, tsl_exp_nonpositive (x), ref);
        count++;
    }
    printf ("# exp: %zu arguments, max relative error %.3g (tolerance %.2g)\n", count, worst,
            EXP_RTOL);
    g_assert_cmpuint (bad, ==, 0);
    g_assert_cmpfloat (tsl_exp_nonpositive (0.0f), ==, 1.0f);
    g_assert_cmpfloat (tsl_exp_nonpositive (-0.0f), ==, 1.0f);
    /* below -87 (and -inf) the result stays at exp(-87), a normal float */
    g_assert_cmpfloat (tsl_exp_nonpositive (-1e4f), ==, tsl_exp_nonpositive (-87.0f));
    g_assert_cmpfloat (tsl_exp_nonpositive (-INFINITY), ==, tsl_exp_nonpositive (-87.0f));
    g_assert_true (isnormal (tsl_exp_nonpositive (-87.0f)));
}

static void
test_order_key (void)
{
    TslTestRng rng;
    int32_t previous_key = 0;
    float previous = 0.0f;

    tsl_test_rng_init (&rng, 77);
    for (int i = 0; i < 200000; i++) {
        /* random bit patterns of finite floats */
        const int32_t bits = (int32_t) (tsl_test_rng_int (&rng, 0, 0x7f7fffff) |
                                        (tsl_test_rng_int (&rng, 0, 1) ? INT32_MIN : 0));
        const float f = tsl_bits_float (bits);
        const int32_t key = tsl_float_order_key (f);

        g_assert_true (tsl_float_bits (tsl_order_key_float (key)) == bits);
        if (i > 0 && f != previous)
            g_assert_true ((f < previous) == (key < previous_key));
        previous = f;
        previous_key = key;
    }
}

static void
test_max (void)
{
    const float subnormal = 1e-40f;

    g_assert_cmpfloat (tsl_max (1.0f, 2.0f), ==, 2.0f);
    g_assert_cmpfloat (tsl_max (-3.0f, -2.0f), ==, -2.0f);
    g_assert_cmpfloat (tsl_max (-INFINITY, -1e30f), ==, -1e30f);
    g_assert_cmpfloat (tsl_max (INFINITY, 1e30f), ==, INFINITY);
    g_assert_cmpfloat (tsl_max (subnormal, 0.0f), ==, subnormal);
    g_assert_cmpfloat (tsl_max (-subnormal, -0.0f), ==, 0.0f);
    g_assert_true (!signbit (tsl_max (-0.0f, 0.0f)));
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/cpu/vector-math/exp-nonpositive", test_exp_nonpositive);
    g_test_add_func ("/cpu/vector-math/order-key", test_order_key);
    g_test_add_func ("/cpu/vector-math/max", test_max);
    return g_test_run ();
}
