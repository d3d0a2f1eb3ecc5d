/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * dataset.c: the training dataset on files written by the test: split
 * selection, [T, C] -> [C, T] features, several folders resampled to the
 * first folder's length (end points kept, checked against a double
 * reference), force_upsampling (checked against a double restatement of
 * F.interpolate linear, align_corners False), decimation, seconds -> grid
 * units (hand-computed values), and the errors: missing file, NaN,
 * channel count.
 */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "io/npy.h"
#include "testutil.h"
#include "train/dataset.h"

static const char annotations_json[] =
    "{\"v1\": {\"metadata\": {\"split\": \"train\", \"num_frames\": 300, \"frame_rate\": 30.0},"
    "          \"sound_localisation\": [{\"label\": \"door\", \"label_id\": 3,"
    "                                    \"timestamps\": [2000000, 5500000]},"
    "                                   {\"label\": \"dog\", \"label_id\": 1,"
    "                                    \"timestamps\": [100000, 433333]}]},"
    " \"v2\": {\"metadata\": {\"split\": \"valid\", \"num_frames\": 90, \"frame_rate\": 30.0},"
    "          \"sound_localisation\": []},"
    " \"v3\": {\"metadata\": {\"split\": \"Train\", \"num_frames\": 150, \"frame_rate\": 25.0},"
    "          \"sound_localisation\": [{\"label\": \"dog\", \"label_id\": 1,"
    "                                    \"timestamps\": [0, 1000000]}]}}";

typedef struct {
    char *dir;
    char *folder_a, *folder_b;
    TslAnnotations *ann;
    float *a1, *b1; /* v1's features: [37, 5] and [23, 2] */
} Fixture;

static void
write_npy (const char *folder, const char *id, int rows, int cols, const float *x)
{
    g_autofree char *name = g_strconcat (id, ".npy", NULL);
    g_autofree char *path = g_build_filename (folder, name, NULL);
    int64_t shape[2] = { rows, cols };
    g_autoptr (GError) error = NULL;
    g_assert_true (tsl_npy_write_f32 (path, 2, shape, x, &error));
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
    (void) data;
    g_autoptr (GError) error = NULL;
    f->dir = g_dir_make_tmp ("tsl-dataset-XXXXXX", &error);
    g_assert_no_error (error);
    f->folder_a = g_build_filename (f->dir, "a", NULL);
    f->folder_b = g_build_filename (f->dir, "b", NULL);
    g_mkdir (f->folder_a, 0700);
    g_mkdir (f->folder_b, 0700);
    TslTestRng rng;
    tsl_test_rng_init (&rng, 11);
    f->a1 = g_new (float, 37 * 5);
    f->b1 = g_new (float, 23 * 2);
    tsl_test_fill_uniform (&rng, f->a1, 37 * 5, -1, 1);
    tsl_test_fill_uniform (&rng, f->b1, 23 * 2, -1, 1);
    float a3[20 * 5], b3[9 * 2];
    tsl_test_fill_uniform (&rng, a3, 20 * 5, -1, 1);
    tsl_test_fill_uniform (&rng, b3, 9 * 2, -1, 1);
    write_npy (f->folder_a, "v1", 37, 5, f->a1);
    write_npy (f->folder_b, "v1", 23, 2, f->b1);
    write_npy (f->folder_a, "v3", 20, 5, a3);
    write_npy (f->folder_b, "v3", 9, 2, b3);
    f->ann = tsl_annotations_parse (annotations_json, strlen (annotations_json), "gt.json",
                                    TSL_ANNOTATIONS_PERCEPTION_TEST, NULL, &error);
    g_assert_no_error (error);
}

static void
remove_tree (const char *path)
{
    GDir *dir = g_dir_open (path, 0, NULL);
    if (dir != NULL) {
        const char *name;
        while ((name = g_dir_read_name (dir)) != NULL) {
            g_autofree char *child = g_build_filename (path, name, NULL);
            remove_tree (child);
        }
        g_dir_close (dir);
    }
    g_remove (path);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
    (void) data;
    remove_tree (f->dir);
    tsl_annotations_free (f->ann);
    g_free (f->dir);
    g_free (f->folder_a);
    g_free (f->folder_b);
    g_free (f->a1);
    g_free (f->b1);
}

