/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * tslmeta.c: tests of the GstTslEventMeta API (plugins/gsttslmeta.c):
 * one registration, add / get with the values and an owned label, argument
 * checks, and the copy transform (whole, region, onto a buffer that
 * already carries the meta).
 */
#include <gst/gst.h>
#include <string.h>

#include "gsttslmeta.h"

static guint
count_event_metas (GstBuffer *buf)
{
  gpointer state = NULL;
  GstMeta *meta;
  guint n = 0;

  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state, GST_TSL_EVENT_META_API_TYPE)))
    n++;
  return n;
}

static void
check_meta (GstBuffer *buf, const gchar *label, gint label_id, gdouble score,
    GstClockTime start, GstClockTime end)
{
  GstTslEventMeta *meta = gst_buffer_get_tsl_event_meta (buf);

  g_assert_nonnull (meta);
  g_assert_cmpstr (meta->label, ==, label);
  g_assert_cmpint (meta->label_id, ==, label_id);
  g_assert_cmpfloat (meta->score, ==, score);
  g_assert_cmpuint (meta->start, ==, start);
  g_assert_cmpuint (meta->end, ==, end);
  g_assert_cmpuint (count_event_metas (buf), ==, 1);
}

static void
test_registration (void)
{
  const GType api = gst_tsl_event_meta_api_get_type ();
  const gchar *const *tags = gst_meta_api_type_get_tags (api);

  g_assert_cmpuint (api, !=, 0);
  g_assert_cmpuint (gst_tsl_event_meta_api_get_type (), ==, api);
  g_assert_cmpuint (g_type_from_name ("GstTslEventMetaAPI"), ==, api);
  g_assert_true (tags == NULL || tags[0] == NULL);
  g_assert_nonnull (gst_tsl_event_meta_get_info ());
  g_assert_true (gst_tsl_event_meta_get_info () == gst_tsl_event_meta_get_info ());
  g_assert_true (gst_meta_get_info ("GstTslEventMeta") == gst_tsl_event_meta_get_info ());
  g_assert_cmpuint (gst_tsl_event_meta_get_info ()->api, ==, api);
}

static void
test_add_get (void)
{
  GstBuffer *buf = gst_buffer_new ();
  gchar label[] = "siren";
  GstTslEventMeta *meta;

  g_assert_null (gst_buffer_get_tsl_event_meta (buf));
  meta = gst_buffer_add_tsl_event_meta (buf, label, 3, 0.75, 2 * GST_SECOND, 5 * GST_SECOND);
  g_assert_nonnull (meta);
  g_assert_true (gst_buffer_get_tsl_event_meta (buf) == meta);
  /* the meta owns a copy of the label */
  g_assert_true (meta->label != label);
  label[0] = 'S';
  check_meta (buf, "siren", 3, 0.75, 2 * GST_SECOND, 5 * GST_SECOND);

  /* a zero-length event is valid */
  gst_buffer_unref (buf);
  buf = gst_buffer_new ();
  g_assert_nonnull (gst_buffer_add_tsl_event_meta (buf, "", 0, 0.0, 0, 0));
  check_meta (buf, "", 0, 0.0, 0, 0);
  gst_buffer_unref (buf);
}

static void
expect_refused (GstBuffer *buf, const gchar *pattern, const gchar *label, gint label_id,
    GstClockTime start, GstClockTime end)
{
  g_test_expect_message (NULL, G_LOG_LEVEL_CRITICAL, pattern);
  g_assert_null (gst_buffer_add_tsl_event_meta (buf, label, label_id, 0.5, start, end));
  g_test_assert_expected_messages ();
}

static void
test_argument_checks (void)
{
  GstBuffer *buf = gst_buffer_new ();
  GstBuffer *shared;

  expect_refused (buf, "*label != NULL*", NULL, 0, 0, GST_SECOND);
  expect_refused (buf, "*label_id >= 0*", "x", -1, 0, GST_SECOND);
  expect_refused (buf, "*GST_CLOCK_TIME_IS_VALID (start)*", "x", 0, GST_CLOCK_TIME_NONE,
      GST_SECOND);
  expect_refused (buf, "*GST_CLOCK_TIME_IS_VALID (end)*", "x", 0, 0, GST_CLOCK_TIME_NONE);
  expect_refused (buf, "*end >= start*", "x", 0, 2 * GST_SECOND, GST_SECOND);
  shared = gst_buffer_ref (buf);
  expect_refused (buf, "*gst_buffer_is_writable*", "x", 0, 0, GST_SECOND);
  gst_buffer_unref (shared);
  g_assert_cmpuint (count_event_metas (buf), ==, 0);
  gst_buffer_unref (buf);
}

static void
test_copies (void)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, 16, NULL);
  GstBuffer *copy, *region, *deep, *dest;

  gst_buffer_add_tsl_event_meta (buf, "dog", 1, 0.5, GST_SECOND, 3 * GST_SECOND);

  copy = gst_buffer_copy (buf);
  check_meta (copy, "dog", 1, 0.5, GST_SECOND, 3 * GST_SECOND);
  g_assert_true (gst_buffer_get_tsl_event_meta (copy)->label !=
      gst_buffer_get_tsl_event_meta (buf)->label);
  deep = gst_buffer_copy_deep (buf);
  check_meta (deep, "dog", 1, 0.5, GST_SECOND, 3 * GST_SECOND);
  region = gst_buffer_copy_region (buf, GST_BUFFER_COPY_ALL, 4, 8);
  check_meta (region, "dog", 1, 0.5, GST_SECOND, 3 * GST_SECOND);

  /* copying onto a buffer that has an event meta replaces its values */
  dest = gst_buffer_new ();
  gst_buffer_add_tsl_event_meta (dest, "cat", 0, 0.9, 0, GST_SECOND);
  g_assert_true (gst_buffer_copy_into (dest, buf, GST_BUFFER_COPY_META, 0, -1));
  check_meta (dest, "dog", 1, 0.5, GST_SECOND, 3 * GST_SECOND);

  /* the original is untouched by freeing the copies */
  gst_buffer_unref (copy);
  gst_buffer_unref (deep);
  gst_buffer_unref (region);
  gst_buffer_unref (dest);
  check_meta (buf, "dog", 1, 0.5, GST_SECOND, 3 * GST_SECOND);
  gst_buffer_unref (buf);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);

  g_test_add_func ("/tslmeta/registration", test_registration);
  g_test_add_func ("/tslmeta/add-get", test_add_get);
  g_test_add_func ("/tslmeta/argument-checks", test_argument_checks);
  g_test_add_func ("/tslmeta/copies", test_copies);
  return g_test_run ();
}
