/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * logmel.c: the log-mel front end; what it reproduces and every step's
 * source are in logmel.h. The filterbank is stored dense [bins, mel] (as
 * TensorFlow builds it) plus, per mel band, the range of bins with a
 * non-zero weight, which is all the per-frame sum visits.
 */
#include "logmel.h"

#include <math.h>

#include "../../error.h"
#include "fft.h"

struct _TslLogmel {
    TslLogmelConfig cfg;
    int n_bins;            /* fft_length / 2 + 1 */
    TslRfft *fft;
    double *window;        /* [frame_length] periodic Hann */
    float *weights;        /* [n_bins, n_mel] */
    int *band_first;       /* [n_mel] first bin with a non-zero weight */
    int *band_end;         /* [n_mel] one past the last one */
};

/* HTK mel scale, as tf.signal's _hertz_to_mel */
static double
hertz_to_mel (double hz)
{
    return 1127.0 * log (1.0 + hz / 700.0);
}

static gboolean
check_config (const TslLogmelConfig *c, GError **error)
{
    const char *bad = NULL;

    if (c->sample_rate <= 0)
        bad = "sample_rate must be > 0";
    else if (c->frame_length <= 0)
        bad = "frame_length must be > 0";
    else if (c->frame_step <= 0)
        bad = "frame_step must be > 0";
    else if (c->fft_length < 2 || (c->fft_length & (c->fft_length - 1)) != 0)
        bad = "fft_length must be a power of two >= 2";
    else if (c->fft_length < c->frame_length)
        bad = "fft_length must be >= frame_length";
    else if (c->num_mel_bins <= 0)
        bad = "num_mel_bins must be > 0";
    else if (!(c->lower_edge_hertz >= 0.0 && c->lower_edge_hertz < c->upper_edge_hertz))
        bad = "lower_edge_hertz must be in [0, upper_edge_hertz)";
    else if (c->upper_edge_hertz > c->sample_rate / 2.0)
        bad = "upper_edge_hertz must be <= sample_rate / 2";
    else if (!(c->log_offset >= 0.0))
        bad = "log_offset must be >= 0";
    if (bad != NULL) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG, "log-mel front end: %s", bad);
        return FALSE;
    }
    return TRUE;
}

/* tf.signal.linear_to_mel_weight_matrix, in double, stored as float */
static void
build_filterbank (TslLogmel *lm)
{
    const int n_mel = lm->cfg.num_mel_bins, n_bins = lm->n_bins;
    const double nyquist = lm->cfg.sample_rate / 2.0;
    const double mel_lo = hertz_to_mel (lm->cfg.lower_edge_hertz);
    const double mel_hi = hertz_to_mel (lm->cfg.upper_edge_hertz);
    /* n_mel + 2 evenly spaced edges; band m spans edges m, m + 1, m + 2 */
    double *edges = g_new (double, n_mel + 2);

    for (int i = 0; i < n_mel + 2; i++)
        edges[i] = mel_lo + (mel_hi - mel_lo) * i / (n_mel + 1);
    for (int m = 0; m < n_mel; m++) {
        lm->band_first[m] = n_bins;
        lm->band_end[m] = 0;
    }
    for (int k = 0; k < n_bins; k++) {
        float *w_k = lm->weights + (size_t) k * n_mel;
        /* bin k's frequency: linspace(0, nyquist, n_bins)[k]. TF zeroes the DC
         * bin's row; its rising slope is already <= 0 since lower_edge_hertz >= 0 */
        const double mel = hertz_to_mel (nyquist * k / (n_bins - 1));

        for (int m = 0; m < n_mel; m++) {
            const double rising = (mel - edges[m]) / (edges[m + 1] - edges[m]);
            const double falling = (edges[m + 2] - mel) / (edges[m + 2] - edges[m + 1]);
            const double w = MAX (0.0, MIN (rising, falling));

            w_k[m] = (float) w;
            if (w_k[m] != 0.0f) {
                lm->band_first[m] = MIN (lm->band_first[m], k);
                lm->band_end[m] = MAX (lm->band_end[m], k + 1);
            }
        }
    }
    g_free (edges);
}

