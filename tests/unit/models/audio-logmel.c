/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests libtsl/models/audio/fft.c and logmel.c against direct
 * double-precision computations written here from the definitions:
 *
 * - the real FFT against the DFT sum X[k] = sum x[t] e^{-2 pi i k t / n}
 *   (evaluated with angles reduced mod n), for n = 2 .. 4096, including
 *   the special packing cases n = 2 and 4; and non powers of two refused;
 * - the filterbank against tf.signal.linear_to_mel_weight_matrix's
 *   formula (HTK mel, triangles in mel space, DC row zero);
 * - the frame counts of pad_end and of exact framing;
 * - the log-mel of random waveforms against window -> direct DFT ->
 *   |X| or |X|^2 -> mel sum -> log, for DMVR's defaults (48 kHz, 2048 /
 *   1024, 80 mel), a window shorter than the FFT (zero padding), the power
 *   spectrogram, framing without pad_end, and a waveform shorter than one
 *   frame; the batch layout is checked by giving each window its own
 *   waveform.
 * Tolerances: the FFT is double against double (1e-9 of the spectrum's
 * scale); the log-mel output is float32 of a double computation whose
 * weights are rounded to float32 (relative 6e-8), so 1e-5 absolute on
 * values of about -14 .. 5.
 */
#include <math.h>
#include <string.h>

#include "testutil.h"
#include "error.h"
#include "models/audio/fft.h"
#include "models/audio/logmel.h"

/* ---- FFT ---- */

static const int fft_sizes[] = { 2, 4, 8, 16, 64, 256, 512, 2048, 4096 };

static void
test_fft (gconstpointer data)
{
    const int n = *(const int *) data;
    g_autoptr (TslRfft) plan = tsl_rfft_new (n);
    g_autofree double *x = g_new (double, n);
    g_autofree double *spectrum = g_new (double, n + 2);
    g_autofree double *scratch = g_new (double, n);
    g_autofree double *ref = g_new (double, n + 2);
    double scale = 0.0, max_diff = 0.0;
    TslTestRng rng;

    g_assert_nonnull (plan);
    g_assert_cmpint (tsl_rfft_length (plan), ==, n);
    tsl_test_rng_init (&rng, 31 + n);
    for (int t = 0; t < n; t++)
        x[t] = tsl_test_rng_normal (&rng);
    for (int k = 0; k <= n / 2; k++) {
        double re = 0.0, im = 0.0;
        for (int t = 0; t < n; t++) {
            const double angle = 2.0 * G_PI * (double) (((long) k * t) % n) / n;
            re += x[t] * cos (angle);
            im -= x[t] * sin (angle);
        }
        ref[2 * k] = re;
        ref[2 * k + 1] = im;
        scale = MAX (scale, hypot (re, im));
    }
    tsl_rfft_forward (plan, spectrum, x, scratch);
    for (int i = 0; i < n + 2; i++)
        max_diff = MAX (max_diff, fabs (spectrum[i] - ref[i]));
    g_test_message ("n %d: max abs diff %.3g, spectrum scale %.3g", n, max_diff, scale);
    g_assert_cmpfloat (max_diff, <=, 1e-9 * scale);
}

static void
test_fft_sizes (void)
{
    g_assert_null (tsl_rfft_new (0));
    g_assert_null (tsl_rfft_new (1));
    g_assert_null (tsl_rfft_new (400));
    g_assert_null (tsl_rfft_new (-8));
}

/* ---- reference front end ---- */

static double
mel_of (double hz)
{
    return 1127.0 * log (1.0 + hz / 700.0);
}

