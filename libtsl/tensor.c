/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * tensor.c: tensor shapes, owned tensors, and the bump-pointer arena.
 */
#include "tensor.h"

#include <string.h>

#define TSL_ARENA_ALIGNMENT 256

size_t
tsl_shape_numel (int ndim, const int *shape)
{
    size_t n = 1;

    for (int i = 0; i < ndim; i++)
        n *= (size_t) shape[i];
    return n;
}

size_t
tsl_tensor_numel (const TslTensor *t)
{
    return tsl_shape_numel (t->ndim, t->shape);
}

char *
tsl_shape_to_string (int ndim, const int *shape)
{
    GString *s = g_string_new ("[");

    for (int i = 0; i < ndim; i++)
        g_string_append_printf (s, i ? ", %d" : "%d", shape[i]);
    g_string_append_c (s, ']');
    return g_string_free (s, FALSE);
}

static gboolean
shape_is_valid (int ndim, const int *shape, GError **error)
{
    if (ndim < 0 || ndim > TSL_MAX_DIMS) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE, "tensors have at most %d dimensions, not %d",
                     TSL_MAX_DIMS, ndim);
        return FALSE;
    }
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE, "negative dimension %d in a shape",
                         shape[i]);
            return FALSE;
        }
    }
    return TRUE;
}

TslTensor *
tsl_tensor_new (TslBackend *be, int ndim, const int *shape, GError **error)
{
    TslTensor *t;

    if (!shape_is_valid (ndim, shape, error))
        return NULL;
    t = g_new0 (TslTensor, 1);
    t->ndim = ndim;
    memcpy (t->shape, shape, sizeof (int) * ndim);
    t->be = be;
    t->owns_data = TRUE;
    t->data = tsl_backend_alloc (be, tsl_tensor_numel (t) * sizeof (float), error);
    if (t->data == NULL) {
        g_free (t);
        return NULL;
    }
    return t;
}

void
tsl_tensor_free (TslTensor *t)
{
    if (t == NULL)
        return;
    if (t->owns_data)
        tsl_backend_free_memory (t->be, t->data);
    g_free (t);
}

gboolean
tsl_tensor_check_shape (const TslTensor *t, const char *what, int ndim, const int *shape,
                        GError **error)
{
    if (t->ndim == ndim && memcmp (t->shape, shape, sizeof (int) * ndim) == 0)
        return TRUE;
    g_autofree char *want = tsl_shape_to_string (ndim, shape);
    g_autofree char *got = tsl_shape_to_string (t->ndim, t->shape);
    g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE, "%s: expected shape %s, got %s", what, want,
                 got);
    return FALSE;
}

/* ---- arenas ---- */

gboolean
tsl_arena_init (TslArena *arena, TslBackend *be, size_t capacity, GError **error)
{
    memset (arena, 0, sizeof *arena);
    arena->be = be;
    arena->base = tsl_backend_alloc (be, capacity, error);
    if (arena->base == NULL)
        return FALSE;
    arena->capacity = capacity;
    return TRUE;
}

void
tsl_arena_clear (TslArena *arena)
{
    if (arena->base)
        tsl_backend_free_memory (arena->be, arena->base);
    memset (arena, 0, sizeof *arena);
}

static void *
arena_take (TslArena *arena, size_t bytes, GError **error)
{
    size_t start = (arena->used + TSL_ARENA_ALIGNMENT - 1) / TSL_ARENA_ALIGNMENT * TSL_ARENA_ALIGNMENT;

    if (start > arena->capacity || bytes > arena->capacity - start) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE,
                     "arena full: %zu bytes asked, %zu of %zu in use", bytes, arena->used,
                     arena->capacity);
        return NULL;
    }
    arena->used = start + bytes;
    arena->high_water = MAX (arena->high_water, arena->used);
    return arena->base + start;
}

float *
tsl_arena_alloc (TslArena *arena, size_t n, GError **error)
{
    return arena_take (arena, n * sizeof (float), error);
}

gboolean
tsl_arena_tensor (TslArena *arena, TslTensor *t, int ndim, const int *shape, GError **error)
{
    if (!shape_is_valid (ndim, shape, error))
        return FALSE;
    memset (t, 0, sizeof *t);
    t->ndim = ndim;
    memcpy (t->shape, shape, sizeof (int) * ndim);
    t->be = arena->be;
    t->owns_data = FALSE;
    t->data = tsl_arena_alloc (arena, tsl_tensor_numel (t), error);
    return t->data != NULL;
}

void
tsl_arena_reset (TslArena *arena)
{
    arena->used = 0;
}
