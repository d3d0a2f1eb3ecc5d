/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * logmel.h: the log-mel front end of the audio model: a waveform [N] at
 * the model's sample rate becomes a log-mel spectrogram [frames, mel].
 *
 * It reproduces compute_audio_spectrogram() of google-deepmind/dmvr
 * (dmvr/processors.py, spectrogram_type 'logmf'), the data pipeline
 * released with the MMV models, whose defaults are the values below.
 * Every number comes from the model file's tsl.config (see config.h and
 * docs/audio-model.md):
 *
 * 1. Framing, as tf.signal.stft(pad_end=True) frames: frame f covers
 *    samples [f * frame_step, f * frame_step + frame_length); samples past
 *    the end of the waveform are zeros. With pad_end there are
 *    ceil(N / frame_step) frames; without it 1 + (N - frame_length) /
 *    frame_step (0 when N < frame_length).
 * 2. Window: the periodic Hann window of tf.signal.hann_window
 *    (periodic=True), w[t] = 0.5 - 0.5 cos(2 pi t / frame_length).
 * 3. FFT: the windowed frame is zero-padded at its end to fft_length (a
 *    power of two >= frame_length; DMVR uses fft_length = frame_length)
 *    and transformed by the real FFT of fft.h: fft_length/2 + 1 bins.
 * 4. Magnitude |X[k]| (DMVR's default fft_output_conversion 'magnitude'),
 *    or the power |X[k]|^2 ('magnitude_squared', config "power").
 * 5. Mel filterbank: tf.signal.linear_to_mel_weight_matrix(num_mel_bins,
 *    fft_length/2 + 1, sample_rate, lower_edge_hertz, upper_edge_hertz):
 *    HTK mel scale mel(f) = 1127 ln(1 + f / 700); the bins' centre
 *    frequencies linspace(0, sample_rate / 2, n_bins) (the DC bin gets
 *    weight 0); band edges linspace(mel(lower), mel(upper), n_mel + 2);
 *    triangular weights max(0, min(rising, falling)) computed in mel
 *    space, no area normalisation. mel[m] = sum over k of S[k] W[k, m].
 * 6. Log: log(mel + log_offset), natural log (DMVR: log(x + 1e-6)).
 *
 * TensorFlow evaluates all of this in float32; here the window, the FFT,
 * the filterbank sums and the log are double, and only the weights (as TF
 * stores them) and the result are float32. Frames are independent and are
 * spread over OpenMP threads.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
    TSL_SPECTROGRAM_MAGNITUDE = 0, /* |X| */
    TSL_SPECTROGRAM_POWER = 1,     /* |X|^2 */
} TslSpectrogramKind;

typedef struct {
    int sample_rate;          /* Hz */
    int frame_length;         /* samples per analysis window */
    int frame_step;           /* hop, samples */
    int fft_length;           /* power of two >= frame_length */
    gboolean pad_end;         /* zero-pad the end so that every sample starts a frame */
    int num_mel_bins;
    double lower_edge_hertz;
    double upper_edge_hertz;  /* <= sample_rate / 2 */
    TslSpectrogramKind spectrogram;
    double log_offset;        /* log(mel + log_offset) */
} TslLogmelConfig;

typedef struct _TslLogmel TslLogmel;

/* TSL_ERROR_CONFIG (naming the value) when the configuration is invalid. */
TslLogmel *tsl_logmel_new (const TslLogmelConfig *config, GError **error);
void tsl_logmel_free (TslLogmel *lm);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TslLogmel, tsl_logmel_free)

const TslLogmelConfig *tsl_logmel_get_config (const TslLogmel *lm);

/* Frames for a waveform of n_samples (rule 1 above). */
int tsl_logmel_n_frames (const TslLogmel *lm, int n_samples);

/* The float32 filterbank W[k, m] (rule 5), owned by lm. */
const float *tsl_logmel_weights (const TslLogmel *lm /* -> [fft_length/2 + 1, num_mel_bins] */);

/* out[b] = log-mel of waveforms[b] for B waveforms of N samples each
 * (host memory). F = tsl_logmel_n_frames (lm, N). */
void tsl_logmel_compute (const TslLogmel *lm, float *out /* [B, F, num_mel_bins] */,
                         const float *waveforms /* [B, N] */, int B, int N);

G_END_DECLS
