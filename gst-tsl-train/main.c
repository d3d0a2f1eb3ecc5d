/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * main.c: gst-tsl-train, the command-line tool that trains, evaluates and
 * runs gst-tsl models with the same libtsl kernels as the elements.
 * This file dispatches subcommands; each lives in a file of its own.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "tsl-build-config.h"

typedef struct {
    const char *name;
    const char *summary;
    int (*run) (int argc, char **argv);
} Command;

static const Command commands[] = {
    { "encode", "run a video or audio encoder on preprocessed inputs and write the features",
      tsl_train_command_encode },
    { "eval", "score predictions against annotations with the Perception Test detection mAP",
      tsl_train_command_eval },
    { "extract", "decode media files and write their video and audio features for training",
      tsl_train_command_extract },
    { "fit", "train an ActionFormer model on annotated features", tsl_train_command_fit },
    { "info", "print a .safetensors file's metadata and tensors, or a .npy file's dtype and shape",
      tsl_train_command_info },
    { "predict", "find sound events in one video's features with an ActionFormer model",
      tsl_train_command_predict },
};

static void
print_help (FILE *out)
{
    fprintf (out,
             "Usage: gst-tsl-train COMMAND [OPTION...]\n"
             "\n"
             "Trains, evaluates and runs temporal sound localisation models (gst-tsl %s).\n"
             "\n"
             "Commands:\n",
             TSL_VERSION);
    for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
        fprintf (out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf (out, "\n'gst-tsl-train COMMAND --help' describes a command's options.\n");
}

int
main (int argc, char **argv)
{
    if (argc < 2) {
        print_help (stderr);
        return 2;
    }
    if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") ||
        g_str_equal (argv[1], "help")) {
        print_help (stdout);
        return 0;
    }
    if (g_str_equal (argv[1], "--version")) {
        printf ("gst-tsl-train %s\n", TSL_VERSION);
        return 0;
    }
    for (guint i = 0; i < G_N_ELEMENTS (commands); i++) {
        if (g_str_equal (argv[1], commands[i].name))
            return commands[i].run (argc - 1, argv + 1);
    }
    fprintf (stderr, "gst-tsl-train: unknown command '%s'\n\n", argv[1]);
    print_help (stderr);
    return 2;
}
