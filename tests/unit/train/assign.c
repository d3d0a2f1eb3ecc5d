/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests train/assign.c: ActionFormer's label assignment for one video.
 *
 * Hand-made cases pin the official behaviours with explicit expected
 * points: a point whose larger distance equals a range bound (both ends are
 * inclusive), points exactly on the centre-sampling bounds (excluded: the
 * test is strict) at strides 1 and 2 and for radius 1.5, 2.5 and 'none',
 * overlapping segments of equal length (multi-hot; the offsets come from
 * the first), lengths within and beyond the 1e-3 tie margin, a duplicated
 * segment (its label counts once), a segment starting before the video,
 * negative points keeping the offsets to segment 0, a video without
 * segments, and labels out of range. Every case, plus random ones, is also
 * compared with a double-precision reference written from the rules in
 * assign.h. Against the official tensors (when present): AF3's gt_cls and
 * gt_offsets for both videos, exactly, every point; against the project's
 * fixture: both of its configurations (radius / none, a video without
 * segments), exactly.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data.h"
#include "testutil.h"
#include "train/assign.h"

#define MAX_SEGMENTS 16

/* ---- configurations ---- */

typedef struct {
    int n_levels;
    int padded_len;
    double ranges[4][2];
} Pyramid;

/* scale factor 2, max_seq_len = padded_len */
static const Pyramid fixture_pyramid = { 4, 64, { { 0, 4 }, { 4, 8 }, { 8, 16 }, { 16, 10000 } } };
static const Pyramid af3_pyramid = { 4, 64, { { 0, 4 }, { 2, 8 }, { 4, 16 }, { 8, 32 } } };
static const Pyramid open_pyramid = { 2, 64, { { 0, 10000 }, { 0, 10000 } } };
static const Pyramid flat_pyramid = { 1, 64, { { 0, 10000 } } };

static void
make_points (const Pyramid *p, TslTrainPoints *pts)
{
    TslActionFormerConfig cfg;

    tsl_actionformer_config_init (&cfg);
    cfg.scale_factor = 2;
    cfg.n_branch_blocks = p->n_levels - 1;
    cfg.n_levels = p->n_levels;
    cfg.n_fpn_levels = p->n_levels;
    cfg.fpn_start_level = 0;
    cfg.max_seq_len = p->padded_len;
    memcpy (cfg.regression_range, p->ranges, sizeof p->ranges);
    g_assert_true (tsl_train_points_init (pts, &cfg, p->padded_len, NULL));
}

/* ---- double-precision reference ---- */

/* length of the segment if the point matches it, else INFINITY */
static double
ref_match (const float *row, double a, double b, TslCenterSample mode, double radius)
{
    const double t = row[0], lo = row[1], hi = row[2], s = row[3];
    const double left = t - a, right = b - t;
    gboolean inside;

    if (mode == TSL_CENTER_SAMPLE_RADIUS) {
        const double c = 0.5 * (a + b);
        inside = t > MAX (c - s * radius, a) && t < MIN (c + s * radius, b);
    } else {
        inside = left > 0 && right > 0;
    }
    const double reach = MAX (left, right);
    return inside && reach >= lo && reach <= hi ? b - a : INFINITY;
}

static void
ref_assign (float *cls /* [FT, K] */, double *offsets /* [FT, 2] */, const TslTrainPoints *pts,
            const float *seg, const int *labels, int n, int K, TslCenterSample mode,
            double radius)
{
    memset (cls, 0, sizeof (float) * pts->n_points * K);
    for (int i = 0; i < pts->n_points; i++) {
        const float *row = pts->rows + 4 * i;
        double best = INFINITY;
        int first = 0;

        if (n == 0) {
            offsets[2 * i] = offsets[2 * i + 1] = 0.0;
            continue;
        }
        for (int j = 0; j < n; j++) {
            double len = ref_match (row, seg[2 * j], seg[2 * j + 1], mode, radius);
            if (len < best) {
                best = len;
                first = j;
            }
        }
        for (int j = 0; j < n; j++) {
            double len = ref_match (row, seg[2 * j], seg[2 * j + 1], mode, radius);
            if (isfinite (len) && len <= best + 1e-3)
                cls[(size_t) i * K + labels[j]] = 1.0f;
        }
        offsets[2 * i] = (row[0] - (double) seg[2 * first]) / row[3];
        offsets[2 * i + 1] = ((double) seg[2 * first + 1] - row[0]) / row[3];
    }
}

