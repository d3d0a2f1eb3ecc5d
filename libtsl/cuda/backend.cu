/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * cuda/backend.cu: the CUDA backend: set-up (one non-blocking stream and one
 * cuBLAS handle on the current device), device memory, and the op table.
 *
 * Memory rule: every op, copy and zero is queued on the backend's one
 * stream, so they run in the order they were called and need no
 * synchronisation between them. upload and download return only once the
 * copy is complete (they synchronise the stream): the host buffer may be
 * reused, or read, at once. An asynchronous copy from pageable memory is
 * not guaranteed to have consumed the host buffer when it returns, and
 * callers pass ordinary malloc'ed memory. free waits for queued work first
 * (cudaFree synchronises the device).
 *
 * cuBLAS runs in plain FP32 (CUBLAS_DEFAULT_MATH with CUBLAS_COMPUTE_32F),
 * never TF32, so that results stay within float tolerance of the CPU.
 *
 * Failures inside ops (which return void) go to the backend's sticky error;
 * synchronize reports them (see ../backend.h).
 */
#include "cuda-ops.h"
#include "cuda-common.h"

/* cudaMalloc aligns to at least 256 bytes; requests are rounded up to it */
#define TSL_CUDA_ALIGNMENT 256

static void *
cuda_alloc (TslBackend *be, size_t bytes, GError **error)
{
    void *ptr = NULL;
    size_t rounded = TSL_CEIL_DIV (bytes, (size_t) TSL_CUDA_ALIGNMENT) * TSL_CUDA_ALIGNMENT;
    cudaError_t status;

    if (rounded == 0)
        rounded = TSL_CUDA_ALIGNMENT;
    status = cudaMalloc (&ptr, rounded);
    if (status != cudaSuccess) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CUDA, "cudaMalloc of %zu bytes: %s", bytes,
                     cudaGetErrorString (status));
        return NULL;
    }
    return ptr;
}

static void
cuda_free (TslBackend *be, void *ptr)
{
    TSL_CUDA_CHECK_OP (be, cudaFree (ptr));
}

static void
cuda_upload (TslBackend *be, void *dst, const void *src_host, size_t bytes)
{
    cudaStream_t stream = tsl_cuda_stream (be);

    if (bytes == 0)
        return;
    if (TSL_CUDA_CHECK_OP (be, cudaMemcpyAsync (dst, src_host, bytes, cudaMemcpyHostToDevice,
                                                stream)))
        TSL_CUDA_CHECK_OP (be, cudaStreamSynchronize (stream));
}

static void
cuda_download (TslBackend *be, void *dst_host, const void *src, size_t bytes)
{
    cudaStream_t stream = tsl_cuda_stream (be);

    if (bytes == 0)
        return;
    if (TSL_CUDA_CHECK_OP (be, cudaMemcpyAsync (dst_host, src, bytes, cudaMemcpyDeviceToHost,
                                                stream)))
        TSL_CUDA_CHECK_OP (be, cudaStreamSynchronize (stream));
}

static void
cuda_copy (TslBackend *be, void *dst, const void *src, size_t bytes)
{
    if (bytes == 0 || dst == src)
        return;
    TSL_CUDA_CHECK_OP (be, cudaMemcpyAsync (dst, src, bytes, cudaMemcpyDeviceToDevice,
                                            tsl_cuda_stream (be)));
}

static void
cuda_zero (TslBackend *be, void *dst, size_t bytes)
{
    if (bytes == 0)
        return;
    TSL_CUDA_CHECK_OP (be, cudaMemsetAsync (dst, 0, bytes, tsl_cuda_stream (be)));
}

static gboolean
cuda_synchronize (TslBackend *be, GError **error)
{
    gboolean ok = FALSE;

    TSL_CUDA_CHECK (cudaStreamSynchronize (tsl_cuda_stream (be)), error);
    ok = TRUE;
out:
    return ok;
}

static void
cuda_context_free (TslCudaContext *ctx)
{
    if (ctx == NULL)
        return;
    if (ctx->cublas != NULL)
        cublasDestroy (ctx->cublas);
    if (ctx->stream != NULL) {
        cudaStreamSynchronize (ctx->stream);
        cudaStreamDestroy (ctx->stream);
    }
    g_free (ctx);
}

static void
cuda_destroy (TslBackend *be)
{
    cuda_context_free ((TslCudaContext *) be->context);
    be->context = NULL;
}

