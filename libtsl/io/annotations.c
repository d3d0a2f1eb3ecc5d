/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * io/annotations.c: Perception Test and ActivityNet-style ground-truth
 * readers (see annotations.h). Both walk the JSON tree in member order and
 * fill the same TslAnnotations; the per-format code only knows where each
 * field lives.
 */
#include "annotations.h"

#include <string.h>

#include "file.h"
#include "json-fields.h"

#define ANNOTATIONS_MAX_DEPTH 32 /* deepest nesting accepted in the JSON text */
#define DEFAULT_TASK "sound_localisation"
#define US_PER_S 1e6             /* Perception Test timestamps are microseconds */

static void
clear_segment (gpointer data)
{
    TslAnnotationSegment *seg = data;

    g_free (seg->label);
}

static void
free_video (gpointer data)
{
    TslAnnotationVideo *video = data;

    g_free (video->video_id);
    g_free (video->split);
    g_array_unref (video->segments);
    g_free (video);
}

static TslAnnotations *
annotations_new (const char *name, TslAnnotationsFormat format)
{
    TslAnnotations *ann = g_new0 (TslAnnotations, 1);

    ann->path = g_strdup (name);
    ann->format = format;
    ann->videos = g_ptr_array_new_with_free_func (free_video);
    ann->by_id = g_hash_table_new (g_str_hash, g_str_equal);
    return ann;
}

static TslAnnotationVideo *
add_video (TslAnnotations *ann, const char *video_id)
{
    TslAnnotationVideo *video = g_new0 (TslAnnotationVideo, 1);

    video->video_id = g_strdup (video_id);
    video->num_frames = -1;
    video->segments = g_array_new (FALSE, FALSE, sizeof (TslAnnotationSegment));
    g_array_set_clear_func (video->segments, clear_segment);
    g_ptr_array_add (ann->videos, video);
    g_hash_table_insert (ann->by_id, video->video_id, video);
    return video;
}

void
tsl_annotations_free (TslAnnotations *ann)
{
    if (ann == NULL)
        return;
    g_hash_table_unref (ann->by_id);
    g_ptr_array_unref (ann->videos);
    g_free (ann->path);
    g_free (ann);
}

/* ---- one segment list ---- */

/* Appends the segments of `list` (member `list_name` of the video record).
 * Perception Test entries hold "timestamps" in microseconds, ActivityNet
 * ones "segment" in seconds. */
static gboolean
read_segments (TslAnnotationVideo *video, JsonArray *list, const char *list_name,
               TslAnnotationsFormat format, const char *where, GError **error)
{
    const guint n = json_array_get_length (list);

    for (guint i = 0; i < n; i++) {
        JsonNode *node = json_array_get_element (list, i);
        g_autofree char *prefix = g_strdup_printf ("%s[%u].", list_name, i);
        TslAnnotationSegment seg = { 0 };
        const char *label = NULL;
        int64_t label_id = 0;
        double bounds[2];

        if (!JSON_NODE_HOLDS_OBJECT (node)) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: %s[%u]: expected an object, "
                         "found %s", where, list_name, i, tsl_json_fields_kind (node));
            return FALSE;
        }
        JsonObject *entry = json_node_get_object (node);
        if (!tsl_json_fields_string (entry, "label", TRUE, where, prefix, &label, error) ||
            !tsl_json_fields_int (entry, "label_id", TRUE, G_MININT, G_MAXINT, where, prefix,
                                  &label_id, error))
            return FALSE;
        if (format == TSL_ANNOTATIONS_PERCEPTION_TEST) {
            if (!tsl_json_fields_pair (entry, "timestamps", where, prefix, bounds, error))
                return FALSE;
            seg.start_s = bounds[0] / US_PER_S;
            seg.end_s = bounds[1] / US_PER_S;
        } else {
            if (!tsl_json_fields_pair (entry, "segment", where, prefix, bounds, error))
                return FALSE;
            seg.start_s = bounds[0];
            seg.end_s = bounds[1];
        }
        seg.label_id = (int) label_id;
        seg.label = g_strdup (label);
        g_array_append_val (video->segments, seg);
    }
    return TRUE;
}

