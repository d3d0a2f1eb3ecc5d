/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * fuzz-npy.c: libFuzzer target for the .npy reader and writer (io/npy.c).
 *
 * Every input is parsed from memory. A rejected input must come with a
 * TSL_ERROR error; an accepted one is converted to float32, written back
 * with tsl_npy_write_f32 and read again, and must give bit-identical values
 * and the same shape. Crashes, sanitizer reports and leaks are the findings.
 */
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/npy.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define CHECK(cond)                                                               \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf (stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
                     #cond);                                                      \
            abort ();                                                             \
        }                                                                         \
    } while (0)

static char *scratch_path; /* where accepted inputs are written back */

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    g_autoptr (GError) error = NULL;
    g_autofree float *values = NULL, *back = NULL;
    TslNpyInfo info, info_back;
    size_t offset = 0, numel;

    if (scratch_path == NULL) {
        const char *dir = g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) ? "/dev/shm"
                                                                       : g_get_tmp_dir ();
        scratch_path = g_strdup_printf ("%s/tsl-fuzz-npy-%d", dir, (int) getpid ());
    }
    values = tsl_npy_parse_f32 (data, size, "fuzz-input", &info, &error);
    if (values == NULL) {
        CHECK (error != NULL && error->domain == TSL_ERROR);
        CHECK (g_str_has_prefix (error->message, "fuzz-input: "));
        return 0;
    }
    CHECK (tsl_npy_parse_info (data, size, "fuzz-input", &info_back, &offset, &error));
    CHECK (memcmp (&info, &info_back, sizeof info) == 0);
    numel = tsl_npy_info_numel (&info);
    CHECK (offset <= size && size - offset == numel * tsl_dtype_size (info.dtype));

    CHECK (tsl_npy_write_f32 (scratch_path, info.ndim, info.shape, values, &error));
    back = tsl_npy_read_f32 (scratch_path, &info_back, &error);
    CHECK (back != NULL);
    CHECK (info_back.dtype == TSL_DTYPE_F32 && !info_back.fortran_order);
    CHECK (info_back.ndim == info.ndim);
    CHECK (memcmp (info_back.shape, info.shape, sizeof (int64_t) * info.ndim) == 0);
    CHECK (memcmp (back, values, numel * sizeof (float)) == 0);
    g_unlink (scratch_path);
    return 0;
}
