/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cpu-ops.h: the CPU backend's implementations of the ops in ../ops.h,
 * declared through the op types so their signatures match the table.
 * One file per op family: gemm.c, elementwise.c, conv1d.c, ...
 */
#pragma once

#include "../ops.h"

G_BEGIN_DECLS

const TslBackendOps *tsl_cpu_backend_ops (void);

TslGemmFn tsl_cpu_gemm;
TslBiasAddFn tsl_cpu_bias_add;
TslBiasAddBackwardFn tsl_cpu_bias_add_backward;
TslAddFn tsl_cpu_add;
TslAddBackwardFn tsl_cpu_add_backward;
TslMulFn tsl_cpu_mul;
TslMulBackwardFn tsl_cpu_mul_backward;
TslScaleFn tsl_cpu_scale;
TslScaleBackwardFn tsl_cpu_scale_backward;
TslChannelScaleFn tsl_cpu_channel_scale;
TslChannelScaleBackwardFn tsl_cpu_channel_scale_backward;
TslMeanFn tsl_cpu_mean;
TslMeanBackwardFn tsl_cpu_mean_backward;
TslActivationFn tsl_cpu_gelu;
TslActivationBackwardFn tsl_cpu_gelu_backward;
TslActivationFn tsl_cpu_relu;
TslActivationBackwardFn tsl_cpu_relu_backward;
TslActivationFn tsl_cpu_sigmoid;
TslActivationBackwardFn tsl_cpu_sigmoid_backward;
TslSoftmaxFn tsl_cpu_softmax;
TslSoftmaxBackwardFn tsl_cpu_softmax_backward;
TslLayerNormFn tsl_cpu_layernorm;
TslLayerNormBackwardFn tsl_cpu_layernorm_backward;
TslBatchNormFn tsl_cpu_batchnorm;
TslConv1dFn tsl_cpu_conv1d;
TslConv1dBackwardFn tsl_cpu_conv1d_backward;
TslConv2dFn tsl_cpu_conv2d;
TslMaxPool1dFn tsl_cpu_maxpool1d;
TslMaxPool1dBackwardFn tsl_cpu_maxpool1d_backward;
TslMaxPool2dFn tsl_cpu_maxpool2d;
TslMaskDownsampleFn tsl_cpu_mask_downsample;
TslLocalAttentionFn tsl_cpu_local_attention;
TslLocalAttentionBackwardFn tsl_cpu_local_attention_backward;
TslAttentionFn tsl_cpu_attention;
TslFocalLossFn tsl_cpu_focal_loss;
TslFocalLossBackwardFn tsl_cpu_focal_loss_backward;
TslDiouLossFn tsl_cpu_diou_loss;
TslDiouLossBackwardFn tsl_cpu_diou_loss_backward;
TslSumSquaresFn tsl_cpu_sum_squares;
TslAdamWFn tsl_cpu_adamw;
TslEmaFn tsl_cpu_ema;

G_END_DECLS