/* ---- one assignment, checked against the reference ---- */

typedef struct {
    TslTrainPoints pts;
    int K;
    float *cls;     /* [FT, K] */
    float *offsets; /* [FT, 2] */
} Assigned;

static void
assign_and_compare (Assigned *out, const char *name, const Pyramid *p, int K,
                    const float *seg, const int *labels, int n, TslCenterSample mode,
                    double radius)
{
    TslTrainAssignConfig cfg = { K, mode, radius };
    g_autoptr (GError) error = NULL;

    make_points (p, &out->pts);
    const size_t FT = out->pts.n_points;
    out->K = K;
    out->cls = tsl_test_alloc_guarded (FT * K);
    out->offsets = tsl_test_alloc_guarded (FT * 2);
    /* outputs are overwritten: start from garbage */
    for (size_t i = 0; i < FT * K; i++)
        out->cls[i] = NAN;
    for (size_t i = 0; i < FT * 2; i++)
        out->offsets[i] = -7.0f;
    g_assert_true (tsl_train_assign (out->cls, out->offsets, &out->pts, seg, labels, n, &cfg,
                                     &error));
    g_assert_no_error (error);

    g_autofree float *ref_cls = g_new (float, FT * K);
    g_autofree double *ref_off = g_new (double, FT * 2);
    g_autofree char *cls_name = g_strdup_printf ("%s gt_cls", name);
    g_autofree char *off_name = g_strdup_printf ("%s gt_offsets", name);
    ref_assign (ref_cls, ref_off, &out->pts, seg, labels, n, K, mode, radius);
    train_check_exact (cls_name, out->cls, ref_cls, FT * K);
    /* float32 differences of values below 100: a few ulps */
    tsl_test_check_close (off_name, out->offsets, ref_off, FT * 2, 1e-6, 1e-6);
}

static void
assigned_free (Assigned *a)
{
    g_assert_true (tsl_test_free_guarded ("gt_cls", a->cls, (size_t) a->pts.n_points * a->K));
    g_assert_true (tsl_test_free_guarded ("gt_offsets", a->offsets, (size_t) a->pts.n_points * 2));
    tsl_train_points_clear (&a->pts);
}

/* ---- explicit expectations ---- */

typedef struct {
    int level;
    int t;          /* grid position */
    guint labels;   /* bit k = class k */
    float left, right;
} Expect;

static int
row_of (const TslTrainPoints *pts, int level, int t)
{
    g_assert_cmpint (t % pts->level_stride[level], ==, 0);
    return pts->level_start[level] + t / pts->level_stride[level];
}

static guint
labels_of (const Assigned *a, int row)
{
    guint bits = 0;

    for (int k = 0; k < a->K; k++) {
        g_assert_true (a->cls[(size_t) row * a->K + k] == 0.0f
                       || a->cls[(size_t) row * a->K + k] == 1.0f);
        if (a->cls[(size_t) row * a->K + k] == 1.0f)
            bits |= 1u << k;
    }
    return bits;
}

/* the listed points have exactly these labels and offsets (float32
 * exact); when `only`, every other point is negative */
