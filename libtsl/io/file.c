/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * file.c: mapping files for reading and replacing them atomically (see
 * file.h). The temporary file lives in the target's directory so that the
 * final rename never crosses a file system.
 */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../error.h"

static gboolean
set_errno_error (GError **error, const char *path, const char *action, int saved_errno)
{
    g_set_error (error, TSL_ERROR, TSL_ERROR_IO, "%s: cannot %s: %s", path, action,
                 g_strerror (saved_errno));
    return FALSE;
}

GBytes *
tsl_file_map (const char *path, GError **error)
{
    g_autoptr (GError) map_error = NULL;
    GMappedFile *mapped;
    GBytes *bytes;
    struct stat info;
    int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);

    if (fd < 0) {
        set_errno_error (error, path, "open", errno);
        return NULL;
    }
    if (fstat (fd, &info) != 0) {
        set_errno_error (error, path, "stat", errno);
        close (fd);
        return NULL;
    }
    if (!S_ISREG (info.st_mode)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_IO, "%s: not a regular file", path);
        close (fd);
        return NULL;
    }
    mapped = g_mapped_file_new_from_fd (fd, FALSE, &map_error);
    close (fd); /* the mapping stays valid */
    if (mapped == NULL) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_IO, "%s: cannot map: %s", path,
                     map_error->message);
        return NULL;
    }
    bytes = g_mapped_file_get_bytes (mapped);
    g_mapped_file_unref (mapped);
    return bytes;
}

gboolean
tsl_atomic_file_begin (TslAtomicFile *file, const char *path, GError **error)
{
    int fd;

    memset (file, 0, sizeof *file);
    file->tmp_path = g_strconcat (path, ".tmp-XXXXXX", NULL);
    /* 0666 before the umask, like any file a program creates */
    fd = g_mkstemp_full (file->tmp_path, O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0) {
        set_errno_error (error, file->tmp_path, "create", errno);
        g_clear_pointer (&file->tmp_path, g_free);
        return FALSE;
    }
    file->stream = fdopen (fd, "wb");
    if (file->stream == NULL) {
        set_errno_error (error, file->tmp_path, "open", errno);
        close (fd);
        tsl_atomic_file_abort (file);
        return FALSE;
    }
    file->path = g_strdup (path);
    return TRUE;
}

gboolean
tsl_atomic_file_write (TslAtomicFile *file, const void *data, size_t n, GError **error)
{
    if (n > 0 && fwrite (data, 1, n, file->stream) != n)
        return set_errno_error (error, file->tmp_path, "write", errno);
    return TRUE;
}

gboolean
tsl_atomic_file_commit (TslAtomicFile *file, GError **error)
{
    FILE *stream = file->stream;

    file->stream = NULL;
    if (fflush (stream) != 0 || fsync (fileno (stream)) != 0) {
        set_errno_error (error, file->tmp_path, "write", errno);
        fclose (stream);
        tsl_atomic_file_abort (file);
        return FALSE;
    }
    if (fclose (stream) != 0) {
        set_errno_error (error, file->tmp_path, "close", errno);
        tsl_atomic_file_abort (file);
        return FALSE;
    }
    if (g_rename (file->tmp_path, file->path) != 0) {
        int saved_errno = errno;
        g_set_error (error, TSL_ERROR, TSL_ERROR_IO, "%s: cannot rename %s over it: %s",
                     file->path, file->tmp_path, g_strerror (saved_errno));
        tsl_atomic_file_abort (file);
        return FALSE;
    }
    g_clear_pointer (&file->path, g_free);
    g_clear_pointer (&file->tmp_path, g_free);
    return TRUE;
}

void
tsl_atomic_file_abort (TslAtomicFile *file)
{
    if (file->stream)
        fclose (file->stream);
    if (file->tmp_path)
        g_unlink (file->tmp_path);
    g_free (file->path);
    g_free (file->tmp_path);
    memset (file, 0, sizeof *file);
}