/* ---- per-format video records ---- */

static gboolean
read_perception_test_video (TslAnnotations *ann, const char *video_id, JsonNode *node,
                            const char *task, GError **error)
{
    g_autofree char *where = g_strdup_printf ("%s: video '%s'", ann->path, video_id);
    TslAnnotationVideo *video;
    JsonObject *metadata = NULL;
    JsonArray *list = NULL;
    const char *split = NULL;
    int64_t num_frames = -1;
    double frame_rate = 0.0;

    if (!JSON_NODE_HOLDS_OBJECT (node)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: expected an object, found %s",
                     where, tsl_json_fields_kind (node));
        return FALSE;
    }
    JsonObject *record = json_node_get_object (node);
    if (!tsl_json_fields_object (record, "metadata", TRUE, where, "", &metadata, error) ||
        !tsl_json_fields_string (metadata, "split", TRUE, where, "metadata.", &split, error) ||
        !tsl_json_fields_int (metadata, "num_frames", FALSE, 0, G_MAXINT64, where, "metadata.",
                              &num_frames, error) ||
        !tsl_json_fields_number (metadata, "frame_rate", FALSE, where, "metadata.", &frame_rate,
                                 error) ||
        !tsl_json_fields_array (record, task, FALSE, where, "", &list, error))
        return FALSE;
    if (frame_rate < 0) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: metadata.frame_rate: %g is negative",
                     where, frame_rate);
        return FALSE;
    }

    video = add_video (ann, video_id);
    video->split = g_strdup (split);
    video->fps = frame_rate;
    video->num_frames = num_frames;
    if (num_frames >= 0 && frame_rate > 0)
        video->duration_s = (double) num_frames / frame_rate;
    return list == NULL ||
           read_segments (video, list, task, TSL_ANNOTATIONS_PERCEPTION_TEST, where, error);
}

static gboolean
read_activitynet_video (TslAnnotations *ann, const char *video_id, JsonNode *node,
                        GError **error)
{
    g_autofree char *where = g_strdup_printf ("%s: video '%s'", ann->path, video_id);
    TslAnnotationVideo *video;
    JsonArray *list = NULL;
    const char *subset = NULL;
    double duration = 0.0, fps = 0.0;

    if (!JSON_NODE_HOLDS_OBJECT (node)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: expected an object, found %s",
                     where, tsl_json_fields_kind (node));
        return FALSE;
    }
    JsonObject *record = json_node_get_object (node);
    if (!tsl_json_fields_string (record, "subset", TRUE, where, "", &subset, error) ||
        !tsl_json_fields_number (record, "duration", FALSE, where, "", &duration, error) ||
        !tsl_json_fields_number (record, "fps", FALSE, where, "", &fps, error) ||
        !tsl_json_fields_array (record, "annotations", FALSE, where, "", &list, error))
        return FALSE;
    if (duration < 0 || fps < 0) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: %s: %g is negative", where,
                     duration < 0 ? "duration" : "fps", duration < 0 ? duration : fps);
        return FALSE;
    }

    video = add_video (ann, video_id);
    video->split = g_strdup (subset);
    video->fps = fps;
    video->duration_s = duration;
    return list == NULL ||
           read_segments (video, list, "annotations", TSL_ANNOTATIONS_ACTIVITYNET, where, error);
}

/* ---- parsing ---- */