static void
check_expect (const Assigned *a, const char *name, const Expect *e, int n, gboolean only)
{
    g_autofree gboolean *listed = g_new0 (gboolean, a->pts.n_points);
    int bad = 0;

    for (int k = 0; k < n; k++) {
        const int row = row_of (&a->pts, e[k].level, e[k].t);
        const guint got = labels_of (a, row);

        listed[row] = TRUE;
        if (got != e[k].labels || a->offsets[2 * row] != e[k].left
            || a->offsets[2 * row + 1] != e[k].right) {
            printf ("# %s: level %d t %d: labels 0x%x offsets (%.9g, %.9g), expected 0x%x "
                    "(%.9g, %.9g)\n", name, e[k].level, e[k].t, got, a->offsets[2 * row],
                    a->offsets[2 * row + 1], e[k].labels, e[k].left, e[k].right);
            bad++;
        }
    }
    for (int row = 0; only && row < a->pts.n_points; row++) {
        if (!listed[row] && labels_of (a, row) != 0) {
            printf ("# %s: row %d (t %g, stride %g) is positive, expected negative\n", name, row,
                    a->pts.rows[4 * row], a->pts.rows[4 * row + 3]);
            bad++;
        }
    }
    printf ("# %s: %d listed points %s\n", name, n, bad ? "NOT OK" : "OK");
    if (bad)
        g_test_fail ();
}

/* [2, 10]: at t = 6 the distances are 4 and 4, and 4 is both the upper
 * bound of level 0 and the lower bound of level 1: positive on both. */
static void
test_range_bound (void)
{
    const float seg[] = { 2.0f, 10.0f };
    const int labels[] = { 0 };
    const Expect expect[] = {
        { 0, 6, 0x1, 4.0f, 4.0f },
        { 1, 4, 0x1, 1.0f, 3.0f },
        { 1, 6, 0x1, 2.0f, 2.0f },
        { 1, 8, 0x1, 3.0f, 1.0f },
    };
    Assigned a;

    assign_and_compare (&a, "range bound", &fixture_pyramid, 3, seg, labels, 1,
                        TSL_CENTER_SAMPLE_RADIUS, 1.5);
    check_expect (&a, "range bound", expect, G_N_ELEMENTS (expect), TRUE);
    assigned_free (&a);
}

/* [30, 37], centre 33.5: radius 1.5 samples (32, 35) at stride 1, so
 * t = 32 and t = 35 lie exactly on the bounds and are excluded; at stride
 * 2 it samples (30.5, 36.5). */
typedef struct {
    const char *name;
    TslCenterSample mode;
    double radius;
    Expect expect[8];
    int n_expect;
} CentreCase;

static const CentreCase centre_cases[] = {
    { "radius 1.5", TSL_CENTER_SAMPLE_RADIUS, 1.5,
      { { 0, 33, 0x2, 3, 4 }, { 0, 34, 0x2, 4, 3 },
        { 1, 32, 0x2, 1, 2.5f }, { 1, 34, 0x2, 2, 1.5f }, { 1, 36, 0x2, 3, 0.5f } }, 5 },
    { "radius 2.5", TSL_CENTER_SAMPLE_RADIUS, 2.5,
      { { 0, 32, 0x2, 2, 5 }, { 0, 33, 0x2, 3, 4 }, { 0, 34, 0x2, 4, 3 }, { 0, 35, 0x2, 5, 2 },
        { 1, 32, 0x2, 1, 2.5f }, { 1, 34, 0x2, 2, 1.5f }, { 1, 36, 0x2, 3, 0.5f } }, 7 },
    /* strictly inside: t = 30 and t = 37 (distance 0) are excluded */
    { "none", TSL_CENTER_SAMPLE_NONE, 1.5,
      { { 0, 31, 0x2, 1, 6 }, { 0, 32, 0x2, 2, 5 }, { 0, 33, 0x2, 3, 4 }, { 0, 34, 0x2, 4, 3 },
        { 0, 35, 0x2, 5, 2 }, { 0, 36, 0x2, 6, 1 },
        { 1, 32, 0x2, 1, 2.5f }, { 1, 34, 0x2, 2, 1.5f } }, 8 },
};