static TslDatasetConfig
base_config (const char *const *folders)
{
    return (TslDatasetConfig) { .split = "train", .folders = folders, .input_dim = 0,
                                .feat_stride = 16, .num_frames = 16, .default_fps = 30.0,
                                .downsample_rate = 1, .max_seq_len = 64 };
}

static void
test_one_folder (Fixture *f, gconstpointer data)
{
    (void) data;
    const char *folders[] = { f->folder_a, NULL };
    TslDatasetConfig cfg = base_config (folders);
    cfg.input_dim = 5;
    g_autoptr (GError) error = NULL;
    g_autoptr (TslDataset) ds = tsl_dataset_new (f->ann, &cfg, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (tsl_dataset_size (ds), ==, 2); /* v1 and v3 ("Train") */
    g_autoptr (TslTrainSample) s = tsl_dataset_load (ds, 0, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (s->video_id, ==, "v1");
    g_assert_cmpint (s->n_channels, ==, 5);
    g_assert_cmpint (s->length, ==, 37);
    for (int t = 0; t < 37; t++)
        for (int c = 0; c < 5; c++)
            g_assert_cmpfloat (s->feats[c * 37 + t], ==, f->a1[t * 5 + c]);
    /* 2.0 s * 30 / 16 - 0.5 = 3.25; 5.5 s -> 9.8125; exact in float32 */
    g_assert_cmpint (s->n_segments, ==, 2);
    g_assert_cmpfloat (s->segments[0], ==, 3.25f);
    g_assert_cmpfloat (s->segments[1], ==, 9.8125f);
    /* 0.433333 s: float32 steps as numpy: ((float) 0.433333 * 30) / 16 - 0.5 */
    float end = (float) 0.433333;
    end = end * 30.0f;
    end = end / 16.0f;
    end = end - 0.5f;
    g_assert_cmpfloat (s->segments[3], ==, end);
    g_assert_cmpint (s->labels[0], ==, 3);
    g_assert_cmpint (s->labels[1], ==, 1);
    g_assert_cmpfloat (s->feat_offset, ==, 0.5);
    g_assert_cmpfloat (s->duration, ==, 300 * 30.0); /* the fork's num_frames * frame_rate */
}

static void
test_two_folders (Fixture *f, gconstpointer data)
{
    (void) data;
    const char *folders[] = { f->folder_a, f->folder_b, NULL };
    TslDatasetConfig cfg = base_config (folders);
    cfg.input_dim = 7;
    g_autoptr (GError) error = NULL;
    g_autoptr (TslDataset) ds = tsl_dataset_new (f->ann, &cfg, &error);
    g_autoptr (TslTrainSample) s = tsl_dataset_load (ds, 0, &error);
    g_assert_no_error (error);
    g_assert_cmpint (s->n_channels, ==, 7);
    g_assert_cmpint (s->length, ==, 37);
    double ref[37 * 2];
    for (int t = 0; t < 37; t++) {
        double pos = t * 22.0 / 36.0;
        int lo = MIN ((int) floor (pos), 21);
        for (int c = 0; c < 2; c++)
            ref[c * 37 + t] = f->b1[lo * 2 + c]
                              + (pos - lo) * (f->b1[(lo + 1) * 2 + c] - f->b1[lo * 2 + c]);
    }
    for (int t = 0; t < 37; t++)
        for (int c = 0; c < 5; c++)
            g_assert_cmpfloat (s->feats[c * 37 + t], ==, f->a1[t * 5 + c]);
    /* double interpolation rounded once to float32: within float32 rounding */
    tsl_test_check_close ("resampled", s->feats + 5 * 37, ref, 37 * 2, 1e-7, 1e-7);
    /* the end points are the folder's first and last rows exactly */
    g_assert_cmpfloat (s->feats[5 * 37], ==, f->b1[0]);
    g_assert_cmpfloat (s->feats[5 * 37 + 36], ==, f->b1[22 * 2]);
}

static void
test_force_upsampling (Fixture *f, gconstpointer data)
{
    (void) data;
    const char *folders[] = { f->folder_a, NULL };
    TslDatasetConfig cfg = base_config (folders);
    cfg.force_upsampling = TRUE;
    cfg.max_seq_len = 50;
    g_autoptr (GError) error = NULL;
    g_autoptr (TslDataset) ds = tsl_dataset_new (f->ann, &cfg, &error);
    g_autoptr (TslTrainSample) s = tsl_dataset_load (ds, 0, &error);
    g_assert_no_error (error);
    g_assert_cmpint (s->length, ==, 50);
    /* stride = (36 * 16 + 16) / 50 = 11.84 frames, offset 0.5 */
    g_assert_cmpfloat (s->feat_stride, ==, 592.0 / 50.0);
    g_assert_cmpfloat (s->feat_offset, ==, 0.5);
    g_assert_cmpfloat (fabs (s->segments[0] - (2.0 * 30 / 11.84 - 0.5)), <=, 1e-5);
    double ref[5 * 50];
    for (int j = 0; j < 50; j++) {
        /* the source position in float32, as PyTorch's kernel computes it */
        float scale = 37.0f / 50.0f;
        double src = MAX (scale * ((float) j + 0.5f) - 0.5f, 0.0f);
        int i0 = (int) src, i1 = MIN (i0 + 1, 36);
        double w = src - i0;
        for (int c = 0; c < 5; c++)
            ref[c * 50 + j] = (1 - w) * f->a1[i0 * 5 + c] + w * f->a1[i1 * 5 + c];
    }
    /* float32 weights and sums of values in [-1, 1]: a few float32 ulps */
    tsl_test_check_close ("upsampled", s->feats, ref, 5 * 50, 1e-6, 1e-6);
}

static void
test_downsample (Fixture *f, gconstpointer data)
{
    (void) data;
    const char *folders[] = { f->folder_a, NULL };
    TslDatasetConfig cfg = base_config (folders);
    cfg.downsample_rate = 2;
    g_autoptr (GError) error = NULL;
    g_autoptr (TslDataset) ds = tsl_dataset_new (f->ann, &cfg, &error);
    g_autoptr (TslTrainSample) s = tsl_dataset_load (ds, 0, &error);
    g_assert_no_error (error);
    g_assert_cmpint (s->length, ==, 19); /* rows 0, 2, ..., 36 */
    for (int t = 0; t < 19; t++)
        g_assert_cmpfloat (s->feats[2 * 19 + t], ==, f->a1[2 * t * 5 + 2]);
    /* stride 32, offset 0.25: 2.0 * 30 / 32 - 0.25 = 1.625 */
    g_assert_cmpfloat (s->segments[0], ==, 1.625f);
}

static void
test_errors (Fixture *f, gconstpointer data)
{
    (void) data;
    const char *folders[] = { f->folder_a, f->folder_b, NULL };
    TslDatasetConfig cfg = base_config (folders);
    g_autoptr (GError) error = NULL;
    g_autoptr (TslDataset) ds = tsl_dataset_new (f->ann, &cfg, &error);
    g_assert_no_error (error);

    /* missing file in the second folder */
    g_autofree char *b3 = g_build_filename (f->folder_b, "v3.npy", NULL);
    g_remove (b3);
    g_assert_null (tsl_dataset_load (ds, 1, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_IO);
    g_assert_nonnull (strstr (error->message, b3));
    g_clear_error (&error);

    /* NaN named by file and position */
    float bad[4 * 2] = { 0, 1, 2, 3, 4, NAN, 6, 7 };
    write_npy (f->folder_b, "v3", 4, 2, bad);
    g_assert_null (tsl_dataset_load (ds, 1, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, b3));
    g_assert_nonnull (strstr (error->message, "[2, 1]"));
    g_clear_error (&error);

    /* channel total against input_dim */
    cfg.input_dim = 6;
    g_autoptr (TslDataset) ds6 = tsl_dataset_new (f->ann, &cfg, &error);
    g_assert_null (tsl_dataset_load (ds6, 0, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_SHAPE);
    g_assert_nonnull (strstr (error->message, "input_dim is 6"));
    g_clear_error (&error);

    /* an empty split */
    cfg.split = "test";
    g_assert_null (tsl_dataset_new (f->ann, &cfg, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_CONFIG);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add ("/train/dataset/one-folder", Fixture, NULL, fixture_setup, test_one_folder,
                fixture_teardown);
    g_test_add ("/train/dataset/two-folders", Fixture, NULL, fixture_setup, test_two_folders,
                fixture_teardown);
    g_test_add ("/train/dataset/force-upsampling", Fixture, NULL, fixture_setup,
                test_force_upsampling, fixture_teardown);
    g_test_add ("/train/dataset/downsample", Fixture, NULL, fixture_setup, test_downsample,
                fixture_teardown);
    g_test_add ("/train/dataset/errors", Fixture, NULL, fixture_setup, test_errors,
                fixture_teardown);
    return g_test_run ();
}
