/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * info.c: `gst-tsl-train info FILE`.
 */
#include <stdio.h>

#include "commands.h"

int
tsl_train_command_info (int argc, char **argv)
{
    fprintf (stderr, "gst-tsl-train info: the file readers are not built yet\n");
    return 1;
}