/* W[k, m] as tf.signal.linear_to_mel_weight_matrix defines it */
static double
reference_weight (const TslLogmelConfig *c, int k, int m)
{
    const int n_bins = c->fft_length / 2 + 1;
    const double lo = mel_of (c->lower_edge_hertz), hi = mel_of (c->upper_edge_hertz);
    const double step = (hi - lo) / (c->num_mel_bins + 1);
    const double left = lo + m * step, centre = lo + (m + 1) * step, right = lo + (m + 2) * step;
    const double mel = mel_of (c->sample_rate / 2.0 * k / (n_bins - 1));

    if (k == 0)
        return 0.0;
    return MAX (0.0, MIN ((mel - left) / (centre - left), (right - mel) / (right - centre)));
}

static int
reference_frames (const TslLogmelConfig *c, int N)
{
    int f = 0;

    if (c->pad_end) {
        while ((long) f * c->frame_step < N)
            f++;
        return f;
    }
    while ((long) f * c->frame_step + c->frame_length <= N)
        f++;
    return f;
}

static void
reference_logmel (const TslLogmelConfig *c, double *out /* [F, mel] */, const float *wave,
                  int N)
{
    const int F = reference_frames (c, N), n_bins = c->fft_length / 2 + 1;
    double *spec = g_new (double, n_bins);

    for (int f = 0; f < F; f++) {
        for (int k = 0; k < n_bins; k++) {
            double re = 0.0, im = 0.0;
            /* samples from frame_length to fft_length are the zero padding */
            for (int t = 0; t < c->frame_length; t++) {
                const int i = f * c->frame_step + t;
                const double w = 0.5 - 0.5 * cos (2.0 * G_PI * t / c->frame_length);
                const double v = i < N ? wave[i] * w : 0.0;
                const double angle = 2.0 * G_PI * (double) (((long) k * t) % c->fft_length) /
                                     c->fft_length;
                re += v * cos (angle);
                im -= v * sin (angle);
            }
            spec[k] = re * re + im * im;
            if (c->spectrogram == TSL_SPECTROGRAM_MAGNITUDE)
                spec[k] = sqrt (spec[k]);
        }
        for (int m = 0; m < c->num_mel_bins; m++) {
            double mel = 0.0;
            for (int k = 0; k < n_bins; k++)
                mel += spec[k] * reference_weight (c, k, m);
            out[(size_t) f * c->num_mel_bins + m] = log (mel + c->log_offset);
        }
    }
    g_free (spec);
}

/* ---- log-mel cases ---- */

typedef struct {
    const char *name;
    TslLogmelConfig cfg;
    int B, N;
} LogmelCase;

#define DMVR_DEFAULTS \
    48000, 2048, 1024, 2048, TRUE, 80, 80.0, 7600.0, TSL_SPECTROGRAM_MAGNITUDE, 1e-6

static const LogmelCase logmel_cases[] = {
    /* DMVR's defaults; 6000 samples: 6 frames, the last 5/6 padding */
    { "dmvr", { DMVR_DEFAULTS }, 2, 6000 },
    /* 25 ms window in a 512-point FFT at 16 kHz, power, pad_end */
    { "short-window-power",
      { 16000, 400, 160, 512, TRUE, 40, 125.0, 7500.0, TSL_SPECTROGRAM_POWER, 0.01 }, 3, 3001 },
    /* exact framing: frames that would run past the end are dropped */
    { "no-pad-end",
      { 8000, 200, 80, 256, FALSE, 16, 60.0, 3800.0, TSL_SPECTROGRAM_MAGNITUDE, 1e-6 }, 2, 999 },
    /* one short waveform: a single, mostly padded frame */
    { "shorter-than-frame",
      { 8000, 200, 80, 256, TRUE, 8, 0.0, 4000.0, TSL_SPECTROGRAM_MAGNITUDE, 1e-6 }, 1, 37 },
};

