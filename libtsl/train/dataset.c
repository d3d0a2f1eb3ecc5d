/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * train/dataset.c: videos of a split with their features (one or more
 * folders, resampled to the first folder's length) and ground truth in
 * feature grid units, as the Perception Test fork prepares them; see
 * dataset.h.
 */
#include "dataset.h"

#include <math.h>
#include <string.h>

#include "../io/npy.h"

TslDataset *
tsl_dataset_new (const TslAnnotations *annotations, const TslDatasetConfig *config,
                 GError **error)
{
    if (config->folders == NULL || config->folders[0] == NULL) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG, "dataset: no feature folder given");
        return NULL;
    }
    if (config->feat_stride <= 0 || config->num_frames <= 0 || config->downsample_rate < 1
        || config->max_seq_len <= 0 || !(config->default_fps > 0.0)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG,
                     "dataset: feat_stride %d, num_frames %d, downsample_rate %d, "
                     "max_seq_len %d and default_fps %g must all be positive",
                     config->feat_stride, config->num_frames, config->downsample_rate,
                     config->max_seq_len, config->default_fps);
        return NULL;
    }
    TslDataset *ds = g_new0 (TslDataset, 1);
    ds->config = *config;
    ds->folders = g_strdupv ((char **) config->folders);
    ds->config.folders = (const char *const *) ds->folders;
    ds->split = g_strdup (config->split);
    ds->config.split = ds->split;
    ds->annotations = annotations;
    ds->videos = g_ptr_array_new ();
    for (guint v = 0; v < annotations->videos->len; v++) {
        const TslAnnotationVideo *video = g_ptr_array_index (annotations->videos, v);
        if (tsl_annotation_video_in_split (video, config->split))
            g_ptr_array_add (ds->videos, (gpointer) video);
    }
    if (ds->videos->len == 0) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG, "%s: no video in split '%s'",
                     annotations->path, config->split ? config->split : "(any)");
        tsl_dataset_free (ds);
        return NULL;
    }
    return ds;
}

void
tsl_dataset_free (TslDataset *dataset)
{
    if (dataset == NULL)
        return;
    g_strfreev (dataset->folders);
    g_free (dataset->split);
    g_ptr_array_unref (dataset->videos);
    g_free (dataset);
}

guint
tsl_dataset_size (const TslDataset *dataset)
{
    return dataset->videos->len;
}

void
tsl_train_sample_free (TslTrainSample *sample)
{
    if (sample == NULL)
        return;
    g_free (sample->video_id);
    g_free (sample->feats);
    g_free (sample->segments);
    g_free (sample->labels);
    g_free (sample);
}

TslTrainSample *
tsl_train_sample_copy (const TslTrainSample *sample)
{
    TslTrainSample *copy = g_new (TslTrainSample, 1);
    *copy = *sample;
    size_t n_feats = (size_t) sample->n_channels * sample->length;
    size_t n = (size_t) sample->n_segments;
    copy->video_id = g_strdup (sample->video_id);
    copy->feats = g_new (float, n_feats);
    memcpy (copy->feats, sample->feats, n_feats * sizeof (float));
    copy->segments = g_new (float, 2 * n + 1);
    memcpy (copy->segments, sample->segments, 2 * n * sizeof (float));
    copy->labels = g_new (int, n + 1);
    memcpy (copy->labels, sample->labels, n * sizeof (int));
    return copy;
}

void
tsl_resample_linear (const float *x, int n_channels, int t_in, float *y, int t_out)
{
    float scale = (float) t_in / (float) t_out;
    for (int j = 0; j < t_out; j++) {
        float src = scale * ((float) j + 0.5f) - 0.5f;
        if (src < 0.0f)
            src = 0.0f;
        int i0 = (int) src;
        int i1 = i0 + (i0 < t_in - 1 ? 1 : 0);
        float w1 = src - (float) i0, w0 = 1.0f - w1;
        for (int c = 0; c < n_channels; c++)
            y[(size_t) c * t_out + j] = w0 * x[(size_t) c * t_in + i0]
                                        + w1 * x[(size_t) c * t_in + i1];
    }
}

void
tsl_resample_endpoints (const float *x, int t_in, int n_channels, double *y, int t_out)
{
    double step = t_out > 1 ? (double) (t_in - 1) / (double) (t_out - 1) : 0.0;
    for (int j = 0; j < t_out; j++) {
        /* numpy linspace: j * step, the last point exactly t_in - 1 */
        double pos = (t_out > 1 && j == t_out - 1) ? (double) (t_in - 1) : (double) j * step;
        /* scipy interp1d: interval [hi - 1, hi] with hi = first sample >= pos, in [1, t_in) */
        int hi = (int) ceil (pos);
        hi = CLAMP (hi, 1, t_in - 1);
        int lo = hi - 1;
        for (int c = 0; c < n_channels; c++) {
            double y_lo = x[(size_t) lo * n_channels + c], y_hi = x[(size_t) hi * n_channels + c];
            y[(size_t) j * n_channels + c] = (y_hi - y_lo) * (pos - (double) lo) + y_lo;
        }
    }
}

