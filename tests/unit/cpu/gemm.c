/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests cpu/gemm.c against a double-precision triple loop, over every
 * transpose combination, odd sizes, batches with padded strides, and
 * alpha/beta. The output is guarded against writes past its end.
 */
#include "testutil.h"
#include "cpu/cpu-ops.h"

typedef struct {
    int batch, M, N, K;
    gboolean trans_a, trans_b;
    float alpha, beta;
} GemmCase;

static const GemmCase cases[] = {
    { 1, 1, 1, 1, FALSE, FALSE, 1.0f, 0.0f },
    { 1, 7, 5, 3, FALSE, FALSE, 1.0f, 0.0f },
    { 1, 33, 17, 65, TRUE, FALSE, 0.5f, 0.0f },
    { 2, 19, 31, 9, FALSE, TRUE, 1.0f, 1.0f },
    { 3, 16, 1, 129, TRUE, TRUE, -2.0f, 0.25f },
    { 4, 64, 48, 32, FALSE, FALSE, 1.0f, 0.5f },
};

static void
test_gemm_case (gconstpointer data)
{
    const GemmCase *c = data;
    TslTestRng rng;
    g_autoptr (GError) error = NULL;
    TslBackend *be = tsl_backend_new ("cpu", &error);
    /* batch items are separated by a gap of 3 floats to test the strides */
    size_t sa = (size_t) c->M * c->K + 3, sb = (size_t) c->K * c->N + 3, sc = (size_t) c->M * c->N + 3;
    float *a = g_new (float, sa * c->batch);
    float *b = g_new (float, sb * c->batch);
    float *out = tsl_test_alloc_guarded (sc * c->batch);
    double *ref = g_new0 (double, sc * c->batch);

    g_assert_no_error (error);
    tsl_test_rng_init (&rng, 42 + c->M);
    tsl_test_fill_normal (&rng, a, sa * c->batch, 1.0f);
    tsl_test_fill_normal (&rng, b, sb * c->batch, 1.0f);
    tsl_test_fill_normal (&rng, out, sc * c->batch, 1.0f);
    for (int i = 0; i < c->batch; i++) {
        const float *a_i = a + i * sa, *b_i = b + i * sb;
        for (int m = 0; m < c->M; m++) {
            for (int n = 0; n < c->N; n++) {
                double acc = 0.0;
                for (int k = 0; k < c->K; k++) {
                    double av = c->trans_a ? a_i[k * c->M + m] : a_i[m * c->K + k];
                    double bv = c->trans_b ? b_i[n * c->K + k] : b_i[k * c->N + n];
                    acc += av * bv;
                }
                size_t o = i * sc + (size_t) m * c->N + n;
                ref[o] = c->alpha * acc + c->beta * (double) out[o];
            }
        }
        for (int g = 0; g < 3; g++)
            ref[i * sc + (size_t) c->M * c->N + g] = out[i * sc + (size_t) c->M * c->N + g];
    }

    tsl_cpu_gemm (be, out, a, b, c->batch, c->M, c->N, c->K, c->trans_a, c->trans_b, c->alpha,
                  c->beta, sa, sb, sc);

    /* float32 products of K normal terms: rounding grows like sqrt(K) ulp */
    tsl_test_check_close ("gemm", out, ref, sc * c->batch, 1e-5 * c->K, 1e-5);
    tsl_test_free_guarded ("gemm", out, sc * c->batch);
    g_free (a);
    g_free (b);
    g_free (ref);
    tsl_backend_free (be);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        const GemmCase *c = &cases[i];
        g_autofree char *path =
            g_strdup_printf ("/cpu/gemm/b%d_m%d_n%d_k%d_t%d%d", c->batch, c->M, c->N, c->K,
                             c->trans_a, c->trans_b);
        g_test_add_data_func (path, c, test_gemm_case);
    }
    return g_test_run ();
}
