/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * golden.c: see golden.h.
 */
#include "golden.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOLDEN_SHOW 8 /* differences printed */

static char *
golden_dir (void)
{
    const char *env = g_getenv ("TSL_GOLDEN_DIR");

    if (env != NULL)
        return g_build_filename (env, "actionformer", NULL);
    const char *test_data = g_getenv ("TSL_TEST_DATA");
    if (test_data == NULL)
        return NULL;
    /* <source>/tests/data -> <source>/../shared/golden */
    return g_build_filename (test_data, "..", "..", "..", "shared", "golden", "actionformer",
                             NULL);
}

TslSafetensors *
golden_open_video (int k)
{
    g_autofree char *dir = golden_dir ();
    g_autofree char *name = g_strdup_printf ("af1_video%d.safetensors", k);
    g_autofree char *path = dir ? g_build_filename (dir, name, NULL) : NULL;
    g_autoptr (GError) error = NULL;

    if (path == NULL || !g_file_test (path, G_FILE_TEST_EXISTS)) {
        g_test_skip ("ActionFormer golden data absent (set TSL_GOLDEN_DIR)");
        return NULL;
    }
    TslSafetensors *st = tsl_safetensors_open (path, &error);
    g_assert_no_error (error);
    return st;
}

float *
golden_read (const TslSafetensors *st, const char *name, size_t *numel)
{
    const TslSafetensorsEntry *entry = tsl_safetensors_find (st, name);
    g_autoptr (GError) error = NULL;

    if (entry == NULL)
        g_error ("%s: no tensor %s", tsl_safetensors_path (st), name);
    *numel = tsl_safetensors_entry_numel (entry);
    float *data = g_new (float, MAX (*numel, 1));
    tsl_safetensors_read_f32 (st, name, data, *numel, &error);
    g_assert_no_error (error);
    return data;
}

void
golden_af1_config (TslDecodeConfig *config)
{
    tsl_decode_config_init (config);
    config->sigma = 0.4;
    config->min_score = 0.001;
    config->max_seg_num = 200;
}

static double
metadata_number (const TslSafetensors *st, const char *key)
{
    const char *value = tsl_safetensors_get_metadata (st, key);

    if (value == NULL)
        g_error ("%s: no metadata %s", tsl_safetensors_path (st), key);
    return g_ascii_strtod (value, NULL);
}

void
golden_timing (const TslSafetensors *st, TslDecodeTiming *timing)
{
    timing->fps = metadata_number (st, "fps");
    timing->duration_s = metadata_number (st, "duration");
    timing->feat_stride = metadata_number (st, "feat_stride");
    timing->num_frames = metadata_number (st, "feat_num_frames");
}

void
golden_read_levels (const TslSafetensors *st, TslDecodeLevel *levels)
{
    for (int l = 0; l < GOLDEN_N_LEVELS; l++) {
        g_autofree char *cls_name = g_strdup_printf ("cls_logits.%d", l);
        g_autofree char *off_name = g_strdup_printf ("reg_offsets.%d", l);
        g_autofree char *mask_name = g_strdup_printf ("mask.%d", l);
        size_t n_cls, n_off, n_mask;

        levels[l].cls_logits = golden_read (st, cls_name, &n_cls);
        levels[l].offsets = golden_read (st, off_name, &n_off);
        levels[l].mask = golden_read (st, mask_name, &n_mask);
        levels[l].T = (int) n_mask;
        levels[l].stride = 1 << l;
        g_assert_cmpuint (n_cls, ==, (size_t) GOLDEN_N_CLASSES * n_mask);
        g_assert_cmpuint (n_off, ==, 2 * n_mask);
    }
}

void
golden_free_levels (TslDecodeLevel *levels)
{
    for (int l = 0; l < GOLDEN_N_LEVELS; l++) {
        g_free ((float *) levels[l].cls_logits);
        g_free ((float *) levels[l].offsets);
        g_free ((float *) levels[l].mask);
    }
}

static guint32
float_bits (float x)
{
    guint32 bits;

    memcpy (&bits, &x, sizeof bits);
    return bits;
}

/* distance in units in the last place, for the report only */
static gint64
ulp_distance (float a, float b)
{
    gint64 ia = (gint32) float_bits (a), ib = (gint32) float_bits (b);

    if (ia < 0)
        ia = (gint64) G_MININT32 - ia;
    if (ib < 0)
        ib = (gint64) G_MININT32 - ib;
    return ia > ib ? ia - ib : ib - ia;
}

gboolean
golden_check_segments (const char *what, const TslSegment *got, int n, const TslSafetensors *st,
                       const char *prefix)
{
    g_autofree char *seg_name = g_strdup_printf ("%s_segments", prefix);
    g_autofree char *score_name = g_strdup_printf ("%s_scores", prefix);
    g_autofree char *label_name = g_strdup_printf ("%s_labels", prefix);
    size_t n_seg, n_score, n_label;
    g_autofree float *ref_seg = golden_read (st, seg_name, &n_seg);
    g_autofree float *ref_score = golden_read (st, score_name, &n_score);
    g_autofree float *ref_label = golden_read (st, label_name, &n_label);
    const int n_ref = (int) n_score;
    int n_diff = 0;
    gint64 max_ulp = 0;

    g_assert_cmpuint (n_seg, ==, 2 * n_score);
    g_assert_cmpuint (n_label, ==, n_score);
    if (n != n_ref) {
        printf ("# %s: %d segments, reference has %d\n", what, n, n_ref);
        g_test_fail ();
    }
    for (int i = 0; i < MIN (n, n_ref); i++) {
        const float ref[3] = { ref_seg[2 * i], ref_seg[2 * i + 1], ref_score[i] };
        const float val[3] = { got[i].start, got[i].end, got[i].score };
        gboolean same = got[i].label == (int) ref_label[i];

        for (int c = 0; c < 3; c++) {
            same = same && float_bits (val[c]) == float_bits (ref[c]);
            max_ulp = MAX (max_ulp, ulp_distance (val[c], ref[c]));
        }
        if (!same && n_diff++ < GOLDEN_SHOW) {
            printf ("# %s[%d]: got [%.9g, %.9g] %.9g label %d, ref [%.9g, %.9g] %.9g label %d\n",
                    what, i, val[0], val[1], val[2], got[i].label, ref[0], ref[1], ref[2],
                    (int) ref_label[i]);
        }
    }
    if (n_diff > 0) {
        printf ("# %s: %d of %d segments differ, max %" G_GINT64_FORMAT " ulp\n", what, n_diff,
                MIN (n, n_ref), max_ulp);
        g_test_fail ();
    }
    return n == n_ref && n_diff == 0;
}
