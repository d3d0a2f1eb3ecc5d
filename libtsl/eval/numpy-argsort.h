/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * eval/numpy-argsort.h: np.argsort of a float64 array, with NumPy 1.24's
 * default algorithm (kind='quicksort'), so that EQUAL values come out in
 * exactly the order NumPy gives them.
 *
 * The detection metric of the reference (ANETdetection in the Perception
 * Test fork of ActionFormer) ranks a class's predictions with
 * `scores.argsort()[::-1]` and a prediction's candidate ground truth with
 * `tiou.argsort()[::-1]`; which of two equal scores is ranked first changes
 * the AP. NumPy 1.24 (numpy/core/src/npysort/quicksort.cpp aquicksort_,
 * npysort_heapsort.h aheapsort_) sorts an index array with an introsort:
 *   - n <= 16: insertion sort only, which is stable (equal values keep
 *     their input order, so after [::-1] the LATER one ranks first);
 *   - larger ranges: median-of-three pivot (first, middle, last sorted in
 *     place, the median parked at last - 1), Hoare partition that stops on
 *     equal values, the smaller side continued and the larger pushed on a
 *     stack, ranges of <= 16 insertion sorted; a range popped from the stack
 *     after more than 2 * floor(log2 n) partitions is heap sorted instead.
 * Equal values then end in an order that depends on the whole array.
 * Order relation: a before b when a < b, or b is NaN and a is not (NaN
 * last; NaN equals NaN; -0.0 equals +0.0).
 *
 * NumPy 1.25+ on AVX-512 machines and other versions may order ties
 * differently; this matches the 1.24 generic code, the one the reference
 * numbers were produced with. tests/unit/eval/make-tie-fixtures.py records
 * NumPy's own answers for the tests.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* order[0, n) = the indices of values[0, n) in ascending order, exactly as
 * np.argsort(values) (kind 'quicksort', NumPy 1.24) returns them. */
void tsl_numpy_argsort (int *order /* [n] */, const double *values /* [n] */, int n);

G_END_DECLS
