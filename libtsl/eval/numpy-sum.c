/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * eval/numpy-sum.c: NumPy's pairwise summation of float64 (see
 * numpy-sum.h); the blocks, unrolling and combination order are NumPy's.
 */
#include "numpy-sum.h"

#define UNROLL 8      /* running sums of one block */
#define BLOCK 128     /* longest run summed without splitting */

static double
pairwise_sum (const double *x, int n)
{
    if (n < UNROLL) {
        double sum = 0.0;
        for (int i = 0; i < n; i++)
            sum += x[i];
        return sum;
    }
    if (n <= BLOCK) {
        double r[UNROLL];
        int i;

        for (int k = 0; k < UNROLL; k++)
            r[k] = x[k];
        for (i = UNROLL; i < n - n % UNROLL; i += UNROLL) {
            for (int k = 0; k < UNROLL; k++)
                r[k] += x[i + k];
        }
        double sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            sum += x[i];
        return sum;
    }
    int half = n / 2;
    half -= half % UNROLL;
    return pairwise_sum (x, half) + pairwise_sum (x + half, n - half);
}

double
tsl_numpy_sum (const double *x, int n)
{
    return 0.0 + pairwise_sum (x, n);
}
