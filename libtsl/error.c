/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * error.c: the TSL_ERROR quark.
 */
#include "error.h"

G_DEFINE_QUARK (tsl-error-quark, tsl_error)
