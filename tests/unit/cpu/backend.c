/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests the memory functions of cpu/backend.c: copy, upload and download
 * over sizes below, at and past the threshold where the copy is split over
 * threads (4 MiB, chunks of 1 MiB, with a ragged last chunk), byte offsets
 * that are not float aligned, overlapping ranges in both directions (which
 * must behave as memmove), and zero.
 */
#include <string.h>

#include "testutil.h"
#include "backend.h"

static void
fill_pattern (guint8 *p, size_t n, guint seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (guint8) ((i * 2654435761u + seed) >> 13);
}

static void
test_copy_sizes (void)
{
    static const size_t sizes[] = { 0, 1, 4095, (4u << 20) - 1, 4u << 20,
                                    (10u << 20) + 123 };
    TslBackend *be = tsl_backend_new ("cpu", NULL);

    for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
        const size_t n = sizes[i];
        guint8 *src = g_malloc (n + 16), *dst = g_malloc0 (n + 16), *back = g_malloc0 (n + 16);

        fill_pattern (src, n + 16, i);
        /* odd offsets: the chunks need no alignment */
        tsl_backend_copy (be, dst + 3, src + 1, n);
        g_assert_true (memcmp (dst + 3, src + 1, n) == 0);
        g_assert_cmpuint (dst[n + 3], ==, 0);  /* nothing past the end */
        g_assert_cmpuint (dst[2], ==, 0);
        tsl_backend_upload (be, back, dst + 3, n);
        g_assert_true (memcmp (back, src + 1, n) == 0);
        memset (back, 0, n);
        tsl_backend_download (be, back, dst + 3, n);
        g_assert_true (memcmp (back, src + 1, n) == 0);
        g_free (src);
        g_free (dst);
        g_free (back);
    }
    tsl_backend_free (be);
}

static void
test_copy_overlap (void)
{
    const size_t n = 9u << 20, shift = 1000;
    TslBackend *be = tsl_backend_new ("cpu", NULL);
    guint8 *buf = g_malloc (n + shift), *want = g_malloc (n + shift);

    /* forwards: dst after src */
    fill_pattern (buf, n + shift, 5);
    memcpy (want, buf, n + shift);
    memmove (want + shift, want, n);
    tsl_backend_copy (be, buf + shift, buf, n);
    g_assert_true (memcmp (buf, want, n + shift) == 0);
    /* backwards: dst before src */
    fill_pattern (buf, n + shift, 6);
    memcpy (want, buf, n + shift);
    memmove (want, want + shift, n);
    tsl_backend_copy (be, buf, buf + shift, n);
    g_assert_true (memcmp (buf, want, n + shift) == 0);
    g_free (buf);
    g_free (want);
    tsl_backend_free (be);
}

static void
test_zero (void)
{
    const size_t n = 5u << 20;
    TslBackend *be = tsl_backend_new ("cpu", NULL);
    guint8 *buf = g_malloc (n + 2);

    fill_pattern (buf, n + 2, 7);
    buf[0] = buf[n + 1] = 0xab;
    tsl_backend_zero (be, buf + 1, n);
    for (size_t i = 1; i <= n; i++)
        g_assert_cmpuint (buf[i], ==, 0);
    g_assert_cmpuint (buf[0], ==, 0xab);
    g_assert_cmpuint (buf[n + 1], ==, 0xab);
    g_free (buf);
    tsl_backend_free (be);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/cpu/backend/copy/sizes", test_copy_sizes);
    g_test_add_func ("/cpu/backend/copy/overlap", test_copy_overlap);
    g_test_add_func ("/cpu/backend/zero", test_zero);
    return g_test_run ();
}
