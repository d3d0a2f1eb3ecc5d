/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * decode/score-sort.c: descending sort of (score, index) pairs with the tie
 * order of libstdc++'s std::sort, which PyTorch's CPU torch.sort uses when
 * `stable` is not requested. See score-sort.h for why the tie order
 * matters.
 *
 * The stages are those of the libstdc++ introsort (the same for many
 * releases; checked against g++ 12, the compiler of the reference build):
 *   pass 1: introsort loop on ranges longer than 16: move the median of
 *           (second, middle, last) to the front, partition the rest around
 *           it without bounds checks, recurse into the right part and loop
 *           on the left part; after 2 * floor(log2 n) levels a range is heap
 *           sorted instead.
 *   pass 2: insertion sort of the first 16 elements, then unguarded
 *           insertion of every later element (pass 1 guarantees a smaller
 *           element, in sort order, somewhere to its left).
 * Every comparison and every move happens in the same order as in
 * libstdc++, so equal scores end where std::sort puts them.
 */
#include "score-sort.h"

#include <math.h>

#define INSERTION_THRESHOLD 16

/* Strict order of the sort: a comes before b. NaN first, as PyTorch's
 * descending comparator. */
static inline gboolean
before (TslScoreIndex a, TslScoreIndex b)
{
    return (isnan (a.score) && !isnan (b.score)) || a.score > b.score;
}

static inline void
swap_items (TslScoreIndex *a, TslScoreIndex *b)
{
    TslScoreIndex tmp = *a;

    *a = *b;
    *b = tmp;
}

/* ---- heap sort fallback ---- */

/* Sift the hole at `hole` down to a leaf along the larger children, then
 * push `value` back up from there, stopping at `top`. */
static void
adjust_heap (TslScoreIndex *items, int hole, int len, TslScoreIndex value)
{
    const int top = hole;
    int child = hole;

    while (child < (len - 1) / 2) {
        child = 2 * (child + 1);
        if (before (items[child], items[child - 1]))
            child--;
        items[hole] = items[child];
        hole = child;
    }
    if ((len & 1) == 0 && child == (len - 2) / 2) {
        child = 2 * (child + 1);
        items[hole] = items[child - 1];
        hole = child - 1;
    }
    int parent = (hole - 1) / 2;
    while (hole > top && before (items[parent], value)) {
        items[hole] = items[parent];
        hole = parent;
        parent = (hole - 1) / 2;
    }
    items[hole] = value;
}

static void
heap_sort (TslScoreIndex *items, int len)
{
    if (len < 2)
        return;
    for (int parent = (len - 2) / 2;; parent--) {
        adjust_heap (items, parent, len, items[parent]);
        if (parent == 0)
            break;
    }
    for (int last = len - 1; last > 0; last--) {
        TslScoreIndex value = items[last];

        items[last] = items[0];
        adjust_heap (items, 0, last, value);
    }
}

/* ---- pass 1: introsort loop ---- */

static void
move_median_to_first (TslScoreIndex *result, TslScoreIndex *a, TslScoreIndex *b,
                      TslScoreIndex *c)
{
    if (before (*a, *b)) {
        if (before (*b, *c))
            swap_items (result, b);
        else if (before (*a, *c))
            swap_items (result, c);
        else
            swap_items (result, a);
    } else if (before (*a, *c)) {
        swap_items (result, a);
    } else if (before (*b, *c)) {
        swap_items (result, c);
    } else {
        swap_items (result, b);
    }
}

/* Partitions [first, last) around *pivot, which lies outside the range;
 * returns the start of the right part. */
static TslScoreIndex *
unguarded_partition (TslScoreIndex *first, TslScoreIndex *last, const TslScoreIndex *pivot)
{
    for (;;) {
        while (before (*first, *pivot))
            first++;
        last--;
        while (before (*pivot, *last))
            last--;
        if (!(first < last))
            return first;
        swap_items (first, last);
        first++;
    }
}

static void
introsort_loop (TslScoreIndex *first, TslScoreIndex *last, int depth_limit)
{
    while (last - first > INSERTION_THRESHOLD) {
        if (depth_limit == 0) {
            heap_sort (first, (int) (last - first));
            return;
        }
        depth_limit--;
        TslScoreIndex *mid = first + (last - first) / 2;
        move_median_to_first (first, first + 1, mid, last - 1);
        TslScoreIndex *cut = unguarded_partition (first + 1, last, first);
        introsort_loop (cut, last, depth_limit);
        last = cut;
    }
}

/* ---- pass 2: insertion sorts ---- */

/* Moves *position left past every element it comes before; the caller
 * guarantees an element that stops it. */
static void
unguarded_linear_insert (TslScoreIndex *position)
{
    TslScoreIndex value = *position;
    TslScoreIndex *next = position - 1;

    while (before (value, *next)) {
        *position = *next;
        position = next;
        next--;
    }
    *position = value;
}

static void
insertion_sort (TslScoreIndex *first, TslScoreIndex *last)
{
    if (first == last)
        return;
    for (TslScoreIndex *i = first + 1; i != last; i++) {
        if (before (*i, *first)) {
            TslScoreIndex value = *i;

            for (TslScoreIndex *j = i; j != first; j--)
                *j = *(j - 1);
            *first = value;
        } else {
            unguarded_linear_insert (i);
        }
    }
}

static int
floor_log2 (int n)
{
    int log = 0;

    while (n > 1) {
        n >>= 1;
        log++;
    }
    return log;
}

void
tsl_decode_sort_desc (TslScoreIndex *items, int n)
{
    if (n <= 1)
        return;
    introsort_loop (items, items + n, 2 * floor_log2 (n));
    if (n > INSERTION_THRESHOLD) {
        insertion_sort (items, items + INSERTION_THRESHOLD);
        for (TslScoreIndex *i = items + INSERTION_THRESHOLD; i != items + n; i++)
            unguarded_linear_insert (i);
    } else {
        insertion_sort (items, items + n);
    }
}