static const TslBackendOps cuda_ops = {
    .version = TSL_BACKEND_OPS_VERSION,
    .name = "cuda",
    .alloc = cuda_alloc,
    .free = cuda_free,
    .upload = cuda_upload,
    .download = cuda_download,
    .copy = cuda_copy,
    .zero = cuda_zero,
    .synchronize = cuda_synchronize,
    .destroy = cuda_destroy,

    /* linear algebra */
    .gemm = tsl_cuda_gemm,

    /* elementwise, activations, normalisation, pooling */
    .bias_add = tsl_cuda_bias_add,
    .bias_add_backward = tsl_cuda_bias_add_backward,
    .add = tsl_cuda_add,
    .add_backward = tsl_cuda_add_backward,
    .mul = tsl_cuda_mul,
    .mul_backward = tsl_cuda_mul_backward,
    .scale = tsl_cuda_scale,
    .scale_backward = tsl_cuda_scale_backward,
    .channel_scale = tsl_cuda_channel_scale,
    .channel_scale_backward = tsl_cuda_channel_scale_backward,
    .mean = tsl_cuda_mean,
    .mean_backward = tsl_cuda_mean_backward,

    .gelu = tsl_cuda_gelu,
    .gelu_backward = tsl_cuda_gelu_backward,
    .relu = tsl_cuda_relu,
    .relu_backward = tsl_cuda_relu_backward,
    .sigmoid = tsl_cuda_sigmoid,
    .sigmoid_backward = tsl_cuda_sigmoid_backward,
    .softmax = tsl_cuda_softmax,
    .softmax_backward = tsl_cuda_softmax_backward,

    .layernorm = tsl_cuda_layernorm,
    .layernorm_backward = tsl_cuda_layernorm_backward,
    .batchnorm = tsl_cuda_batchnorm,

    /* convolution, pooling and attention */
    .conv1d = tsl_cuda_conv1d,
    .conv1d_backward = tsl_cuda_conv1d_backward,
    .conv2d = tsl_cuda_conv2d,
    .maxpool1d = tsl_cuda_maxpool1d,
    .maxpool1d_backward = tsl_cuda_maxpool1d_backward,
    .maxpool2d = tsl_cuda_maxpool2d,
    .mask_downsample = tsl_cuda_mask_downsample,

    .local_attention = tsl_cuda_local_attention,
    .local_attention_backward = tsl_cuda_local_attention_backward,
    .attention = tsl_cuda_attention,

    /* losses and optimiser */
    .focal_loss = tsl_cuda_focal_loss,
    .focal_loss_backward = tsl_cuda_focal_loss_backward,
    .diou_loss = tsl_cuda_diou_loss,
    .diou_loss_backward = tsl_cuda_diou_loss_backward,

    .sum_squares = tsl_cuda_sum_squares,
    .adamw = tsl_cuda_adamw,
    .ema = tsl_cuda_ema,
};

gboolean
tsl_cuda_backend_init (TslBackend *be, GError **error)
{
    TslCudaContext *ctx = NULL;
    int count = 0;
    cudaError_t status;
    gboolean ok = FALSE;

    /* without a driver or a GPU this fails (or finds none): the caller falls
     * back to the CPU for "auto" */
    status = cudaGetDeviceCount (&count);
    if (status != cudaSuccess) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CUDA, "no usable CUDA device: %s",
                     cudaGetErrorString (status));
        cudaGetLastError ();
        return FALSE;
    }
    if (count == 0) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CUDA, "no CUDA device found");
        return FALSE;
    }

    ctx = g_new0 (TslCudaContext, 1);
    TSL_CUDA_CHECK (cudaGetDevice (&ctx->device), error);
    TSL_CUDA_CHECK (cudaStreamCreateWithFlags (&ctx->stream, cudaStreamNonBlocking), error);
    TSL_CUBLAS_CHECK (cublasCreate (&ctx->cublas), error);
    TSL_CUBLAS_CHECK (cublasSetStream (ctx->cublas, ctx->stream), error);
    TSL_CUBLAS_CHECK (cublasSetMathMode (ctx->cublas, CUBLAS_DEFAULT_MATH), error);
    be->device = TSL_DEVICE_CUDA;
    be->ops = &cuda_ops;
    be->context = ctx;
    ok = TRUE;
out:
    if (!ok)
        cuda_context_free (ctx);
    return ok;
}

struct CUstream_st *
tsl_cuda_backend_stream (TslBackend *be)
{
    return tsl_cuda_stream (be);
}
