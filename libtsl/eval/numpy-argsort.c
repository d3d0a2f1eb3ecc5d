/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * eval/numpy-argsort.c: NumPy 1.24's argsort introsort on float64 (see
 * numpy-argsort.h). Every comparison, swap and stack push happens in the
 * order of NumPy's aquicksort_ / aheapsort_, so ties resolve the same way.
 * Sorting works on the index array only; values are read, never moved.
 */
#include "numpy-argsort.h"

#define SMALL_RANGE 15      /* ranges with hi - lo <= this are insertion sorted */
#define STACK_SLOTS 128     /* 2 * bits of a size: bounds the pushed ranges */

/* NumPy's float order: NaN after every number. */
static inline gboolean
less (double a, double b)
{
    return a < b || (b != b && a == a);
}

static inline void
swap_index (int *a, int *b)
{
    int tmp = *a;

    *a = *b;
    *b = tmp;
}

/* floor(log2 n) for n >= 1 */
static int
floor_log2 (int n)
{
    int depth = 0;

    while (n >>= 1)
        depth++;
    return depth;
}

/* ---- heap sort fallback (1-based heap over idx[0, n)) ---- */

static void
sift_down (int *heap /* 1-based */, const double *v, int top, int n)
{
    int tmp = heap[top];
    int i = top, j = top << 1;

    while (j <= n) {
        if (j < n && less (v[heap[j]], v[heap[j + 1]]))
            j += 1;
        if (!less (v[tmp], v[heap[j]]))
            break;
        heap[i] = heap[j];
        i = j;
        j += j;
    }
    heap[i] = tmp;
}

static void
heap_sort (int *idx /* [n] */, const double *v, int n)
{
    int *heap = idx - 1; /* heap[1] = idx[0] */

    for (int l = n >> 1; l > 0; --l)
        sift_down (heap, v, l, n);
    while (n > 1) {
        /* the largest goes to the end; the last element sifts down from the root */
        int tmp = heap[n];
        heap[n] = heap[1];
        n -= 1;
        heap[1] = tmp;
        sift_down (heap, v, 1, n);
    }
}

/* ---- introsort ---- */

static void
insertion_sort (int *lo, int *hi /* inclusive */, const double *v)
{
    for (int *pi = lo + 1; pi <= hi; ++pi) {
        int vi = *pi;
        double vp = v[vi];
        int *pj = pi;

        while (pj > lo && less (vp, v[pj[-1]])) {
            *pj = pj[-1];
            pj--;
        }
        *pj = vi;
    }
}

/* Partitions [lo, hi] (hi - lo > SMALL_RANGE) around the median of
 * lo, mid, hi; returns the pivot's final place. */
static int *
partition (int *lo, int *hi, const double *v)
{
    int *mid = lo + ((hi - lo) >> 1);

    /* pass 1: sort the three samples in place */
    if (less (v[*mid], v[*lo]))
        swap_index (mid, lo);
    if (less (v[*hi], v[*mid]))
        swap_index (hi, mid);
    if (less (v[*mid], v[*lo]))
        swap_index (mid, lo);

    /* pass 2: park the pivot at hi - 1; lo and hi are sentinels */
    const double pivot = v[*mid];
    int *pi = lo, *pj = hi - 1;
    swap_index (mid, pj);
    for (;;) {
        do
            ++pi;
        while (less (v[*pi], pivot));
        do
            --pj;
        while (less (pivot, v[*pj]));
        if (pi >= pj)
            break;
        swap_index (pi, pj);
    }

    /* pass 3: the pivot goes between the parts */
    swap_index (pi, hi - 1);
    return pi;
}

void
tsl_numpy_argsort (int *order, const double *values, int n)
{
    int *stack[STACK_SLOTS];
    int depth[STACK_SLOTS];
    int **sp = stack;
    int *dp = depth;

    for (int i = 0; i < n; i++)
        order[i] = i;
    if (n < 2)
        return;

    int *lo = order, *hi = order + n - 1;
    int depth_left = floor_log2 (n) * 2;
    for (;;) {
        if (depth_left < 0) {
            heap_sort (lo, values, (int) (hi - lo + 1));
        } else {
            while (hi - lo > SMALL_RANGE) {
                int *p = partition (lo, hi, values);
                /* push the larger part, continue with the smaller */
                if (p - lo < hi - p) {
                    *sp++ = p + 1;
                    *sp++ = hi;
                    hi = p - 1;
                } else {
                    *sp++ = lo;
                    *sp++ = p - 1;
                    lo = p + 1;
                }
                *dp++ = --depth_left;
            }
            insertion_sort (lo, hi, values);
        }
        if (sp == stack)
            break;
        hi = *--sp;
        lo = *--sp;
        depth_left = *--dp;
    }
}
