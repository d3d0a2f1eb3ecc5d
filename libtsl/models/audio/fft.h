/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * fft.h: the discrete Fourier transform of a real sequence whose length is
 * a power of two, for the log-mel front end (logmel.h). A simple
 * implementation, sized for short frames (a few thousand samples):
 *
 *   X[k] = sum over t < n of x[t] * exp(-2 pi i k t / n),  k = 0 .. n/2
 *
 * (numpy.fft.rfft's definition, unnormalised). The n real samples are
 * packed into n/2 complex ones, z[m] = x[2m] + i x[2m+1], transformed by an
 * iterative radix-2 complex FFT (bit-reversed order, then butterflies), and
 * split into the spectrum of the even and the odd samples:
 *   X[k] = (Z[k] + conj Z[M-k]) / 2 + exp(-2 pi i k / n) (Z[k] - conj Z[M-k]) / 2i
 * with M = n/2 and indices mod M. Everything is double precision; the
 * twiddles come from one table of exp(-2 pi i k / n), k <= n/2, computed
 * once with cos/sin in double. Tested against a direct DFT in
 * tests/unit/models/audio-logmel.c.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _TslRfft TslRfft;

/* n: a power of two >= 2. NULL when it is not. */
TslRfft *tsl_rfft_new (int n);
void tsl_rfft_free (TslRfft *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TslRfft, tsl_rfft_free)

int tsl_rfft_length (const TslRfft *plan);

/* spectrum[k] = (Re X[k], Im X[k]) for k = 0 .. n/2. x is not modified.
 * scratch holds n doubles (one per calling thread). */
void tsl_rfft_forward (const TslRfft *plan, double *spectrum /* [n/2 + 1, 2] */,
                       const double *x /* [n] */, double *scratch /* [n] */);

G_END_DECLS
