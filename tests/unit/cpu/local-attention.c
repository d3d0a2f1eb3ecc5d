/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests cpu/local-attention.c (ActionFormer's banded masked attention)
 * against a double-precision reference over T in {1, 2, 7, 37, 64, 530,
 * 1100} (the last two span several of the forward's query tiles of 512),
 * windows W in {1, 3, 9, 11, 19} (wider than T for short T), H in {1, 2, 4}, masks
 * with padded tails and a batch item that is all padding. Besides out and
 * att it checks the att invariants directly: rows of valid queries sum to
 * 1, rows of masked queries and slots of keys outside [0, T) are exactly 0.
 * Backward is checked against the reference, against finite differences of
 * loss = sum(out * r) (so dout = r), and for its accumulate rule.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "cpu/cpu-ops.h"

typedef enum {
    MASK_ALL_VALID,  /* every position valid */
    MASK_TAILS,      /* batch item b has a padded tail that grows with b */
    MASK_EMPTY_ITEM, /* tails, and the last batch item is all padding */
} MaskKind;

typedef struct {
    int B, C, T, H, W;
    MaskKind mask;
} LocalAttentionCase;

static const LocalAttentionCase cases[] = {
    /* B  C   T   H  W   mask */
    { 1, 4, 1, 1, 1, MASK_ALL_VALID },    /* one step, one key */
    { 1, 4, 1, 1, 19, MASK_ALL_VALID },   /* window much wider than T */
    { 2, 8, 2, 4, 3, MASK_TAILS },
    { 2, 8, 7, 1, 9, MASK_TAILS },
    { 2, 16, 7, 4, 19, MASK_EMPTY_ITEM }, /* W > T */
    { 3, 16, 37, 4, 11, MASK_TAILS },     /* ActionFormer's window */
    { 2, 12, 37, 1, 9, MASK_EMPTY_ITEM },
    { 2, 20, 37, 4, 3, MASK_EMPTY_ITEM },
    { 2, 16, 64, 4, 19, MASK_TAILS },
    { 1, 8, 64, 4, 1, MASK_TAILS },       /* W 1: att is 1 on the query itself */
    { 1, 12, 64, 1, 11, MASK_ALL_VALID },
    { 2, 8, 530, 2, 19, MASK_TAILS },     /* windows across a forward query tile edge */
    { 1, 8, 1100, 4, 11, MASK_TAILS },    /* three query tiles, the last one partial */
};

static void
fill_mask (float *mask /* [B, T] */, const LocalAttentionCase *c)
{
    for (int b = 0; b < c->B; b++) {
        int valid = c->mask == MASK_ALL_VALID ? c->T : MAX (1, c->T - b * (c->T / 3 + 1));

        if (c->mask == MASK_EMPTY_ITEM && b == c->B - 1)
            valid = 0;
        for (int t = 0; t < c->T; t++)
            mask[(size_t) b * c->T + t] = t < valid ? 1.0f : 0.0f;
    }
}

/* ---- double-precision references ---- */

/* att[b, h, t, j] and out[b, c, t], as TslLocalAttentionFn in ops.h */
static void
local_attention_reference (double *out /* [B, C, T] */, double *att /* [B, H, T, W] */,
                           const float *q /* [B, C, T] */, const float *k /* [B, C, T] */,
                           const float *v /* [B, C, T] */, const float *mask /* [B, T] */,
                           const LocalAttentionCase *c, double scale)
{
    const int T = c->T, W = c->W, Dh = c->C / c->H;

    memset (out, 0, sizeof (double) * c->B * c->C * T);
    memset (att, 0, sizeof (double) * c->B * c->H * T * W);
    for (int b = 0; b < c->B; b++) {
        for (int h = 0; h < c->H; h++) {
            const size_t bh = ((size_t) b * c->C + (size_t) h * Dh) * T; /* q[b, h * Dh, 0] */

            for (int t = 0; t < T; t++) {
                double *att_t = att + (((size_t) b * c->H + h) * T + t) * W;
                double max_score = -INFINITY, sum = 0.0;

                if (mask[(size_t) b * T + t] == 0.0f)
                    continue;
                for (int j = 0; j < W; j++) {
                    int key = t - W / 2 + j;
                    double dot = 0.0;

                    if (key < 0 || key >= T)
                        continue;
                    for (int d = 0; d < Dh; d++)
                        dot += (double) q[bh + (size_t) d * T + t] * k[bh + (size_t) d * T + key];
                    att_t[j] = scale * dot + (mask[(size_t) b * T + key] == 0.0f ? -1e4 : 0.0);
                    max_score = MAX (max_score, att_t[j]);
                }
                for (int j = 0; j < W; j++) {
                    int key = t - W / 2 + j;

                    if (key < 0 || key >= T)
                        continue;
                    att_t[j] = exp (att_t[j] - max_score);
                    sum += att_t[j];
                }
                for (int j = 0; j < W; j++) {
                    int key = t - W / 2 + j;

                    if (key < 0 || key >= T)
                        continue;
                    att_t[j] /= sum;
                    for (int d = 0; d < Dh; d++)
                        out[bh + (size_t) d * T + t] += att_t[j] * v[bh + (size_t) d * T + key];
                }
            }
        }
    }
}

/* gradients of sum(out * dout) through the reference att, each zeroed first */
static void
local_attention_backward_reference (double *dq /* [B, C, T] */, double *dk /* [B, C, T] */,
                                    double *dv /* [B, C, T] */, const float *dout /* [B, C, T] */,
                                    const double *att /* [B, H, T, W] */,
                                    const float *q /* [B, C, T] */, const float *k /* [B, C, T] */,
                                    const float *v /* [B, C, T] */, const LocalAttentionCase *c,
                                    double scale)
{
    const int T = c->T, W = c->W, Dh = c->C / c->H;
    const size_t n = (size_t) c->B * c->C * T;
    double *datt = g_new (double, W);

    memset (dq, 0, sizeof (double) * n);
    memset (dk, 0, sizeof (double) * n);
    memset (dv, 0, sizeof (double) * n);
    for (int b = 0; b < c->B; b++) {
        for (int h = 0; h < c->H; h++) {
            const size_t bh = ((size_t) b * c->C + (size_t) h * Dh) * T;

            for (int t = 0; t < T; t++) {
                const double *att_t = att + (((size_t) b * c->H + h) * T + t) * W;
                double att_dot_datt = 0.0;

                for (int j = 0; j < W; j++) {
                    int key = t - W / 2 + j;

                    datt[j] = 0.0;
                    if (key < 0 || key >= T)
                        continue;
                    for (int d = 0; d < Dh; d++)
                        datt[j] += (double) dout[bh + (size_t) d * T + t] *
                                   v[bh + (size_t) d * T + key];
                    att_dot_datt += att_t[j] * datt[j];
                }
                for (int j = 0; j < W; j++) {
                    int key = t - W / 2 + j;
                    double ds = att_t[j] * (datt[j] - att_dot_datt);

                    if (key < 0 || key >= T)
                        continue;
                    for (int d = 0; d < Dh; d++) {
                        size_t at_t = bh + (size_t) d * T + t, at_key = bh + (size_t) d * T + key;

                        dq[at_t] += scale * ds * k[at_key];
                        dk[at_key] += scale * ds * q[at_t];
                        dv[at_key] += att_t[j] * dout[at_t];
                    }
                }
            }
        }
    }
    g_free (datt);
}

/* Row sums 1 for valid queries; exact zeros for masked queries and for the
 * slots of keys outside [0, T). */
static void
check_att_rows (const float *att /* [B, H, T, W] */, const float *mask /* [B, T] */,
                const LocalAttentionCase *c)
{
    int bad = 0;

    for (int b = 0; b < c->B; b++) {
        for (int h = 0; h < c->H; h++) {
            for (int t = 0; t < c->T; t++) {
                const float *att_t = att + (((size_t) b * c->H + h) * c->T + t) * c->W;
                gboolean valid = mask[(size_t) b * c->T + t] != 0.0f;
                double sum = 0.0;

                for (int j = 0; j < c->W; j++) {
                    int key = t - c->W / 2 + j;
                    gboolean must_be_zero = !valid || key < 0 || key >= c->T;

                    sum += att_t[j];
                    if (must_be_zero && att_t[j] != 0.0f) {
                        if (bad++ < 5)
                            printf ("# att[%d, %d, %d, %d] = %g, want exactly 0  NOT OK\n", b,
                                    h, t, j, att_t[j]);
                    }
                }
                /* float softmax of at most W terms */
                if (valid && fabs (sum - 1.0) > 1e-5) {
                    if (bad++ < 5)
                        printf ("# att row [%d, %d, %d] sums to %.9g  NOT OK\n", b, h, t, sum);
                }
            }
        }
    }
    printf ("# att rows: %d problems %s\n", bad, bad ? "NOT OK" : "OK");
    if (bad)
        g_test_fail ();
}

/* ---- finite differences ---- */

typedef struct {
    TslBackend *be;
    const LocalAttentionCase *c;
    float *out, *att, *q, *k, *v, *mask, *r;
    float scale;
} LocalAttentionLoss;

static double
local_attention_loss (void *data)
{
    LocalAttentionLoss *l = data;
    const LocalAttentionCase *c = l->c;
    const size_t n = (size_t) c->B * c->C * c->T;
    double loss = 0.0;

    tsl_cpu_local_attention (l->be, l->out, l->att, l->q, l->k, l->v, l->mask, c->B, c->C, c->T,
                             c->H, c->W, l->scale);
    for (size_t i = 0; i < n; i++)
        loss += (double) l->out[i] * l->r[i];
    return loss;
}

static double *
sum_of (const float *before, const double *ref, size_t n)
{
    double *expected = g_new (double, n);

    for (size_t i = 0; i < n; i++)
        expected[i] = (double) before[i] + ref[i];
    return expected;
}

static void
test_local_attention_case (gconstpointer data)
{
    const LocalAttentionCase *c = data;
    const size_t n = (size_t) c->B * c->C * c->T;
    const size_t n_att = (size_t) c->B * c->H * c->T * c->W;
    const float scale = 1.0f / sqrtf ((float) (c->C / c->H));
    g_autoptr (GError) error = NULL;
    TslBackend *be = tsl_backend_new ("cpu", &error);
    TslTestRng rng;
    float *q = g_new (float, n), *k = g_new (float, n), *v = g_new (float, n);
    float *r = g_new (float, n), *mask = g_new (float, (size_t) c->B * c->T);
    float *loss_out = g_new (float, n), *loss_att = g_new (float, n_att);
    float *out = tsl_test_alloc_guarded (n), *att = tsl_test_alloc_guarded (n_att);
    float *dq = tsl_test_alloc_guarded (n), *dk = tsl_test_alloc_guarded (n);
    float *dv = tsl_test_alloc_guarded (n);
    float *acc_dq = tsl_test_alloc_guarded (n), *acc_dk = tsl_test_alloc_guarded (n);
    float *acc_dv = tsl_test_alloc_guarded (n);
    double *ref_out = g_new (double, n), *ref_att = g_new (double, n_att);
    double *ref_dq = g_new (double, n), *ref_dk = g_new (double, n), *ref_dv = g_new (double, n);

    g_assert_no_error (error);
    tsl_test_rng_init (&rng, 500 + c->T * 17 + c->W * 3 + c->H);
    /* scores of unit size: the softmax is far from uniform */
    tsl_test_fill_normal (&rng, q, n, 1.5f);
    tsl_test_fill_normal (&rng, k, n, 1.5f);
    tsl_test_fill_normal (&rng, v, n, 1.0f);
    tsl_test_fill_normal (&rng, r, n, 1.0f);
    tsl_test_fill_normal (&rng, out, n, 1.0f); /* forward must overwrite out and att */
    tsl_test_fill_normal (&rng, att, n_att, 1.0f);
    fill_mask (mask, c);

    /* forward: float scores and the vectorised exp are exact to a few ulp */
    local_attention_reference (ref_out, ref_att, q, k, v, mask, c, scale);
    tsl_cpu_local_attention (be, out, att, q, k, v, mask, c->B, c->C, c->T, c->H, c->W, scale);
    tsl_test_check_close ("local_attention out", out, ref_out, n, 1e-5, 1e-4);
    tsl_test_check_close ("local_attention att", att, ref_att, n_att, 1e-6, 1e-4);
    check_att_rows (att, mask, c);

    /* backward from zeroed gradients, dout = r, through the op's own att */
    local_attention_backward_reference (ref_dq, ref_dk, ref_dv, r, ref_att, q, k, v, c, scale);
    tsl_cpu_local_attention_backward (be, dq, dk, dv, r, att, q, k, v, c->B, c->C, c->T, c->H,
                                      c->W, scale);
    tsl_test_check_close ("local_attention dq", dq, ref_dq, n, 1e-5, 1e-4);
    tsl_test_check_close ("local_attention dk", dk, ref_dk, n, 1e-5, 1e-4);
    tsl_test_check_close ("local_attention dv", dv, ref_dv, n, 1e-5, 1e-4);

    /* accumulate rule: into random gradients, backward adds the same amounts */
    {
        tsl_test_fill_normal (&rng, acc_dq, n, 1.0f);
        tsl_test_fill_normal (&rng, acc_dk, n, 1.0f);
        tsl_test_fill_normal (&rng, acc_dv, n, 1.0f);
        g_autofree double *want_dq = sum_of (acc_dq, ref_dq, n);
        g_autofree double *want_dk = sum_of (acc_dk, ref_dk, n);
        g_autofree double *want_dv = sum_of (acc_dv, ref_dv, n);

        tsl_cpu_local_attention_backward (be, acc_dq, acc_dk, acc_dv, r, att, q, k, v, c->B, c->C,
                                          c->T, c->H, c->W, scale);
        tsl_test_check_close ("local_attention dq accumulated", acc_dq, want_dq, n, 1e-5, 1e-4);
        tsl_test_check_close ("local_attention dk accumulated", acc_dk, want_dk, n, 1e-5, 1e-4);
        tsl_test_check_close ("local_attention dv accumulated", acc_dv, want_dv, n, 1e-5, 1e-4);
    }

    /* finite differences: central differences of a smooth loss, eps 1e-2
     * leaves a truncation error near 1e-5 and float rounding of the loss
     * near 1e-4 over 2 eps */
    {
        LocalAttentionLoss loss = { be, c, loss_out, loss_att, q, k, v, mask, r, scale };

        tsl_test_check_gradient ("local_attention dq numeric", local_attention_loss, &loss, q, dq,
                                 n, 96, 1e-2f, 1e-3, 1e-3);
        tsl_test_check_gradient ("local_attention dk numeric", local_attention_loss, &loss, k, dk,
                                 n, 96, 1e-2f, 1e-3, 1e-3);
        tsl_test_check_gradient ("local_attention dv numeric", local_attention_loss, &loss, v, dv,
                                 n, 96, 1e-2f, 1e-3, 1e-3);
    }

    tsl_test_free_guarded ("local_attention out", out, n);
    tsl_test_free_guarded ("local_attention att", att, n_att);
    tsl_test_free_guarded ("local_attention dq", dq, n);
    tsl_test_free_guarded ("local_attention dk", dk, n);
    tsl_test_free_guarded ("local_attention dv", dv, n);
    tsl_test_free_guarded ("local_attention dq accumulated", acc_dq, n);
    tsl_test_free_guarded ("local_attention dk accumulated", acc_dk, n);
    tsl_test_free_guarded ("local_attention dv accumulated", acc_dv, n);
    g_free (q);
    g_free (k);
    g_free (v);
    g_free (r);
    g_free (mask);
    g_free (loss_out);
    g_free (loss_att);
    g_free (ref_out);
    g_free (ref_att);
    g_free (ref_dq);
    g_free (ref_dk);
    g_free (ref_dv);
    tsl_backend_free (be);
}

int
main (int argc, char **argv)
{
    static const char *mask_names[] = { "valid", "tails", "empty_item" };

    g_test_init (&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        const LocalAttentionCase *c = &cases[i];
        g_autofree char *path =
            g_strdup_printf ("/cpu/local_attention/b%d_c%d_t%d_h%d_w%d_%s", c->B, c->C, c->T,
                             c->H, c->W, mask_names[c->mask]);
        g_test_add_data_func (path, c, test_local_attention_case);
    }
    return g_test_run ();
}
