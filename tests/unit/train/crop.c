/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * crop.c: the training crop and batch padding. Each case crops a synthetic
 * video (feature [c, t] = 1000 c + t, so the chosen window can be read back)
 * and checks the result against a plain re-statement of the official rules
 * in double precision driven by a second generator with the same seed:
 * same window, same kept segments clipped and shifted, same labels. The
 * generator itself is checked for range, coverage and determinism.
 */
#include <math.h>
#include <string.h>

#include "testutil.h"
#include "train/crop.h"

typedef struct {
    const char *name;
    int length;          /* T */
    int max_seq_len;
    double trunc_thresh;
    double offset;
    double crop_lo, crop_hi; /* crop ratio; crop_hi 0 = none */
    int n_segments;      /* random segments inside [-2, T + 2] */
    gboolean far_segments; /* segments no window can reach */
    gboolean no_trunc;
} CropCase;

static const CropCase cases[] = {
    { "long_thresh05", 301, 64, 0.5, 0.5, 0, 0, 7, FALSE, FALSE },
    { "long_thresh0_offset0", 257, 100, 0.0, 0.0, 0, 0, 5, FALSE, FALSE },
    { "long_thresh1", 1000, 37, 1.0, 0.5, 0, 0, 40, FALSE, FALSE },
    { "long_no_trunc", 400, 150, 0.5, 0.5, 0, 0, 3, FALSE, TRUE },
    { "short_crop_ratio", 45, 64, 0.5, 0.5, 0.9, 1.0, 4, FALSE, FALSE },
    { "short_no_ratio", 45, 64, 0.5, 0.5, 0, 0, 4, FALSE, FALSE },
    { "equal_length", 64, 64, 0.5, 0.5, 0, 0, 4, FALSE, FALSE },
    { "no_valid_window", 300, 50, 0.5, 0.5, 0, 0, 2, TRUE, FALSE },
};

static TslTrainSample *
make_sample (const CropCase *c, TslTestRng *rng)
{
    TslTrainSample *s = g_new0 (TslTrainSample, 1);
    s->video_id = g_strdup (c->name);
    s->n_channels = 3;
    s->length = c->length;
    s->feats = g_new (float, (size_t) s->n_channels * s->length);
    for (int ch = 0; ch < s->n_channels; ch++)
        for (int t = 0; t < s->length; t++)
            s->feats[ch * s->length + t] = (float) (1000 * ch + t);
    s->n_segments = c->n_segments;
    s->segments = g_new (float, 2 * c->n_segments + 1);
    s->labels = g_new (int, c->n_segments + 1);
    for (int i = 0; i < c->n_segments; i++) {
        double a, b;
        if (c->far_segments) {
            a = c->length + 10.0 + i;
            b = a + 1.25;
        } else {
            a = -2.0 + tsl_test_rng_uniform (rng) * (c->length + 4.0);
            b = a + 0.3 + tsl_test_rng_uniform (rng) * c->length * 0.2;
        }
        s->segments[2 * i] = (float) a;
        s->segments[2 * i + 1] = (float) b;
        s->labels[i] = 100 + i;
    }
    return s;
}

/* The official rules, restated: returns the window length, *st_out the start. */
static int
reference_window (const CropCase *c, const TslTrainSample *s, TslTrainRng *rng, int *st_out,
                  gboolean *keep)
{
    int t = s->length, len = c->max_seq_len;
    if (t <= len) {
        if (c->crop_hi == 0)
            return -1;
        double lo_real = c->crop_lo * t, hi_real = c->crop_hi * t;
        /* round half to even */
        long lo = lrint (lo_real), hi = lrint (hi_real);
        len = (int) tsl_train_rng_int (rng, MAX (lo, 1), MIN (hi, t));
        if (len == t)
            return -1;
    }
    int st = 0;
    for (int trial = 0; trial < 200; trial++) {
        st = (int) tsl_train_rng_int (rng, 0, t - len);
        int kept = 0, cut = 0;
        for (int i = 0; i < s->n_segments; i++) {
            double a = s->segments[2 * i], b = s->segments[2 * i + 1];
            double l = MAX (st - c->offset, a), r = MIN (st + len + c->offset, b);
            double ratio = MAX (r - l, 0.0) / fabs (b - a);
            keep[i] = ratio >= c->trunc_thresh;
            kept += keep[i];
            cut += ratio > 0 && ratio < 1;
        }
        if (c->no_trunc ? (kept > 0 && cut == 0) : kept > 0)
            break;
    }
    *st_out = st;
    return len;
}

