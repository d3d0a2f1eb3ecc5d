/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * commands.h: the subcommands of gst-tsl-train. Each takes its own argv
 * (argv[0] = the command name) and returns the process exit status.
 */
#pragma once

#include <glib.h>

int tsl_train_command_encode (int argc, char **argv);
int tsl_train_command_eval (int argc, char **argv);
int tsl_train_command_extract (int argc, char **argv);
int tsl_train_command_fit (int argc, char **argv);
int tsl_train_command_info (int argc, char **argv);
int tsl_train_command_predict (int argc, char **argv);
