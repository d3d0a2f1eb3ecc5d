/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * gsttslbackend.c: see gsttslbackend.h.
 */
#include "gsttslbackend.h"

#include "error.h"

GType
gst_tsl_backend_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_TSL_BACKEND_AUTO, "CUDA when a GPU is present, else CPU", "auto"},
    {GST_TSL_BACKEND_CPU, "CPU (OpenBLAS + OpenMP)", "cpu"},
    {GST_TSL_BACKEND_CUDA, "CUDA GPU", "cuda"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstTslBackend", values));
  return type;
}

const gchar *
gst_tsl_backend_to_string (GstTslBackend backend)
{
  static const gchar *names[] = { "auto", "cpu", "cuda" };

  g_return_val_if_fail (backend <= GST_TSL_BACKEND_CUDA, "auto");
  return names[backend];
}

void
gst_tsl_backend_post_load_error (GstElement * element, const GError * error)
{
  if (g_error_matches (error, TSL_ERROR, TSL_ERROR_IO))
    GST_ELEMENT_ERROR (element, RESOURCE, NOT_FOUND, ("%s", error->message), (NULL));
  else
    GST_ELEMENT_ERROR (element, LIBRARY, INIT, ("%s", error->message), (NULL));
}
