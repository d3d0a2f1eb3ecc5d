/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * io/annotations.h: ground-truth annotation files, read into one in-memory
 * form: a list of videos, each with its split, frame rate, duration and
 * labelled segments in seconds.
 *
 * Two formats are read:
 *
 *   Perception Test (the challenge's annotation files): an object keyed by
 *   video id,
 *     {"VID": {"metadata": {"split": "valid", "num_frames": 930,
 *                            "frame_rate": 30.0, ...},
 *              "sound_localisation": [{"label": "door", "label_id": 3,
 *                                      "timestamps": [2000000, 12000000],
 *                                      ...}, ...],
 *              "action_localisation": [...], ...}, ...}
 *   Timestamps are microseconds; a segment's seconds are start_us / 1e6 and
 *   end_us / 1e6 (double division, as the reference evaluator does). The
 *   task key ("sound_localisation" by default) names the list to read. The
 *   duration is num_frames / frame_rate. (The reference dataset loader of
 *   the Perception Test ActionFormer fork multiplies the two instead; the
 *   raw num_frames and frame_rate are kept for callers that must repeat
 *   that.)
 *
 *   ActivityNet style (ActionFormer's ActivityNet / THUMOS14 files):
 *     {"database": {"VID": {"subset": "validation", "duration": 120.5,
 *                           "fps": 30.0,
 *                           "annotations": [{"label": "door", "label_id": 3,
 *                                            "segment": [2.0, 12.0]}, ...]},
 *                   ...}, ...}
 *   Segments are seconds already; fps is optional.
 *
 * Videos and segments keep file order (the metric's tie rules depend on
 * it). A video without its segment list ("sound_localisation" or
 * "annotations" absent or null) has no segments; that is not an error.
 * Unknown fields are ignored. A missing or ill-typed field is a
 * TSL_ERROR_FORMAT error that names the file, the video and the field,
 * e.g. "gt.json: video 'v1': sound_localisation[2].timestamps: expected an
 * array of two numbers"; an unreadable file is TSL_ERROR_IO. The text must
 * be strict JSON without duplicate keys (io/json-check.h).
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "../error.h"

G_BEGIN_DECLS

typedef enum {
    TSL_ANNOTATIONS_PERCEPTION_TEST,
    TSL_ANNOTATIONS_ACTIVITYNET,
} TslAnnotationsFormat;

typedef struct {
    double start_s;
    double end_s;
    int label_id;
    char *label; /* class name as written in the file */
} TslAnnotationSegment;

typedef struct {
    char *video_id;
    char *split;        /* Perception Test metadata.split / ActivityNet subset, as written */
    double fps;         /* frame_rate / fps; 0 when the file gives none */
    int64_t num_frames; /* Perception Test metadata.num_frames; -1 when absent */
    double duration_s;  /* num_frames / frame_rate, or ActivityNet duration; 0 when unknown */
    GArray *segments;   /* TslAnnotationSegment, file order */
} TslAnnotationVideo;

typedef struct {
    char *path;                 /* the file read, for messages */
    TslAnnotationsFormat format;
    GPtrArray *videos;          /* TslAnnotationVideo *, file order */
    GHashTable *by_id;          /* video id -> TslAnnotationVideo * (borrowed) */
} TslAnnotations;

/* Perception Test file; task: the segment list to read, NULL for
 * "sound_localisation". */
TslAnnotations *tsl_annotations_load_perception_test (const char *path, const char *task,
                                                      GError **error);
/* ActivityNet-style file ("database" at the top). */
TslAnnotations *tsl_annotations_load_activitynet (const char *path, GError **error);
/* Either format, told apart by content: a top-level object with an
 * object-valued "database" member is ActivityNet style, anything else is
 * read as Perception Test (sound_localisation). */
TslAnnotations *tsl_annotations_load (const char *path, GError **error);
/* The same readers on text already in memory; `name` stands for the file
 * in messages. */
TslAnnotations *tsl_annotations_parse (const char *text, size_t len, const char *name,
                                       TslAnnotationsFormat format, const char *task,
                                       GError **error);

void tsl_annotations_free (TslAnnotations *ann);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TslAnnotations, tsl_annotations_free)

/* NULL when absent. */
const TslAnnotationVideo *tsl_annotations_find (const TslAnnotations *ann, const char *video_id);

/* TRUE when `video` belongs to `split` (ASCII case-insensitive, as the
 * reference lower-cases the file's split); every video when split is NULL. */
gboolean tsl_annotation_video_in_split (const TslAnnotationVideo *video, const char *split);

/* The name of label_id: the label of the first segment (file order, any
 * split) with that id; NULL when no segment has it. */
const char *tsl_annotations_label_name (const TslAnnotations *ann, int label_id);

G_END_DECLS
