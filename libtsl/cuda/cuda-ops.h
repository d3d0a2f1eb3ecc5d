/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cuda-ops.h: the CUDA backend's implementations of the ops in ../ops.h,
 * declared through the op types so their signatures match the CPU ones.
 * Launchers run on the backend's stream and record failures in the
 * backend's sticky error (tsl_backend_set_error).
 */
#pragma once

#include "../ops.h"

G_BEGIN_DECLS

/* Creates the stream and cuBLAS handle, fills be->ops and be->context.
 * Fails with TSL_ERROR_CUDA when no usable GPU is present. */
gboolean tsl_cuda_backend_init (TslBackend *be, GError **error);

/* The stream every op of a CUDA backend is queued on (a cudaStream_t), for
 * timing with CUDA events in tests and benchmarks. */
struct CUstream_st *tsl_cuda_backend_stream (TslBackend *be);

TslGemmFn tsl_cuda_gemm;
TslBiasAddFn tsl_cuda_bias_add;
TslBiasAddBackwardFn tsl_cuda_bias_add_backward;
TslAddFn tsl_cuda_add;
TslAddBackwardFn tsl_cuda_add_backward;
TslMulFn tsl_cuda_mul;
TslMulBackwardFn tsl_cuda_mul_backward;
TslScaleFn tsl_cuda_scale;
TslScaleBackwardFn tsl_cuda_scale_backward;
TslChannelScaleFn tsl_cuda_channel_scale;
TslChannelScaleBackwardFn tsl_cuda_channel_scale_backward;
TslMeanFn tsl_cuda_mean;
TslMeanBackwardFn tsl_cuda_mean_backward;
TslActivationFn tsl_cuda_gelu;
TslActivationBackwardFn tsl_cuda_gelu_backward;
TslActivationFn tsl_cuda_relu;
TslActivationBackwardFn tsl_cuda_relu_backward;
TslActivationFn tsl_cuda_sigmoid;
TslActivationBackwardFn tsl_cuda_sigmoid_backward;
TslSoftmaxFn tsl_cuda_softmax;
TslSoftmaxBackwardFn tsl_cuda_softmax_backward;
TslLayerNormFn tsl_cuda_layernorm;
TslLayerNormBackwardFn tsl_cuda_layernorm_backward;
TslBatchNormFn tsl_cuda_batchnorm;
TslConv1dFn tsl_cuda_conv1d;
TslConv1dBackwardFn tsl_cuda_conv1d_backward;
TslConv2dFn tsl_cuda_conv2d;
TslMaxPool1dFn tsl_cuda_maxpool1d;
TslMaxPool1dBackwardFn tsl_cuda_maxpool1d_backward;
TslMaxPool2dFn tsl_cuda_maxpool2d;
TslMaskDownsampleFn tsl_cuda_mask_downsample;
TslLocalAttentionFn tsl_cuda_local_attention;
TslLocalAttentionBackwardFn tsl_cuda_local_attention_backward;
TslAttentionFn tsl_cuda_attention;
TslFocalLossFn tsl_cuda_focal_loss;
TslFocalLossBackwardFn tsl_cuda_focal_loss_backward;
TslDiouLossFn tsl_cuda_diou_loss;
TslDiouLossBackwardFn tsl_cuda_diou_loss_backward;
TslSumSquaresFn tsl_cuda_sum_squares;
TslAdamWFn tsl_cuda_adamw;
TslEmaFn tsl_cuda_ema;

G_END_DECLS