TslLogmel *
tsl_logmel_new (const TslLogmelConfig *config, GError **error)
{
    TslLogmel *lm;

    if (!check_config (config, error))
        return NULL;
    lm = g_new0 (TslLogmel, 1);
    lm->cfg = *config;
    lm->n_bins = config->fft_length / 2 + 1;
    lm->fft = tsl_rfft_new (config->fft_length);
    lm->window = g_new (double, config->frame_length);
    for (int t = 0; t < config->frame_length; t++)
        lm->window[t] = 0.5 - 0.5 * cos (2.0 * G_PI * t / config->frame_length);
    lm->weights = g_new (float, (size_t) lm->n_bins * config->num_mel_bins);
    lm->band_first = g_new (int, config->num_mel_bins);
    lm->band_end = g_new (int, config->num_mel_bins);
    build_filterbank (lm);
    return lm;
}

void
tsl_logmel_free (TslLogmel *lm)
{
    if (lm == NULL)
        return;
    tsl_rfft_free (lm->fft);
    g_free (lm->window);
    g_free (lm->weights);
    g_free (lm->band_first);
    g_free (lm->band_end);
    g_free (lm);
}

const TslLogmelConfig *
tsl_logmel_get_config (const TslLogmel *lm)
{
    return &lm->cfg;
}

const float *
tsl_logmel_weights (const TslLogmel *lm)
{
    return lm->weights;
}

int
tsl_logmel_n_frames (const TslLogmel *lm, int n_samples)
{
    const TslLogmelConfig *c = &lm->cfg;

    if (n_samples <= 0)
        return 0;
    if (c->pad_end)
        return (n_samples + c->frame_step - 1) / c->frame_step;
    if (n_samples < c->frame_length)
        return 0;
    return 1 + (n_samples - c->frame_length) / c->frame_step;
}

/* One frame: window -> zero-padded FFT -> |X| or |X|^2 -> mel -> log.
 * work: the frame [fft_length], the spectrum [n_bins, 2] (reused as
 * [n_bins] magnitudes) and the FFT's scratch [fft_length]. */
static void
logmel_frame (const TslLogmel *lm, float *out /* [n_mel] */, const float *wave /* [N] */, int N,
              int start, double *work)
{
    const TslLogmelConfig *c = &lm->cfg;
    double *frame = work;                         /* [fft_length] */
    double *spectrum = work + c->fft_length;      /* [n_bins, 2], then [n_bins] */

    for (int t = 0; t < c->frame_length; t++)
        frame[t] = start + t < N ? wave[start + t] * lm->window[t] : 0.0;
    for (int t = c->frame_length; t < c->fft_length; t++)
        frame[t] = 0.0;
    tsl_rfft_forward (lm->fft, spectrum, frame, work + c->fft_length + 2 * lm->n_bins);
    for (int k = 0; k < lm->n_bins; k++) {
        const double power = spectrum[2 * k] * spectrum[2 * k] +
                             spectrum[2 * k + 1] * spectrum[2 * k + 1];
        spectrum[k] = c->spectrogram == TSL_SPECTROGRAM_POWER ? power : sqrt (power);
    }
    for (int m = 0; m < c->num_mel_bins; m++) {
        double mel = 0.0;
        for (int k = lm->band_first[m]; k < lm->band_end[m]; k++)
            mel += spectrum[k] * lm->weights[(size_t) k * c->num_mel_bins + m];
        out[m] = (float) log (mel + c->log_offset);
    }
}

void
tsl_logmel_compute (const TslLogmel *lm, float *out, const float *waveforms, int B, int N)
{
    const TslLogmelConfig *c = &lm->cfg;
    const int F = tsl_logmel_n_frames (lm, N);
    /* see logmel_frame */
    const size_t work_len = (size_t) c->fft_length + 2 * lm->n_bins + c->fft_length;

    #pragma omp parallel if ((size_t) B * F > 1)
    {
        double *work = g_new (double, work_len);

        /* each (b, f) alone writes out[b, f, :] */
        #pragma omp for
        for (size_t bf = 0; bf < (size_t) B * F; bf++) {
            const size_t b = bf / F, f = bf % F;
            logmel_frame (lm, out + bf * c->num_mel_bins, waveforms + b * N, N,
                          (int) f * c->frame_step, work);
        }
        g_free (work);
    }
}