/* One folder's [T, C] features, finite and two-dimensional. */
static float *
read_features (const char *folder, const char *video_id, int *rows, int *cols, GError **error)
{
    g_autofree char *name = g_strconcat (video_id, ".npy", NULL);
    g_autofree char *path = g_build_filename (folder, name, NULL);
    if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_IO, "%s: no such feature file (video '%s')",
                     path, video_id);
        return NULL;
    }
    TslNpyInfo info;
    float *x = tsl_npy_read_f32 (path, &info, error);
    if (x == NULL)
        return NULL;
    if (info.ndim != 2 || info.shape[0] < 1 || info.shape[1] < 1 || info.shape[0] > G_MAXINT
        || info.shape[1] > G_MAXINT) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                     "%s: features must be a non-empty [T, C] array, got %d dimensions",
                     path, info.ndim);
        g_free (x);
        return NULL;
    }
    *rows = (int) info.shape[0];
    *cols = (int) info.shape[1];
    for (size_t i = 0; i < (size_t) *rows * *cols; i++) {
        if (!isfinite (x[i])) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                         "%s: feature [%zu, %zu] is %g", path, i / *cols, i % *cols, x[i]);
            g_free (x);
            return NULL;
        }
    }
    return x;
}

/* Every folder's features side by side, [T, C], T of the first folder. */
static float *
read_all_features (const TslDataset *ds, const char *video_id, int *rows, int *cols,
                   GError **error)
{
    float *feats = read_features (ds->folders[0], video_id, rows, cols, error);
    if (feats == NULL)
        return NULL;
    for (int k = 1; ds->folders[k] != NULL; k++) {
        int tk, ck;
        g_autofree float *more = read_features (ds->folders[k], video_id, &tk, &ck, error);
        if (more == NULL) {
            g_free (feats);
            return NULL;
        }
        if (tk < 2) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                         "%s/%s.npy: %d feature row, linear resampling needs at least 2",
                         ds->folders[k], video_id, tk);
            g_free (feats);
            return NULL;
        }
        g_autofree double *resampled = g_new (double, (size_t) *rows * ck); /* [T, ck] */
        tsl_resample_endpoints (more, tk, ck, resampled, *rows);
        int c_all = *cols + ck;
        float *joined = g_new (float, (size_t) *rows * c_all); /* [T, c_all] */
        for (int t = 0; t < *rows; t++) {
            memcpy (joined + (size_t) t * c_all, feats + (size_t) t * *cols,
                    (size_t) *cols * sizeof (float));
            for (int c = 0; c < ck; c++)
                joined[(size_t) t * c_all + *cols + c] = (float) resampled[(size_t) t * ck + c];
        }
        g_free (feats);
        feats = joined;
        *cols = c_all;
    }
    return feats;
}

TslTrainSample *
tsl_dataset_load (const TslDataset *dataset, guint i, GError **error)
{
    g_return_val_if_fail (i < dataset->videos->len, NULL);
    const TslDatasetConfig *cfg = &dataset->config;
    const TslAnnotationVideo *video = g_ptr_array_index (dataset->videos, i);
    int rows, cols;
    g_autofree float *raw = read_all_features (dataset, video->video_id, &rows, &cols, error);
    if (raw == NULL)
        return NULL;
    if (cfg->input_dim > 0 && cols != cfg->input_dim) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                     "video '%s': the feature folders give %d channels, input_dim is %d",
                     video->video_id, cols, cfg->input_dim);
        return NULL;
    }

    TslTrainSample *s = g_new0 (TslTrainSample, 1);
    s->video_id = g_strdup (video->video_id);
    s->n_channels = cols;
    s->fps = cfg->default_fps;
    s->duration = (video->num_frames >= 0 && video->fps > 0.0)
                      ? (double) video->num_frames * video->fps
                      : video->duration_s;
    int step = 1;
    if (!cfg->force_upsampling) {
        step = cfg->downsample_rate;
        s->feat_stride = (double) cfg->feat_stride * cfg->downsample_rate;
        s->feat_num_frames = cfg->num_frames;
    } else {
        s->feat_stride = (double) ((rows - 1) * cfg->feat_stride + cfg->num_frames)
                         / cfg->max_seq_len;
        s->feat_num_frames = s->feat_stride;
    }
    s->feat_offset = 0.5 * s->feat_num_frames / s->feat_stride;

    /* decimate and transpose to [C, T] */
    int t_kept = (rows + step - 1) / step;
    g_autofree float *ct = g_new (float, (size_t) cols * t_kept); /* [C, t_kept] */
    for (int t = 0; t < t_kept; t++)
        for (int c = 0; c < cols; c++)
            ct[(size_t) c * t_kept + t] = raw[(size_t) t * step * cols + c];
    if (cfg->force_upsampling && t_kept != cfg->max_seq_len) {
        s->length = cfg->max_seq_len;
        s->feats = g_new (float, (size_t) cols * s->length);
        tsl_resample_linear (ct, cols, t_kept, s->feats, s->length);
    } else {
        s->length = t_kept;
        s->feats = g_steal_pointer (&ct);
    }

    /* seconds -> grid units, float32 step by step as the fork's numpy arrays */
    int n = (int) video->segments->len;
    s->n_segments = n;
    s->segments = g_new (float, 2 * n + 1);
    s->labels = g_new (int, n + 1);
    float fps = (float) s->fps, stride = (float) s->feat_stride, offset = (float) s->feat_offset;
    for (int k = 0; k < n; k++) {
        const TslAnnotationSegment *seg =
            &g_array_index (video->segments, TslAnnotationSegment, k);
        float bounds[2] = { (float) seg->start_s, (float) seg->end_s };
        for (int e = 0; e < 2; e++) {
            float scaled = bounds[e] * fps;
            float grid = scaled / stride;
            s->segments[2 * k + e] = grid - offset;
        }
        s->labels[k] = seg->label_id;
    }
    return s;
}