static void
test_crop (gconstpointer data)
{
    const CropCase *c = data;
    for (guint64 seed = 1; seed <= 40; seed++) {
        TslTestRng data_rng;
        tsl_test_rng_init (&data_rng, seed * 7919);
        g_autoptr (TslTrainSample) orig = make_sample (c, &data_rng);
        g_autoptr (TslTrainSample) s = tsl_train_sample_copy (orig);
        TslCropConfig config;
        tsl_crop_config_init (&config, c->max_seq_len, c->trunc_thresh, c->offset);
        config.no_trunc = c->no_trunc;
        if (c->crop_hi != 0) {
            config.use_crop_ratio = TRUE;
            config.crop_ratio[0] = c->crop_lo;
            config.crop_ratio[1] = c->crop_hi;
        }
        TslTrainRng rng, ref_rng;
        tsl_train_rng_seed (&rng, seed);
        ref_rng = rng;
        gboolean changed = tsl_crop_sample (s, &config, &rng);
        g_autofree gboolean *keep = g_new0 (gboolean, orig->n_segments + 1);
        int st = 0;
        int len = reference_window (c, orig, &ref_rng, &st, keep);
        g_assert_cmpmem (rng.s, sizeof rng.s, ref_rng.s, sizeof ref_rng.s);
        if (len < 0) {
            g_assert_false (changed);
            g_assert_cmpint (s->length, ==, orig->length);
            g_assert_cmpint (s->n_segments, ==, orig->n_segments);
            continue;
        }
        g_assert_true (changed);
        g_assert_cmpint (s->length, ==, len);
        for (int ch = 0; ch < s->n_channels; ch++)
            for (int t = 0; t < len; t++)
                g_assert_cmpfloat (s->feats[ch * len + t], ==, (float) (1000 * ch + st + t));
        int m = 0;
        for (int i = 0; i < orig->n_segments; i++) {
            if (!keep[i])
                continue;
            g_assert_cmpint (m, <, s->n_segments);
            double a = MAX (st - c->offset, orig->segments[2 * i]) - st;
            double b = MIN (st + len + c->offset, orig->segments[2 * i + 1]) - st;
            /* float32 arithmetic on grid values below 1100: a few ulps */
            g_assert_cmpfloat (fabs (s->segments[2 * m] - a), <=, 1e-4);
            g_assert_cmpfloat (fabs (s->segments[2 * m + 1] - b), <=, 1e-4);
            g_assert_cmpint (s->labels[m], ==, orig->labels[i]);
            m++;
        }
        g_assert_cmpint (m, ==, s->n_segments);
        if (c->far_segments)
            g_assert_cmpint (s->n_segments, ==, 0);
    }
}

/* crop ratio 0.9 of 45 = 40.5 rounds to 40 (half to even, as Python), not 41 */
static void
test_crop_ratio_rounding (void)
{
    const CropCase *c = &cases[4];
    int min_len = G_MAXINT, max_len = 0;
    for (guint64 seed = 1; seed <= 400; seed++) {
        TslTestRng data_rng;
        tsl_test_rng_init (&data_rng, seed);
        g_autoptr (TslTrainSample) s = make_sample (c, &data_rng);
        TslCropConfig config;
        tsl_crop_config_init (&config, c->max_seq_len, c->trunc_thresh, c->offset);
        config.use_crop_ratio = TRUE;
        config.crop_ratio[0] = 0.9;
        config.crop_ratio[1] = 1.0;
        TslTrainRng rng;
        tsl_train_rng_seed (&rng, seed);
        tsl_crop_sample (s, &config, &rng);
        min_len = MIN (min_len, s->length);
        max_len = MAX (max_len, s->length);
    }
    g_assert_cmpint (min_len, ==, 40);
    g_assert_cmpint (max_len, ==, 45);
}

static void
test_rng (void)
{
    TslTrainRng a, b;
    tsl_train_rng_seed (&a, 42);
    tsl_train_rng_seed (&b, 42);
    int counts[7] = { 0 };
    for (int i = 0; i < 7000; i++) {
        int64_t v = tsl_train_rng_int (&a, -3, 3);
        g_assert_cmpint (v, ==, tsl_train_rng_int (&b, -3, 3));
        g_assert_cmpint (v, >=, -3);
        g_assert_cmpint (v, <=, 3);
        counts[v + 3]++;
    }
    /* 1000 expected per value; 5 sigma is about 150 */
    for (int k = 0; k < 7; k++)
        g_assert_cmpint (abs (counts[k] - 1000), <, 150);
    g_assert_cmpint (tsl_train_rng_int (&a, 5, 5), ==, 5);
    tsl_train_rng_seed (&b, 43);
    g_assert_cmpuint (tsl_train_rng_next (&a), !=, tsl_train_rng_next (&b));
}

static void
test_pad (void)
{
    TslTestRng data_rng;
    tsl_test_rng_init (&data_rng, 5);
    const CropCase shapes[2] = { { "a", 13, 0, 0, 0, 0, 0, 1, FALSE, FALSE },
                                 { "b", 20, 0, 0, 0, 0, 0, 1, FALSE, FALSE } };
    g_autoptr (TslTrainSample) a = make_sample (&shapes[0], &data_rng);
    g_autoptr (TslTrainSample) b = make_sample (&shapes[1], &data_rng);
    TslTrainSample *batch[2] = { a, b };
    const int c = 3, tp = 21;
    float *feats = tsl_test_alloc_guarded ((size_t) 2 * c * tp);
    int lengths[2];
    g_autoptr (GError) error = NULL;
    g_assert_true (tsl_pad_batch (batch, 2, c, tp, feats, lengths, &error));
    g_assert_cmpint (lengths[0], ==, 13);
    g_assert_cmpint (lengths[1], ==, 20);
    for (int i = 0; i < 2; i++)
        for (int ch = 0; ch < c; ch++)
            for (int t = 0; t < tp; t++) {
                float want = t < lengths[i] ? (float) (1000 * ch + t) : 0.0f;
                g_assert_cmpfloat (feats[(i * c + ch) * tp + t], ==, want);
            }
    g_assert_true (tsl_test_free_guarded ("feats", feats, (size_t) 2 * c * tp));
    float small[3 * 19];
    g_assert_false (tsl_pad_batch (batch, 2, c, 19, small, lengths, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_SHAPE);
    g_assert_nonnull (strstr (error->message, "'b'"));
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autofree char *path = g_strdup_printf ("/train/crop/%s", cases[i].name);
        g_test_add_data_func (path, &cases[i], test_crop);
    }
    g_test_add_func ("/train/crop/crop-ratio-rounding", test_crop_ratio_rounding);
    g_test_add_func ("/train/crop/rng", test_rng);
    g_test_add_func ("/train/crop/pad", test_pad);
    return g_test_run ();
}
