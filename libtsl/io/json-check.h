/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * json-check.h: a strict JSON (RFC 8259) checker run before json-glib
 * builds a tree from untrusted text.
 *
 * json-glib 1.6 accepts more than JSON (comments, single quotes, hex
 * numbers, text after the value), wraps integers beyond 64 bits silently,
 * keeps only the last of two equal object keys, and recurses once per
 * nesting level. Text that passes this check has none of those problems, so
 * json-glib's tree then means exactly what the bytes say.
 */
#pragma once

#include <glib.h>
#include <stddef.h>

#include "../error.h"

G_BEGIN_DECLS

/* TRUE when text[0, len) is one JSON value with optional surrounding
 * whitespace, valid UTF-8, nested at most max_depth arrays/objects deep, with
 * no object holding two equal keys (compared after unescaping), every
 * integer (a number without fraction or exponent) within int64, and no
 * \u0000 escape. Otherwise FALSE and a TSL_ERROR_FORMAT error describing the
 * first problem and its byte offset. */
gboolean tsl_json_check (const char *text, size_t len, int max_depth, GError **error);

G_END_DECLS
