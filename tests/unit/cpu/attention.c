/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests cpu/attention.c (full multi-head self-attention from a fused qkv
 * projection) against a double-precision reference: one token, odd token
 * counts, one and many heads, B > 1, and large scores that overflow expf
 * unless the softmax subtracts the row maximum. The output is guarded
 * against writes past its end.
 */
#include <math.h>

#include "testutil.h"
#include "cpu/cpu-ops.h"

typedef struct {
    int B, N, C, H;
    float stddev; /* of q, k and v: large values make large scores */
} AttentionCase;

static const AttentionCase cases[] = {
    /* B  N    C   H  stddev */
    { 1, 1, 8, 2, 1.0f },      /* one token: out = v */
    { 2, 7, 12, 3, 1.0f },     /* odd N, Dh 4 */
    { 1, 37, 64, 1, 1.0f },    /* one head */
    { 2, 50, 48, 4, 1.0f },
    { 1, 197, 96, 12, 1.0f },  /* ViT-like token count, Dh 8 */
    { 1, 23, 32, 2, 16.0f },   /* scores of a few hundred: expf overflows without the max */
};

/* ---- double-precision reference ---- */

static void
attention_reference (double *out /* [B, N, C] */, const float *qkv /* [B, N, 3C] */,
                     const AttentionCase *c, double scale)
{
    const int Dh = c->C / c->H;
    double *p = g_new (double, c->N);

    for (int b = 0; b < c->B; b++) {
        const float *qkv_b = qkv + (size_t) b * c->N * 3 * c->C;

        for (int h = 0; h < c->H; h++) {
            for (int n = 0; n < c->N; n++) {
                double max_score = -INFINITY, sum = 0.0;

                for (int m = 0; m < c->N; m++) {
                    double dot = 0.0;

                    for (int d = 0; d < Dh; d++)
                        dot += (double) qkv_b[(size_t) n * 3 * c->C + h * Dh + d] *
                               qkv_b[(size_t) m * 3 * c->C + c->C + h * Dh + d];
                    p[m] = scale * dot;
                    max_score = MAX (max_score, p[m]);
                }
                for (int m = 0; m < c->N; m++) {
                    p[m] = exp (p[m] - max_score);
                    sum += p[m];
                }
                for (int d = 0; d < Dh; d++) {
                    double acc = 0.0;

                    for (int m = 0; m < c->N; m++)
                        acc += p[m] / sum * qkv_b[(size_t) m * 3 * c->C + 2 * c->C + h * Dh + d];
                    out[((size_t) b * c->N + n) * c->C + h * Dh + d] = acc;
                }
            }
        }
    }
    g_free (p);
}

static void
test_attention_case (gconstpointer data)
{
    const AttentionCase *c = data;
    const size_t n_qkv = (size_t) c->B * c->N * 3 * c->C, n_out = (size_t) c->B * c->N * c->C;
    const float scale = 1.0f / sqrtf ((float) (c->C / c->H));
    g_autoptr (GError) error = NULL;
    TslBackend *be = tsl_backend_new ("cpu", &error);
    TslTestRng rng;
    float *qkv = g_new (float, n_qkv);
    float *out = tsl_test_alloc_guarded (n_out);
    double *ref = g_new (double, n_out);

    g_assert_no_error (error);
    tsl_test_rng_init (&rng, 99 + c->N);
    tsl_test_fill_normal (&rng, qkv, n_qkv, c->stddev);
    tsl_test_fill_normal (&rng, out, n_out, 1.0f); /* must be overwritten */

    attention_reference (ref, qkv, c, scale);
    tsl_cpu_attention (be, out, qkv, c->B, c->N, c->C, c->H, scale);
    /* scores of size stddev^2 carry float errors near 1e-7 stddev^2, which
     * the softmax passes on as relative errors of the weights of v (size
     * stddev): the error grows like stddev^3 */
    const double atol = 2e-6 * c->stddev * c->stddev * c->stddev;

    tsl_test_check_close ("attention out", out, ref, n_out, atol, 1e-4);

    tsl_test_free_guarded ("attention out", out, n_out);
    g_free (qkv);
    g_free (ref);
    tsl_backend_free (be);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        const AttentionCase *c = &cases[i];
        g_autofree char *path = g_strdup_printf ("/cpu/attention/b%d_n%d_c%d_h%d_std%g", c->B,
                                                 c->N, c->C, c->H, c->stddev);
        g_test_add_data_func (path, c, test_attention_case);
    }
    return g_test_run ();
}
