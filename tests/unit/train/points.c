/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests train/points.c: the point table of ActionFormer training and its
 * valid mask.
 *
 * Every row is compared exactly with the definition (t = i * s^L, the
 * level's range rounded to float32, stride s^L; levels concatenated level 0
 * first) for several pyramids, the lengths that must be refused are
 * refused, and the valid mask equals i * stride < length. Against the
 * official tensors (when present): the AF3 `points` [504, 4] and the AF3b
 * `valid_mask` (lengths 256 and 200), exactly; against the project's
 * fixture: its `points` [120, 4].
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data.h"
#include "testutil.h"
#include "train/points.h"

typedef struct {
    const char *name;
    int scale_factor;
    int n_levels;
    int max_seq_len;
    int padded_len;
    double ranges[4][2];
} PointsCase;

static const PointsCase points_cases[] = {
    { "4 levels", 2, 4, 64, 64, { { 0, 4 }, { 4, 8 }, { 8, 16 }, { 16, 10000 } } },
    /* 3 x max_seq_len (eval padding beyond max_seq_len stays in the buffer) */
    { "long input", 2, 4, 64, 192, { { 0, 4 }, { 2, 8 }, { 4, 16 }, { 8, 1e4 } } },
    /* ranges that float32 rounds: 0.1 and 1e9 + 1 are not representable */
    { "scale 4", 4, 3, 48, 48, { { 0.1, 3.3 }, { 3, 16 }, { 16, 1e9 + 1 } } },
    { "one level", 2, 1, 7, 7, { { 0, 1e4 } } },
};

static void
case_config (const PointsCase *c, TslActionFormerConfig *cfg)
{
    tsl_actionformer_config_init (cfg);
    cfg->scale_factor = c->scale_factor;
    cfg->n_branch_blocks = c->n_levels - 1;
    cfg->n_levels = c->n_levels;
    cfg->n_fpn_levels = c->n_levels;
    cfg->fpn_start_level = 0;
    cfg->max_seq_len = c->max_seq_len;
    cfg->max_buffer_len_factor = 6.0;
    memcpy (cfg->regression_range, c->ranges, sizeof c->ranges);
}

static void
test_table (gconstpointer data)
{
    const PointsCase *c = data;
    TslActionFormerConfig cfg;
    TslTrainPoints pts;
    g_autoptr (GError) error = NULL;
    size_t n_rows = 0;

    case_config (c, &cfg);
    g_assert_true (tsl_train_points_init (&pts, &cfg, c->padded_len, &error));
    g_assert_no_error (error);
    g_assert_cmpint (pts.n_levels, ==, c->n_levels);
    g_assert_cmpint (pts.padded_len, ==, c->padded_len);

    g_autofree float *ref = g_new (float, 4 * c->padded_len * 2);
    int stride = 1;
    for (int level = 0; level < c->n_levels; level++, stride *= c->scale_factor) {
        g_assert_cmpint (pts.level_start[level], ==, (int) n_rows);
        g_assert_cmpint (pts.level_len[level], ==, c->padded_len / stride);
        g_assert_cmpint (pts.level_stride[level], ==, stride);
        for (int i = 0; i < c->padded_len / stride; i++, n_rows++) {
            float *row = ref + 4 * n_rows;
            row[0] = (float) i * stride;
            row[1] = (float) c->ranges[level][0];
            row[2] = (float) c->ranges[level][1];
            row[3] = (float) stride;
        }
    }
    g_assert_cmpint (pts.n_points, ==, (int) n_rows);
    train_check_exact (c->name, pts.rows, ref, 4 * n_rows);
    tsl_train_points_clear (&pts);
    g_assert_null (pts.rows);
}

/* lengths the official generator cannot serve */
static void
test_refused (void)
{
    const PointsCase *c = &points_cases[0];
    const int bad[] = { 0, -8, 60 /* not a multiple of 8 */, 64 * 6 + 8 /* beyond the buffer */ };
    TslActionFormerConfig cfg;

    case_config (c, &cfg);
    for (size_t i = 0; i < G_N_ELEMENTS (bad); i++) {
        TslTrainPoints pts;
        g_autoptr (GError) error = NULL;

        g_assert_false (tsl_train_points_init (&pts, &cfg, bad[i], &error));
        g_assert_error (error, TSL_ERROR, TSL_ERROR_SHAPE);
        printf ("# padded length %d: %s\n", bad[i], error->message);
        tsl_train_points_clear (&pts);
    }
    /* the largest length the buffer holds is accepted */
    TslTrainPoints pts;
    g_autoptr (GError) error = NULL;
    g_assert_true (tsl_train_points_init (&pts, &cfg, 64 * 6, &error));
    tsl_train_points_clear (&pts);
}

