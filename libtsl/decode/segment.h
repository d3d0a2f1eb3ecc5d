/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * decode/segment.h: one detected event, the record every decode stage reads
 * and writes.
 *
 * Times are feature-grid units (index of the level-0 feature vector) from
 * candidate selection through NMS, and seconds after
 * tsl_decode_grid_to_seconds(); each function says which. Arrays of segments
 * are plain C arrays with a count, or a GArray of TslSegment where a stage
 * appends.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
    float start; /* grid units or seconds */
    float end;   /* grid units or seconds */
    float score; /* sigmoid probability, decayed by soft-NMS */
    int label;   /* class index, 0 .. K-1 */
} TslSegment;

G_END_DECLS