static void
test_centre (gconstpointer data)
{
    const CentreCase *c = data;
    const float seg[] = { 30.0f, 37.0f };
    const int labels[] = { 1 };
    Assigned a;

    assign_and_compare (&a, c->name, &open_pyramid, 2, seg, labels, 1, c->mode, c->radius);
    /* 'none' also matches t = 36 at level 1: listed points are checked,
     * the rest only against the reference */
    check_expect (&a, c->name, c->expect, c->n_expect, c->mode != TSL_CENTER_SAMPLE_NONE);
    assigned_free (&a);
}

/* Overlaps and ties, no centre sampling, one level:
 *   0 [40, 56] label 2 and 1 [44, 60] label 4: equal lengths, multi-hot
 *   between 44 and 56 with the offsets of segment 0;
 *   2 [10, 20.0005] label 0 and 3 [11, 21] label 1: within 1e-3, both
 *   labels, offsets of the shorter (3); 4 [12, 22.01] label 3: 0.01 longer,
 *   left out while 2 or 3 match;
 *   5 = 0 again: its label counts once. */
static void
test_overlaps (void)
{
    const float seg[] = { 40, 56, 44, 60, 10, 20.0005f, 11, 21, 12, 22.01f, 40, 56 };
    const int labels[] = { 2, 4, 0, 1, 3, 2 };
    const Expect expect[] = {
        { 0, 44, 0x04, 4, 12 },          /* t = 44 is not inside [44, 60] */
        { 0, 45, 0x14, 5, 11 },
        { 0, 55, 0x14, 15, 1 },
        { 0, 56, 0x10, 12, 4 },          /* now only [44, 60] */
        { 0, 11, 0x01, 1, 20.0005f - 11 },
        { 0, 12, 0x03, 1, 9 },
        { 0, 20, 0x03, 9, 1 },
        { 0, 21, 0x08, 9, 22.01f - 21 },
        /* negative: the offsets to segment 0 */
        { 0, 30, 0x00, -10, 26 },
        { 0, 63, 0x00, 23, -7 },
    };
    Assigned a;

    assign_and_compare (&a, "overlaps", &flat_pyramid, 5, seg, labels, 6,
                        TSL_CENTER_SAMPLE_NONE, 1.5);
    check_expect (&a, "overlaps", expect, G_N_ELEMENTS (expect), FALSE);
    assigned_free (&a);
}

/* [-0.7, 3.2] (AF3 video B): t = 0 is inside, with a left distance 0.7. */
static void
test_negative_start (void)
{
    const float seg[] = { -0.7f, 3.2f };
    const int labels[] = { 0 };
    const Expect expect[] = {
        { 0, 0, 0x1, 0.7f, 3.2f },
        { 0, 1, 0x1, 1.0f - -0.7f, 3.2f - 1.0f },
        { 0, 2, 0x1, 2.0f - -0.7f, 3.2f - 2.0f },
        { 1, 0, 0x1, 0.7f / 2, 3.2f / 2 },
        { 1, 2, 0x1, (2.0f - -0.7f) / 2, (3.2f - 2.0f) / 2 },
    };
    Assigned a;

    assign_and_compare (&a, "negative start", &af3_pyramid, 5, seg, labels, 1,
                        TSL_CENTER_SAMPLE_RADIUS, 1.5);
    check_expect (&a, "negative start", expect, G_N_ELEMENTS (expect), TRUE);
    assigned_free (&a);
}

static void
test_no_segments (void)
{
    Assigned a;
    size_t FT;

    assign_and_compare (&a, "no segments", &fixture_pyramid, 3, NULL, NULL, 0,
                        TSL_CENTER_SAMPLE_RADIUS, 1.5);
    FT = a.pts.n_points;
    for (size_t i = 0; i < FT * 3; i++)
        g_assert_true (a.cls[i] == 0.0f);
    for (size_t i = 0; i < FT * 2; i++)
        g_assert_true (a.offsets[i] == 0.0f);
    assigned_free (&a);
}

