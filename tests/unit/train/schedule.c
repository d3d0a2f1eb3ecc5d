/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * schedule.c: the learning-rate schedule against the official recursion
 * restated by make-schedule-fixture.py (schedule-fixture.h), to 1e-12
 * relative over whole runs, plus the AF3 rate after three steps and the
 * configuration errors.
 */
#include <math.h>
#include <string.h>

#include "schedule-fixture.h"
#include "train/schedule.h"

typedef struct {
    const char *name;
    TslScheduleType type;
    double lr;
    int epochs, warmup_epochs, iters;
    int steps[4];
    int n_steps;
    double gamma;
    const double *expected;
    int n_expected;
} ScheduleCase;

static const ScheduleCase cases[] = {
    { "af3", TSL_SCHEDULE_COSINE, 1e-3, 5, 1, 2, { 0 }, 0, 0.1, schedule_fixture_af3,
      G_N_ELEMENTS (schedule_fixture_af3) },
    { "cosine_long", TSL_SCHEDULE_COSINE, 1e-4, 30, 5, 37, { 0 }, 0, 0.1,
      schedule_fixture_cosine_long, G_N_ELEMENTS (schedule_fixture_cosine_long) },
    { "cosine_w1", TSL_SCHEDULE_COSINE, 3e-3, 3, 1, 1, { 0 }, 0, 0.1, schedule_fixture_cosine_w1,
      G_N_ELEMENTS (schedule_fixture_cosine_w1) },
    { "multistep", TSL_SCHEDULE_MULTISTEP, 1e-3, 12, 2, 7, { 3, 5, 5, 9 }, 4, 0.5,
      schedule_fixture_multistep, G_N_ELEMENTS (schedule_fixture_multistep) },
};

static void
test_run (gconstpointer data)
{
    const ScheduleCase *c = data;
    g_autoptr (GError) error = NULL;
    TslScheduleConfig config;
    TslSchedule s;
    g_assert_true (tsl_schedule_config_from_epochs (&config, c->type, c->lr, c->epochs,
                                                    c->warmup_epochs, c->iters, c->steps,
                                                    c->n_steps, c->gamma, &error));
    g_assert_no_error (error);
    g_assert_true (tsl_schedule_init (&s, &config, &error));
    /* the recursion is the same arithmetic: only libm differences could remain */
    const double rel_tol = 1e-12;
    int bad = 0;
    for (int e = 0; e < c->n_expected; e++) {
        if (e > 0)
            tsl_schedule_step (&s);
        g_assert_cmpint (s.step, ==, e);
        double ref = c->expected[e];
        if (fabs (s.lr - ref) > rel_tol * fabs (ref) && bad++ < 5)
            g_test_message ("%s: step %d: lr %.17g, expected %.17g", c->name, e, s.lr, ref);
    }
    g_assert_cmpint (bad, ==, 0);
    /* resuming replays the same recursion */
    TslSchedule resumed = s;
    tsl_schedule_seek (&resumed, c->n_expected / 2);
    g_assert_cmpfloat (resumed.lr, ==, c->expected[c->n_expected / 2]);
}

static void
test_af3_golden (void)
{
    TslScheduleConfig config;
    TslSchedule s;
    g_assert_true (tsl_schedule_config_from_epochs (&config, TSL_SCHEDULE_COSINE, 1e-3, 5, 1, 2,
                                                    NULL, 0, 0.1, NULL));
    g_assert_true (tsl_schedule_init (&s, &config, NULL));
    g_assert_cmpfloat (s.lr, ==, 0.0);
    double used[3];
    for (int i = 0; i < 3; i++) {
        used[i] = s.lr;
        tsl_schedule_step (&s);
    }
    /* official values (golden af3_steps.json): rates used by steps 1-3, rate after step 3 */
    g_assert_cmpfloat (used[0], ==, 0.0);
    g_assert_cmpfloat (used[1], ==, 0.001);
    g_assert_cmpfloat (used[2], ==, 0.001);
    g_assert_cmpfloat (fabs (s.lr - 0.0009755285028649954), <=, 1e-12 * 0.0009755285028649954);
}

static void
test_config_errors (void)
{
    TslScheduleConfig config;
    g_autoptr (GError) error = NULL;
    g_assert_false (tsl_schedule_config_from_epochs (&config, TSL_SCHEDULE_COSINE, 1e-3, 5, 0, 2,
                                                     NULL, 0, 0.1, &error));
    g_assert_error (error, TSL_ERROR, TSL_ERROR_CONFIG);
    g_assert_nonnull (strstr (error->message, "warmup_epochs"));
    g_clear_error (&error);
    g_assert_false (tsl_schedule_config_from_epochs (&config, TSL_SCHEDULE_COSINE, 1e-3, 0, 1, 2,
                                                     NULL, 0, 0.1, &error));
    g_assert_nonnull (strstr (error->message, "opt.epochs"));
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autofree char *path = g_strdup_printf ("/train/schedule/%s", cases[i].name);
        g_test_add_data_func (path, &cases[i], test_run);
    }
    g_test_add_func ("/train/schedule/af3-golden", test_af3_golden);
    g_test_add_func ("/train/schedule/config-errors", test_config_errors);
    return g_test_run ();
}
