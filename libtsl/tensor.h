/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * tensor.h: float32 tensors of up to 4 dimensions, row-major, living in the
 * memory of one backend (host or CUDA), and arenas that hand out tensors
 * from one block so that steady-state processing allocates nothing.
 *
 * A tensor either owns its data (tsl_tensor_new, freed by tsl_tensor_free)
 * or borrows it (from an arena or a mapped file; tsl_tensor_free then only
 * frees the struct).
 */
#pragma once

#include "backend.h"

G_BEGIN_DECLS

#define TSL_MAX_DIMS 4

typedef struct {
    float *data;              /* [shape...] device memory of `be` */
    int ndim;                 /* 0 .. TSL_MAX_DIMS (0 = scalar, one element) */
    int shape[TSL_MAX_DIMS];
    TslBackend *be;           /* owner of the memory (not referenced) */
    gboolean owns_data;
} TslTensor;

size_t tsl_shape_numel (int ndim, const int *shape);
size_t tsl_tensor_numel (const TslTensor *t);
/* "[2, 40, 256]"; free with g_free */
char *tsl_shape_to_string (int ndim, const int *shape);

TslTensor *tsl_tensor_new (TslBackend *be, int ndim, const int *shape, GError **error);
void tsl_tensor_free (TslTensor *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TslTensor, tsl_tensor_free)

/* TRUE when t has exactly this shape; else a TSL_ERROR_SHAPE error that
 * names `what` and both shapes. */
gboolean tsl_tensor_check_shape (const TslTensor *t, const char *what, int ndim, const int *shape,
                                 GError **error);

/* ---- arenas ---- */

typedef struct {
    TslBackend *be;
    char *base;        /* device memory, 256-byte aligned */
    size_t capacity;   /* bytes */
    size_t used;       /* bytes handed out since the last reset */
    size_t high_water; /* largest `used` seen */
} TslArena;

gboolean tsl_arena_init (TslArena *arena, TslBackend *be, size_t capacity, GError **error);
void tsl_arena_clear (TslArena *arena);
/* n floats, 256-byte aligned; NULL with TSL_ERROR_SHAPE when full. */
float *tsl_arena_alloc (TslArena *arena, size_t n, GError **error);
/* Fills *t (a struct the caller keeps, e.g. in an activations struct) with
 * a tensor borrowing arena memory. */
gboolean tsl_arena_tensor (TslArena *arena, TslTensor *t, int ndim, const int *shape,
                           GError **error);
/* Everything handed out becomes free again; memory is kept. */
void tsl_arena_reset (TslArena *arena);

G_END_DECLS
