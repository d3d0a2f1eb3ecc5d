/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * gsttslscores.c: size and parsing of an application/x-tsl-scores buffer,
 * the layout described in gsttslscores.h.
 *
 * Parsing trusts nothing in the buffer: the version, 1 .. 16 levels,
 * K >= 1 classes, T_l >= 1 points and stride_l >= 1 per level, every
 * product and sum of sizes computed with overflow checks, and per level
 * (K + 3) * T_l and T_l * stride_l within gint32, because the decoding
 * functions take int sizes and int grid positions. The window must hold
 * 0 <= valid_len <= T_0 * stride_0 features, the commit range must lie in
 * it (0 <= commit_start <= commit_end <= valid_len), and the window must
 * end within the stream (stream_offset + valid_len <= stream_len). The
 * buffer's size must be exactly the size of its header and arrays, and the
 * data must be aligned for the header (mapped GstMemory always is).
 */
#include "gsttslscores.h"

/* floats of one level: cls_logits [K, T], offsets [2, T], mask [T] */
static gboolean
level_floats (gint32 num_classes, const GstTslScoresLevel *level, gsize *n_floats)
{
  gsize per_point = (gsize) num_classes + 3;

  if (num_classes < 1 || level->T < 1 || level->stride < 1)
    return FALSE;
  if (per_point * (gsize) level->T > G_MAXINT32)
    return FALSE;
  if ((gsize) level->T * (gsize) level->stride > G_MAXINT32)
    return FALSE;
  *n_floats = per_point * (gsize) level->T;
  return TRUE;
}

/* Bytes of the header and every level's arrays; FALSE on a bad count or
 * an overflow. */
static gboolean
scores_size_checked (const GstTslScoresHeader *header, gsize *size)
{
  gsize total = sizeof (GstTslScoresHeader);

  if (header->n_levels < 1 || header->n_levels > GST_TSL_SCORES_MAX_LEVELS)
    return FALSE;
  for (gint l = 0; l < header->n_levels; l++) {
    gsize n_floats, bytes;

    if (!level_floats (header->num_classes, &header->levels[l], &n_floats))
      return FALSE;
    if (!g_size_checked_mul (&bytes, n_floats, sizeof (float)))
      return FALSE;
    if (!g_size_checked_add (&total, total, bytes))
      return FALSE;
  }
  *size = total;
  return TRUE;
}

/* Bytes of a scores buffer with these levels; 0 when the header's counts
 * are invalid or the size overflows. */
gsize
gst_tsl_scores_size (const GstTslScoresHeader *header)
{
  gsize size;

  g_return_val_if_fail (header != NULL, 0);

  return scores_size_checked (header, &size) ? size : 0;
}

static gboolean
window_is_consistent (const GstTslScoresHeader *header)
{
  const GstTslScoresLevel *level0 = &header->levels[0];

  if (header->valid_len < 0 || header->valid_len > (gint64) level0->T * level0->stride)
    return FALSE;
  if (header->commit_start < 0 || header->commit_start > header->commit_end ||
      header->commit_end > header->valid_len)
    return FALSE;
  if (header->stream_offset > header->stream_len ||
      (guint64) header->valid_len > header->stream_len - header->stream_offset)
    return FALSE;
  return TRUE;
}

gboolean
gst_tsl_scores_parse (const guint8 *data, gsize size, const GstTslScoresHeader **header,
    const float *cls_logits[GST_TSL_SCORES_MAX_LEVELS],
    const float *offsets[GST_TSL_SCORES_MAX_LEVELS],
    const float *mask[GST_TSL_SCORES_MAX_LEVELS])
{
  const GstTslScoresHeader *h;
  const float *p;
  gsize expected;

  g_return_val_if_fail (header != NULL, FALSE);

  if (data == NULL || size < sizeof (GstTslScoresHeader))
    return FALSE;
  if ((guintptr) data % G_ALIGNOF (GstTslScoresHeader) != 0)
    return FALSE;
  h = (const GstTslScoresHeader *) data;
  if (h->version != GST_TSL_SCORES_VERSION)
    return FALSE;
  if (!scores_size_checked (h, &expected) || expected != size)
    return FALSE;
  if (!window_is_consistent (h))
    return FALSE;

  p = (const float *) (data + sizeof (GstTslScoresHeader));
  for (gint l = 0; l < h->n_levels; l++) {
    const gsize T = (gsize) h->levels[l].T;

    cls_logits[l] = p;
    p += (gsize) h->num_classes * T;
    offsets[l] = p;
    p += 2 * T;
    mask[l] = p;
    p += T;
  }
  *header = h;
  return TRUE;
}
