/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * train/dataset.h: the training and validation videos of a split: their
 * features read from one or more folders and their ground truth in feature
 * grid units, as the ActionFormer dataset of the Perception Test fork
 * (ptchallenge-workshop/actionformer_release_PT,
 * libs/datasets/perception.py) prepares them.
 *
 * Features: folder k holds <video_id>.npy, an array [T_k, C_k] of any
 * numeric dtype (converted to float32). The first folder sets the length T.
 * Every other folder is resampled linearly to T as the fork does it
 * (scipy interp1d on the sample positions 0..T_k-1 evaluated at
 * linspace (0, T_k - 1, T), i.e. the end points are kept: the
 * align_corners=True form, in double precision, then rounded to float32)
 * and appended along C. (The fork reads its second folder from PyTorch .pt
 * files; here every folder holds .npy files.) A missing file is an error
 * naming it (the fork silently replaces the video by a random other one;
 * this loader refuses instead), as is a non-finite feature (naming the
 * file, row and column), a file that is not two-dimensional, or a channel
 * total that differs from input_dim.
 *
 * Grid units (feat_stride > 0, the fork's variable-length case), with the
 * dataset's default_fps as fps:
 *   without force_upsampling: stride = feat_stride * downsample_rate (rows
 *     are first decimated, keeping rows 0, d, 2d, ...), frames = num_frames;
 *   with force_upsampling: stride = ((T - 1) feat_stride + num_frames) /
 *     max_seq_len in double, frames = stride, and the features are
 *     resampled to max_seq_len columns as F.interpolate (mode 'linear',
 *     align_corners False) does, in float32.
 *   offset = 0.5 frames / stride; a segment [s, e] seconds (s = start_us /
 *   1e6 in double, then stored as float32) becomes s * fps / stride -
 *   offset, each operation rounded to float32 as the fork's float32 numpy
 *   arrays do. Small negative values are kept.
 * Labels are each segment's label_id (the fork maps the label name through
 * a name -> label_id table built from the same file, which is the same for
 * consistent files). duration is num_frames * frame_rate, the fork's
 * value (not the duration in seconds), kept for the evaluation path that
 * uses it.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "../error.h"
#include "../io/annotations.h"

G_BEGIN_DECLS

typedef struct {
    char *video_id;
    int n_channels;         /* C */
    int length;             /* T (feature columns) */
    float *feats;           /* [C, T] */
    int n_segments;         /* N */
    float *segments;        /* [N, 2] start, end in grid units */
    int *labels;            /* [N] label_id */
    double fps;             /* the dataset's default_fps */
    double duration;        /* the fork's duration value (see above) */
    double feat_stride;     /* frames between columns */
    double feat_num_frames; /* frames one column covers */
    double feat_offset;     /* 0.5 * feat_num_frames / feat_stride */
} TslTrainSample;

typedef struct {
    const char *split;          /* e.g. "train"; compared case-insensitively */
    const char *const *folders; /* NULL-terminated, at least one */
    int input_dim;              /* sum of the folders' channels; 0 = do not check */
    int feat_stride;
    int num_frames;
    double default_fps;
    int downsample_rate;        /* >= 1 */
    int max_seq_len;
    gboolean force_upsampling;
} TslDatasetConfig;

typedef struct {
    TslDatasetConfig config;
    char **folders;             /* owned copy of config.folders */
    char *split;
    GPtrArray *videos;          /* const TslAnnotationVideo * of the split, file order */
    const TslAnnotations *annotations;
} TslDataset;

/* The videos of config->split in `annotations` (borrowed: it must outlive
 * the dataset). TSL_ERROR_CONFIG for a bad configuration or an empty split. */
TslDataset *tsl_dataset_new (const TslAnnotations *annotations, const TslDatasetConfig *config,
                             GError **error);
void tsl_dataset_free (TslDataset *dataset);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TslDataset, tsl_dataset_free)

guint tsl_dataset_size (const TslDataset *dataset);

/* Video i with its features and ground truth (uncropped). */
TslTrainSample *tsl_dataset_load (const TslDataset *dataset, guint i, GError **error);

TslTrainSample *tsl_train_sample_copy (const TslTrainSample *sample);
void tsl_train_sample_free (TslTrainSample *sample);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TslTrainSample, tsl_train_sample_free)

/* F.interpolate (mode 'linear', align_corners False) of x [C, T_in] to
 * y [C, T_out], float32 arithmetic as PyTorch's CPU kernel. */
void tsl_resample_linear (const float *x /* [C, T_in] */, int n_channels, int t_in,
                          float *y /* [C, T_out] */, int t_out);
/* Linear resampling of x [T_in, C] to y [T_out, C] keeping the end points
 * (sample positions linspace (0, T_in - 1, T_out)), in double. */
void tsl_resample_endpoints (const float *x /* [T_in, C] */, int t_in, int n_channels,
                             double *y /* [T_out, C] */, int t_out);

G_END_DECLS