static void
test_bad_label (void)
{
    const float seg[] = { 1, 5, 7, 9 };
    const int bad[][2] = { { 0, 3 }, { -1, 0 } };
    TslTrainAssignConfig cfg;
    TslTrainPoints pts;

    tsl_train_assign_config_init (&cfg, 3);
    g_assert_cmpint (cfg.center_sample, ==, TSL_CENTER_SAMPLE_RADIUS);
    g_assert_cmpfloat (cfg.center_sample_radius, ==, 1.5);
    make_points (&fixture_pyramid, &pts);
    g_autofree float *cls = g_new (float, pts.n_points * 3);
    g_autofree float *offsets = g_new (float, pts.n_points * 2);
    for (size_t i = 0; i < G_N_ELEMENTS (bad); i++) {
        g_autoptr (GError) error = NULL;
        g_assert_false (tsl_train_assign (cls, offsets, &pts, seg, bad[i], 2, &cfg, &error));
        g_assert_error (error, TSL_ERROR, TSL_ERROR_FORMAT);
        printf ("# %s\n", error->message);
    }
    tsl_train_points_clear (&pts);
}

/* ---- random cases against the reference ---- */

typedef struct {
    const char *name;
    guint64 seed;
    const Pyramid *pyramid;
    int K;
    int n_segments;
    TslCenterSample mode;
    double radius;
} RandomCase;

static const RandomCase random_cases[] = {
    { "radius, 6 segments", 11, &fixture_pyramid, 3, 6, TSL_CENTER_SAMPLE_RADIUS, 1.5 },
    { "radius 2, 12 segments", 12, &af3_pyramid, 7, 12, TSL_CENTER_SAMPLE_RADIUS, 2.0 },
    { "none, 9 segments", 13, &af3_pyramid, 4, 9, TSL_CENTER_SAMPLE_NONE, 1.5 },
    { "one segment, one class", 14, &fixture_pyramid, 1, 1, TSL_CENTER_SAMPLE_RADIUS, 1.5 },
    { "16 segments, flat", 15, &flat_pyramid, 5, 16, TSL_CENTER_SAMPLE_RADIUS, 0.5 },
};

static void
test_random (gconstpointer data)
{
    const RandomCase *c = data;
    float seg[2 * MAX_SEGMENTS];
    int labels[MAX_SEGMENTS];
    TslTestRng rng;
    Assigned a;

    tsl_test_rng_init (&rng, c->seed);
    for (int j = 0; j < c->n_segments; j++) {
        /* a third of the segments on integer end points, some before 0 */
        const gboolean whole = tsl_test_rng_int (&rng, 0, 2) == 0;
        float len = whole ? tsl_test_rng_int (&rng, 1, 30) : 0.5 + 30 * tsl_test_rng_uniform (&rng);
        float start = whole ? tsl_test_rng_int (&rng, -2, 60)
                            : -2.0 + 64 * tsl_test_rng_uniform (&rng);
        seg[2 * j] = start;
        seg[2 * j + 1] = start + len;
        labels[j] = tsl_test_rng_int (&rng, 0, c->K - 1);
    }
    assign_and_compare (&a, c->name, c->pyramid, c->K, seg, labels, c->n_segments, c->mode,
                        c->radius);
    assigned_free (&a);
}

/* ---- reference data ---- */

