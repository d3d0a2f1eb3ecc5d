/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * decode/sigmoid.h: the float32 sigmoid of ActionFormer's class scores,
 * rounded exactly as the reference implementation computes it.
 *
 * The reference (happyharrycn/actionformer_release, meta_archs.py
 * inference_single_video: cls_i.sigmoid()) runs PyTorch's CPU sigmoid
 * kernel over one video's logits of one FPN level, a contiguous [K, T]
 * buffer of n = K * T floats. On x86-64 PyTorch 1.x dispatches to its AVX2
 * kernel, which handles the buffer in blocks of 16 floats:
 *   i < 16 * floor(n / 16):  1 / (exp(0 - x) + 1) with SLEEF's expf_u10
 *                            (Cody-Waite reduction by ln 2, a degree-6
 *                            polynomial in fused multiply-adds, scaling by
 *                            2^q), at most 1 ulp from e^x;
 *   the last n mod 16:       1 / (1 + expf(-x)) with the C library's expf.
 * The two differ by 1-2 ulp on about 8% of inputs, enough to reorder close
 * candidates, so both are reproduced here; with them the stored reference
 * candidates are matched bit for bit. Other builds of the reference (CUDA,
 * other CPU dispatch levels) round differently by the same 1-2 ulp.
 */
#pragma once

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

/* out[i] = sigmoid(logits[i]), i < n, with the block rule above; logits is
 * one level's [K, T] buffer, as the reference sees it. out may equal logits. */
void tsl_decode_sigmoid (float *out /* [n] */, const float *logits /* [n] */, size_t n);

G_END_DECLS