static void
test_logmel (gconstpointer data)
{
    const LogmelCase *c = data;
    const int mel = c->cfg.num_mel_bins;
    g_autoptr (GError) error = NULL;
    g_autoptr (TslLogmel) lm = tsl_logmel_new (&c->cfg, &error);
    TslTestRng rng;

    g_assert_no_error (error);
    const int F = tsl_logmel_n_frames (lm, c->N);
    g_assert_cmpint (F, ==, reference_frames (&c->cfg, c->N));
    g_assert_cmpint (F, >, 0);
    g_autofree float *waves = g_new (float, (size_t) c->B * c->N);
    g_autofree double *ref = g_new (double, (size_t) c->B * F * mel);
    float *out = tsl_test_alloc_guarded ((size_t) c->B * F * mel);

    tsl_test_rng_init (&rng, 99 + c->N);
    for (int b = 0; b < c->B; b++) {
        float *wave = waves + (size_t) b * c->N;
        const double hz = 300.0 * (b + 1);
        for (int t = 0; t < c->N; t++)
            wave[t] = (float) (0.5 * sin (2.0 * G_PI * hz * t / c->cfg.sample_rate) +
                               0.1 * tsl_test_rng_normal (&rng));
        reference_logmel (&c->cfg, ref + (size_t) b * F * mel, wave, c->N);
    }
    tsl_logmel_compute (lm, out, waves, c->B, c->N);
    tsl_test_check_close ("logmel", out, ref, (size_t) c->B * F * mel, 1e-5, 0.0);
    tsl_test_free_guarded ("logmel out", out, (size_t) c->B * F * mel);
}

static void
test_filterbank (void)
{
    const TslLogmelConfig cfg = { DMVR_DEFAULTS };
    g_autoptr (TslLogmel) lm = tsl_logmel_new (&cfg, NULL);
    const int n_bins = cfg.fft_length / 2 + 1;
    g_autofree double *ref = g_new (double, (size_t) n_bins * cfg.num_mel_bins);

    for (int k = 0; k < n_bins; k++)
        for (int m = 0; m < cfg.num_mel_bins; m++)
            ref[(size_t) k * cfg.num_mel_bins + m] = reference_weight (&cfg, k, m);
    tsl_test_check_close ("filterbank", tsl_logmel_weights (lm), ref,
                          (size_t) n_bins * cfg.num_mel_bins, 1e-7, 1e-6);
}

static void
test_bad_config (void)
{
    static const struct {
        int frame_length, fft_length;
        double lower, upper;
    } bad[] = {
        { 400, 400, 80.0, 7600.0 },    /* not a power of two */
        { 600, 512, 80.0, 7600.0 },    /* FFT shorter than the window */
        { 512, 512, 8000.0, 7600.0 },  /* empty frequency range */
        { 512, 512, 80.0, 30000.0 },   /* above Nyquist */
    };

    for (size_t i = 0; i < G_N_ELEMENTS (bad); i++) {
        TslLogmelConfig cfg = { DMVR_DEFAULTS };
        g_autoptr (GError) error = NULL;

        cfg.frame_length = bad[i].frame_length;
        cfg.fft_length = bad[i].fft_length;
        cfg.lower_edge_hertz = bad[i].lower;
        cfg.upper_edge_hertz = bad[i].upper;
        g_assert_null (tsl_logmel_new (&cfg, &error));
        g_assert_error (error, TSL_ERROR, TSL_ERROR_CONFIG);
    }
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS (fft_sizes); i++) {
        g_autofree char *path = g_strdup_printf ("/audio/fft/%d", fft_sizes[i]);
        g_test_add_data_func (path, &fft_sizes[i], test_fft);
    }
    g_test_add_func ("/audio/fft/refused", test_fft_sizes);
    g_test_add_func ("/audio/logmel/filterbank", test_filterbank);
    g_test_add_func ("/audio/logmel/bad-config", test_bad_config);
    for (size_t i = 0; i < G_N_ELEMENTS (logmel_cases); i++) {
        g_autofree char *path = g_strdup_printf ("/audio/logmel/%s", logmel_cases[i].name);
        g_test_add_data_func (path, &logmel_cases[i], test_logmel);
    }
    return g_test_run ();
}