static void
check_video (const char *what, const TslTrainPoints *pts, const TslSafetensors *st,
             const char *prefix, int b, int K, const TslTrainAssignConfig *cfg)
{
    const size_t FT = pts->n_points;
    size_t n_seg, n_lab, n_cls, n_off;
    g_autofree float *seg = train_read_f32 (st, &n_seg, "%sgt_segments.%d", prefix, b);
    g_autofree int *labels = train_read_int (st, &n_lab, "%sgt_labels.%d", prefix, b);
    g_autofree float *ref_cls = train_read_f32 (st, &n_cls, "%sgt_cls", prefix);
    g_autofree float *ref_off = train_read_f32 (st, &n_off, "%sgt_offsets", prefix);
    g_autofree float *cls = g_new (float, FT * K);
    g_autofree float *offsets = g_new (float, FT * 2);
    g_autofree char *cls_name = g_strdup_printf ("%s video %d gt_cls", what, b);
    g_autofree char *off_name = g_strdup_printf ("%s video %d gt_offsets", what, b);
    g_autoptr (GError) error = NULL;

    g_assert_cmpuint (n_seg, ==, 2 * n_lab);
    g_assert_cmpuint (n_cls, >=, (b + 1) * FT * K);
    g_assert_cmpuint (n_off, >=, (b + 1) * FT * 2);
    g_assert_true (tsl_train_assign (cls, offsets, pts, seg, labels, (int) n_lab, cfg, &error));
    g_assert_no_error (error);
    train_check_exact (cls_name, cls, ref_cls + b * FT * K, FT * K);
    /* every point, negatives included (they hold the offsets to segment 0) */
    train_check_exact (off_name, offsets, ref_off + b * FT * 2, FT * 2);
}

static void
test_golden (void)
{
    g_autoptr (TslSafetensors) af3 = train_golden_open ("af3_train.safetensors");
    if (af3 == NULL)
        return;
    TslActionFormerConfig model;
    TslTrainAssignConfig cfg;
    TslTrainPoints pts;

    train_golden_config (&model);
    tsl_train_assign_config_init (&cfg, model.num_classes);  /* radius 1.5, as AF3 */
    g_assert_true (tsl_train_points_init (&pts, &model, model.max_seq_len, NULL));
    for (int b = 0; b < 2; b++)
        check_video ("AF3", &pts, af3, "", b, model.num_classes, &cfg);
    tsl_train_points_clear (&pts);
}

static void
test_fixture (void)
{
    g_autoptr (TslSafetensors) st = train_fixture_open ();
    if (st == NULL)
        return;
    const char *cases[] = { "a.", "b." };
    TslActionFormerConfig model;
    TslTrainPoints pts;

    train_fixture_config (&model);
    g_assert_true (tsl_train_points_init (&pts, &model, model.max_seq_len, NULL));
    for (size_t c = 0; c < G_N_ELEMENTS (cases); c++) {
        TslTrainAssignConfig cfg = {
            model.num_classes,
            train_read_scalar (st, "%scfg.center_sample", cases[c]) != 0.0
                ? TSL_CENTER_SAMPLE_RADIUS : TSL_CENTER_SAMPLE_NONE,
            train_read_scalar (st, "%scfg.center_sample_radius", cases[c]),
        };
        g_autofree char *what = g_strdup_printf ("fixture %s", cases[c]);
        for (int b = 0; b < 2; b++)
            check_video (what, &pts, st, cases[c], b, model.num_classes, &cfg);
    }
    tsl_train_points_clear (&pts);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/train/assign/range-bound", test_range_bound);
    for (size_t i = 0; i < G_N_ELEMENTS (centre_cases); i++) {
        g_autofree char *path = g_strdup_printf ("/train/assign/centre/%s", centre_cases[i].name);
        g_test_add_data_func (path, &centre_cases[i], test_centre);
    }
    g_test_add_func ("/train/assign/overlaps", test_overlaps);
    g_test_add_func ("/train/assign/negative-start", test_negative_start);
    g_test_add_func ("/train/assign/no-segments", test_no_segments);
    g_test_add_func ("/train/assign/bad-label", test_bad_label);
    for (size_t i = 0; i < G_N_ELEMENTS (random_cases); i++) {
        g_autofree char *path = g_strdup_printf ("/train/assign/random/%s", random_cases[i].name);
        g_test_add_data_func (path, &random_cases[i], test_random);
    }
    g_test_add_func ("/train/assign/golden", test_golden);
    g_test_add_func ("/train/assign/fixture", test_fixture);
    return g_test_run ();
}
