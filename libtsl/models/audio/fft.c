/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * fft.c: real-input radix-2 FFT in double precision; the method and its
 * conventions are in fft.h.
 */
#include "fft.h"

#include <math.h>

struct _TslRfft {
    int n;               /* real length, a power of two */
    int half;            /* M = n / 2, the complex FFT length */
    double *twiddle;     /* [n/2 + 1, 2]: (cos, -sin)(2 pi k / n) = exp(-2 pi i k / n) */
    int *bit_reverse;    /* [M]: the index m with its log2(M) bits reversed */
};

TslRfft *
tsl_rfft_new (int n)
{
    TslRfft *plan;
    int bits = 0;

    if (n < 2 || (n & (n - 1)) != 0)
        return NULL;
    plan = g_new0 (TslRfft, 1);
    plan->n = n;
    plan->half = n / 2;
    plan->twiddle = g_new (double, 2 * (size_t) (plan->half + 1));
    for (int k = 0; k <= plan->half; k++) {
        const double angle = 2.0 * G_PI * k / n;
        plan->twiddle[2 * k] = cos (angle);
        plan->twiddle[2 * k + 1] = -sin (angle);
    }
    while ((1 << bits) < plan->half)
        bits++;
    plan->bit_reverse = g_new (int, plan->half);
    for (int m = 0; m < plan->half; m++) {
        int r = 0;
        for (int b = 0; b < bits; b++)
            r |= ((m >> b) & 1) << (bits - 1 - b);
        plan->bit_reverse[m] = r;
    }
    return plan;
}

void
tsl_rfft_free (TslRfft *plan)
{
    if (plan == NULL)
        return;
    g_free (plan->twiddle);
    g_free (plan->bit_reverse);
    g_free (plan);
}

int
tsl_rfft_length (const TslRfft *plan)
{
    return plan->n;
}

/* In-place complex FFT of z (M interleaved complex values, already in
 * bit-reversed order): log2(M) passes of butterflies. The twiddle of size-
 * `len` butterflies, exp(-2 pi i j / len), is table entry j * (n / len). */
static void
complex_fft_in_place (const TslRfft *plan, double *z /* [M, 2] */)
{
    const int M = plan->half;

    for (int len = 2; len <= M; len *= 2) {
        const int step = plan->n / len;
        for (int start = 0; start < M; start += len) {
            for (int j = 0; j < len / 2; j++) {
                const double wr = plan->twiddle[2 * (j * step)];
                const double wi = plan->twiddle[2 * (j * step) + 1];
                double *a = z + 2 * (start + j), *b = z + 2 * (start + j + len / 2);
                const double br = b[0] * wr - b[1] * wi, bi = b[0] * wi + b[1] * wr;

                b[0] = a[0] - br;
                b[1] = a[1] - bi;
                a[0] += br;
                a[1] += bi;
            }
        }
    }
}

void
tsl_rfft_forward (const TslRfft *plan, double *spectrum, const double *x, double *scratch)
{
    const int M = plan->half;
    double *z = scratch; /* [M, 2] */

    /* pack pairs of real samples into complex ones, in bit-reversed order */
    for (int m = 0; m < M; m++) {
        const int r = plan->bit_reverse[m];
        z[2 * r] = x[2 * m];
        z[2 * r + 1] = x[2 * m + 1];
    }
    complex_fft_in_place (plan, z);

    /* split: E = spectrum of the even samples, O = of the odd ones */
    for (int k = 0; k <= M; k++) {
        const int a = k % M, b = (M - k) % M;
        const double zr = z[2 * a], zi = z[2 * a + 1];
        const double cr = z[2 * b], ci = -z[2 * b + 1];  /* conj Z[M - k] */
        const double er = 0.5 * (zr + cr), ei = 0.5 * (zi + ci);
        /* (Z - conj Z') / 2i = (zi - ci, -(zr - cr)) / 2 */
        const double or_ = 0.5 * (zi - ci), oi = -0.5 * (zr - cr);
        const double wr = plan->twiddle[2 * k], wi = plan->twiddle[2 * k + 1];

        spectrum[2 * k] = er + or_ * wr - oi * wi;
        spectrum[2 * k + 1] = ei + or_ * wi + oi * wr;
    }
}
