/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * ops.c: host-side helpers that go with the op table.
 */
#include "ops.h"

void
tsl_conv2d_same_padding (int in, int k, int stride, int *pad_before, int *out)
{
    int o = (in + stride - 1) / stride;
    int total = MAX ((o - 1) * stride + k - in, 0);

    *out = o;
    *pad_before = total / 2;
}