static void
test_valid_mask (void)
{
    const PointsCase *c = &points_cases[2];
    const int lengths[] = { 1, 3, 4, 5, 17, 47, 48 };
    TslActionFormerConfig cfg;
    TslTrainPoints pts;

    case_config (c, &cfg);
    g_assert_true (tsl_train_points_init (&pts, &cfg, c->padded_len, NULL));
    g_autofree float *valid = g_new (float, pts.n_points);
    g_autofree float *ref = g_new (float, pts.n_points);
    for (size_t k = 0; k < G_N_ELEMENTS (lengths); k++) {
        g_autofree char *name = g_strdup_printf ("valid mask, length %d", lengths[k]);
        int n_valid = 0;

        tsl_train_points_valid_mask (&pts, lengths[k], valid);
        for (int i = 0; i < pts.n_points; i++)
            ref[i] = pts.rows[4 * i] < lengths[k] ? 1.0f : 0.0f;
        train_check_exact (name, valid, ref, pts.n_points);
        /* ceil(length / stride) valid points per level */
        for (int level = 0; level < pts.n_levels; level++)
            n_valid += (lengths[k] + pts.level_stride[level] - 1) / pts.level_stride[level];
        double total = 0.0;
        for (int i = 0; i < pts.n_points; i++)
            total += valid[i];
        g_assert_cmpfloat (total, ==, n_valid);
    }
    tsl_train_points_clear (&pts);
}

static void
test_golden (void)
{
    g_autoptr (TslSafetensors) af3 = train_golden_open ("af3_train.safetensors");
    if (af3 == NULL)
        return;
    g_autoptr (TslSafetensors) af3b = train_golden_open ("af3b_extra.safetensors");
    TslActionFormerConfig cfg;
    TslTrainPoints pts;
    size_t n;

    train_golden_config (&cfg);
    g_assert_true (tsl_train_points_init (&pts, &cfg, cfg.max_seq_len, NULL));
    g_autofree float *ref = train_read_f32 (af3, &n, "points");
    g_assert_cmpuint (n, ==, 4 * (size_t) pts.n_points);
    train_check_exact ("AF3 points", pts.rows, ref, n);

    /* AF3b: video B truncated to 200 feature vectors */
    g_autofree float *ref_valid = train_read_f32 (af3b, &n, "valid_mask");
    g_autofree float *valid = g_new (float, 2 * pts.n_points);
    g_autofree int *lengths = train_read_int (af3b, NULL, "lengths");
    g_assert_cmpuint (n, ==, 2 * (size_t) pts.n_points);
    for (int b = 0; b < 2; b++)
        tsl_train_points_valid_mask (&pts, lengths[b], valid + (size_t) b * pts.n_points);
    train_check_exact ("AF3b valid_mask", valid, ref_valid, n);
    tsl_train_points_clear (&pts);
}

static void
test_fixture (void)
{
    g_autoptr (TslSafetensors) st = train_fixture_open ();
    if (st == NULL)
        return;
    TslActionFormerConfig cfg;
    TslTrainPoints pts;
    size_t n;

    train_fixture_config (&cfg);
    g_assert_true (tsl_train_points_init (&pts, &cfg, cfg.max_seq_len, NULL));
    g_autofree float *ref = train_read_f32 (st, &n, "points");
    g_assert_cmpuint (n, ==, 4 * (size_t) pts.n_points);
    train_check_exact ("fixture points", pts.rows, ref, n);
    tsl_train_points_clear (&pts);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS (points_cases); i++) {
        g_autofree char *path = g_strdup_printf ("/train/points/table/%s", points_cases[i].name);
        g_test_add_data_func (path, &points_cases[i], test_table);
    }
    g_test_add_func ("/train/points/refused", test_refused);
    g_test_add_func ("/train/points/valid-mask", test_valid_mask);
    g_test_add_func ("/train/points/golden", test_golden);
    g_test_add_func ("/train/points/fixture", test_fixture);
    return g_test_run ();
}
