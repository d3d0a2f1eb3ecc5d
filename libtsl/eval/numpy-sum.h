/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * eval/numpy-sum.h: np.sum of a contiguous float64 array, with NumPy's
 * pairwise summation, so that metric averages round exactly as the
 * reference's `ap.mean(axis=1)`, `mAP.mean()` and `np.sum(...)` do.
 *
 * NumPy (numpy/core/src/umath/loops_utils.h.src, pairwise_sum) adds:
 *   n < 8:     left to right, starting from 0.0;
 *   n <= 128:  eight running sums r[k] over elements k, k + 8, k + 16, ...
 *              of the first n - n % 8 elements, combined as
 *              ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), then the
 *              remaining n % 8 elements left to right;
 *   n > 128:   the first m = n / 2 rounded down to a multiple of 8 and the
 *              other n - m summed recursively, then added.
 * A 1-d reduction starts from the identity 0.0 and adds that result, and a
 * mean divides the sum by n. (Checked against NumPy 1.24 by the fixtures
 * of tests/unit/eval/make-tie-fixtures.py.)
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* np.sum(x[0, n)) bit for bit; 0.0 for n == 0. */
double tsl_numpy_sum (const double *x /* [n] */, int n);

G_END_DECLS