static TslAnnotations *
annotations_from_root (JsonNode *root, const char *name, TslAnnotationsFormat format,
                       const char *task, GError **error)
{
    g_autoptr (TslAnnotations) ann = annotations_new (name, format);
    JsonObject *videos;

    if (!JSON_NODE_HOLDS_OBJECT (root)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                     "%s: the top level is %s, expected an object keyed by video id", name,
                     tsl_json_fields_kind (root));
        return NULL;
    }
    videos = json_node_get_object (root);
    if (format == TSL_ANNOTATIONS_ACTIVITYNET &&
        !tsl_json_fields_object (json_node_get_object (root), "database", TRUE, name, "",
                                 &videos, error))
        return NULL;

    g_autoptr (GList) ids = json_object_get_members (videos); /* member order */
    for (GList *l = ids; l != NULL; l = l->next) {
        const char *video_id = l->data;
        JsonNode *node = json_object_get_member (videos, video_id);
        gboolean ok = format == TSL_ANNOTATIONS_ACTIVITYNET
                          ? read_activitynet_video (ann, video_id, node, error)
                          : read_perception_test_video (ann, video_id, node,
                                                        task ? task : DEFAULT_TASK, error);
        if (!ok)
            return NULL;
    }
    return g_steal_pointer (&ann);
}

TslAnnotations *
tsl_annotations_parse (const char *text, size_t len, const char *name,
                       TslAnnotationsFormat format, const char *task, GError **error)
{
    g_autoptr (JsonParser) parser =
        tsl_json_fields_parse (text, len, name, ANNOTATIONS_MAX_DEPTH, error);

    if (parser == NULL)
        return NULL;
    return annotations_from_root (json_parser_get_root (parser), name, format, task, error);
}

static TslAnnotations *
load (const char *path, gboolean detect, TslAnnotationsFormat format, const char *task,
      GError **error)
{
    g_autoptr (GBytes) bytes = tsl_file_map (path, error);
    g_autoptr (JsonParser) parser = NULL;
    size_t len;

    if (bytes == NULL)
        return NULL;
    const char *text = g_bytes_get_data (bytes, &len);
    parser = tsl_json_fields_parse (text, len, path, ANNOTATIONS_MAX_DEPTH, error);
    if (parser == NULL)
        return NULL;
    JsonNode *root = json_parser_get_root (parser);
    if (detect) {
        /* ActivityNet files have a "database" object at the top */
        JsonNode *database = JSON_NODE_HOLDS_OBJECT (root)
                                 ? json_object_get_member (json_node_get_object (root), "database")
                                 : NULL;
        format = database != NULL && JSON_NODE_HOLDS_OBJECT (database)
                     ? TSL_ANNOTATIONS_ACTIVITYNET
                     : TSL_ANNOTATIONS_PERCEPTION_TEST;
    }
    return annotations_from_root (root, path, format, task, error);
}

TslAnnotations *
tsl_annotations_load_perception_test (const char *path, const char *task, GError **error)
{
    return load (path, FALSE, TSL_ANNOTATIONS_PERCEPTION_TEST, task, error);
}

TslAnnotations *
tsl_annotations_load_activitynet (const char *path, GError **error)
{
    return load (path, FALSE, TSL_ANNOTATIONS_ACTIVITYNET, NULL, error);
}

TslAnnotations *
tsl_annotations_load (const char *path, GError **error)
{
    return load (path, TRUE, TSL_ANNOTATIONS_PERCEPTION_TEST, NULL, error);
}

/* ---- queries ---- */

const TslAnnotationVideo *
tsl_annotations_find (const TslAnnotations *ann, const char *video_id)
{
    return g_hash_table_lookup (ann->by_id, video_id);
}

gboolean
tsl_annotation_video_in_split (const TslAnnotationVideo *video, const char *split)
{
    return split == NULL || g_ascii_strcasecmp (video->split, split) == 0;
}

const char *
tsl_annotations_label_name (const TslAnnotations *ann, int label_id)
{
    for (guint v = 0; v < ann->videos->len; v++) {
        const TslAnnotationVideo *video = g_ptr_array_index (ann->videos, v);
        for (guint i = 0; i < video->segments->len; i++) {
            const TslAnnotationSegment *seg =
                &g_array_index (video->segments, TslAnnotationSegment, i);
            if (seg->label_id == label_id)
                return seg->label;
        }
    }
    return NULL;
}
