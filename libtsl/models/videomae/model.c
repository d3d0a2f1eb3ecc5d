/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * videomae/model.c: loading the VideoMAE V2 ViT (see model.h) and its
 * forward on the backend op table. Tokens of all clips of a batch are one
 * [R = B * N, C] row-major matrix, so every projection is one GEMM and the
 * per-token ops (LayerNorm, bias, layer scale) take it as [R, C, 1].
 */
#include "model.h"

#include <math.h>
#include <string.h>

#include "../../error.h"
#include "../../ops.h"
#include "../../tensor.h"

typedef struct {
    const float *weight; /* [C] */
    const float *bias;   /* [C] */
} VmNorm;

typedef struct {
    VmNorm norm1, norm2;
    const float *qkv_weight; /* [3C, C] */
    const float *qkv_bias;   /* [3C]: q_bias, zeros, v_bias; NULL without qkv_bias */
    const float *proj_weight; /* [C, C] */
    const float *proj_bias;   /* [C] */
    const float *fc1_weight;  /* [Hm, C] */
    const float *fc1_bias;    /* [Hm] */
    const float *fc2_weight;  /* [C, Hm] */
    const float *fc2_bias;    /* [C] */
    const float *gamma_1;     /* [C] or NULL (no layer scale) */
    const float *gamma_2;     /* [C] or NULL */
} VmBlock;

/* Activations of one pass of up to max_batch clips, R = max_batch * N rows. */
typedef struct {
    float *patches;  /* [R, K] tubelet input vectors */
    float *x;        /* [R, C] residual stream */
    float *normed;   /* [R, C] LayerNorm output */
    float *mean;     /* [R] LayerNorm statistics (unused after the call) */
    float *rstd;     /* [R] */
    float *qkv;      /* [R, 3C] */
    float *attended; /* [R, C] attention output before proj */
    float *branch;   /* [R, C] proj or fc2 output */
    float *hidden;   /* [R, Hm] fc1 output */
    float *gelu;     /* [R, Hm] */
    float *pooled;   /* [max_batch, C] */
    float *features; /* [max_batch, C] */
} VmActivations;

struct _TslVideoMae {
    TslBackend *be;
    TslVideoMaeConfig cfg;
    int N, K, Hm;          /* tokens per clip, patch length, MLP hidden size */
    int max_batch;
    GPtrArray *tensors;    /* TslTensor, owning every parameter */
    const float *patch_weight; /* [C, K] */
    const float *patch_bias;   /* [C] */
    const float *pos_table;    /* [N, C] */
    VmBlock *blocks;           /* [depth] */
    VmNorm fc_norm;
    TslArena arena;
    VmActivations act;
    float *host_patches;       /* [max_batch * N, K] */
    float *host_hidden;        /* [max_batch * N, C], only when hidden states are asked for */
};

/* ---- loading ---- */

static const float *
load_tensor (TslVideoMae *m, const TslSafetensors *st, const char *name, int ndim,
             const int *shape, GError **error)
{
    TslTensor *t = tsl_safetensors_load (st, name, m->be, ndim, shape, error);

    if (t == NULL)
        return NULL;
    g_ptr_array_add (m->tensors, t);
    return t->data;
}

/* A device tensor filled from host values. */
static const float *
upload_tensor (TslVideoMae *m, const float *values, int n, GError **error)
{
    TslTensor *t = tsl_tensor_new (m->be, 1, &n, error);

    if (t == NULL)
        return NULL;
    tsl_backend_upload (m->be, t->data, values, (size_t) n * sizeof (float));
    g_ptr_array_add (m->tensors, t);
    return t->data;
}

static gboolean
load_vector (TslVideoMae *m, const TslSafetensors *st, const char *prefix, const char *suffix,
             int n, const float **out, GError **error)
{
    g_autofree char *name = g_strconcat (prefix, suffix, NULL);

    *out = load_tensor (m, st, name, 1, &n, error);
    return *out != NULL;
}

static gboolean
load_linear (TslVideoMae *m, const TslSafetensors *st, const char *prefix, int out_dim,
             int in_dim, const float **weight, const float **bias, GError **error)
{
    const int shape[2] = { out_dim, in_dim };
    g_autofree char *name = g_strconcat (prefix, ".weight", NULL);

    *weight = load_tensor (m, st, name, 2, shape, error);
    return *weight != NULL && (bias == NULL || load_vector (m, st, prefix, ".bias", out_dim,
                                                            bias, error));
}

static gboolean
load_norm (TslVideoMae *m, const TslSafetensors *st, const char *prefix, VmNorm *norm,
           GError **error)
{
    const int C = m->cfg.embed_dim;

    return load_vector (m, st, prefix, ".weight", C, &norm->weight, error) &&
           load_vector (m, st, prefix, ".bias", C, &norm->bias, error);
}

static gboolean
refuse_tensor (const TslSafetensors *st, const char *name, const char *why, GError **error)
{
    if (tsl_safetensors_find (st, name) == NULL)
        return TRUE;
    g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT, "%s: unexpected tensor %s: %s",
                 tsl_safetensors_path (st), name, why);
    return FALSE;
}

/* patch_embed.proj.weight [C, 3, tub, P, P] (five dimensions, more than a
 * TslTensor holds) as the [C, K] matrix of the patch GEMM. */
static gboolean
load_patch_weight (TslVideoMae *m, const TslSafetensors *st, const int shape[5], GError **error)
{
    const char *name = "patch_embed.proj.weight";
    const TslSafetensorsEntry *entry = tsl_safetensors_find (st, name);
    const size_t numel = (size_t) m->cfg.embed_dim * m->K;
    g_autofree float *values = NULL;
    gboolean same = entry != NULL && entry->ndim == 5;

    for (int i = 0; same && i < 5; i++)
        same = entry->shape[i] == shape[i];
    if (entry != NULL && !same) {
        g_autofree char *want = tsl_shape_to_string (5, shape);
        g_set_error (error, TSL_ERROR, TSL_ERROR_SHAPE, "%s: tensor %s should have shape %s",
                     tsl_safetensors_path (st), name, want);
        return FALSE;
    }
    values = g_try_new (float, numel);
    if (values == NULL) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_IO, "VideoMAE: out of memory for %s", name);
        return FALSE;
    }
    if (!tsl_safetensors_read_f32 (st, name, values, numel, error))
        return FALSE;
    m->patch_weight = upload_tensor (m, values, (int) numel, error);
    return m->patch_weight != NULL;
}

/* The official Attention has no qkv Linear bias; it adds
 * cat (q_bias, zeros, v_bias) instead. That concatenation is built here. */
static gboolean
load_qkv_bias (TslVideoMae *m, const TslSafetensors *st, const char *prefix, VmBlock *block,
               GError **error)
{
    const int C = m->cfg.embed_dim;
    g_autofree char *q_name = g_strconcat (prefix, ".attn.q_bias", NULL);
    g_autofree char *v_name = g_strconcat (prefix, ".attn.v_bias", NULL);
    g_autofree float *bias = NULL;

    block->qkv_bias = NULL;
    if (!m->cfg.qkv_bias)
        return refuse_tensor (st, q_name, "qkv_bias is false in the configuration", error) &&
               refuse_tensor (st, v_name, "qkv_bias is false in the configuration", error);
    bias = g_new0 (float, 3 * (size_t) C);
    if (!tsl_safetensors_read_f32 (st, q_name, bias, C, error) ||
        !tsl_safetensors_read_f32 (st, v_name, bias + 2 * (size_t) C, C, error))
        return FALSE;
    block->qkv_bias = upload_tensor (m, bias, 3 * C, error);
    return block->qkv_bias != NULL;
}

static gboolean
load_block (TslVideoMae *m, const TslSafetensors *st, int index, VmBlock *block, GError **error)
{
    const int C = m->cfg.embed_dim, Hm = m->Hm;
    g_autofree char *prefix = g_strdup_printf ("blocks.%d", index);
    g_autofree char *norm1 = g_strconcat (prefix, ".norm1", NULL);
    g_autofree char *norm2 = g_strconcat (prefix, ".norm2", NULL);
    g_autofree char *qkv = g_strconcat (prefix, ".attn.qkv", NULL);
    g_autofree char *qkv_bias = g_strconcat (prefix, ".attn.qkv.bias", NULL);
    g_autofree char *proj = g_strconcat (prefix, ".attn.proj", NULL);
    g_autofree char *fc1 = g_strconcat (prefix, ".mlp.fc1", NULL);
    g_autofree char *fc2 = g_strconcat (prefix, ".mlp.fc2", NULL);
    g_autofree char *gamma_1 = g_strconcat (prefix, ".gamma_1", NULL);

    if (!load_norm (m, st, norm1, &block->norm1, error) ||
        !load_norm (m, st, norm2, &block->norm2, error) ||
        !load_linear (m, st, qkv, 3 * C, C, &block->qkv_weight, NULL, error) ||
        !refuse_tensor (st, qkv_bias, "the VideoMAE V2 qkv projection has separate q and v "
                        "biases (attn.q_bias, attn.v_bias) and no k bias", error) ||
        !load_qkv_bias (m, st, prefix, block, error) ||
        !load_linear (m, st, proj, C, C, &block->proj_weight, &block->proj_bias, error) ||
        !load_linear (m, st, fc1, Hm, C, &block->fc1_weight, &block->fc1_bias, error) ||
        !load_linear (m, st, fc2, C, Hm, &block->fc2_weight, &block->fc2_bias, error))
        return FALSE;
    block->gamma_1 = block->gamma_2 = NULL;
    if (m->cfg.init_values <= 0.0)
        return refuse_tensor (st, gamma_1, "init_values is 0 in the configuration, so the "
                              "blocks have no layer scale", error);
    return load_vector (m, st, prefix, ".gamma_1", C, &block->gamma_1, error) &&
           load_vector (m, st, prefix, ".gamma_2", C, &block->gamma_2, error);
}

/* The fixed table get_sinusoid_encoding_table makes: for token pos and
 * channel j, angle = pos / 10000^(2 floor(j / 2) / C), sin for even j and
 * cos for odd j, in double (numpy) then float32. */
static float *
sinusoid_table_new (int N, int C)
{
    float *table = g_new (float, (size_t) N * C);

    for (int pos = 0; pos < N; pos++) {
        float *row = table + (size_t) pos * C;
        for (int j = 0; j < C; j++) {
            double angle = pos / pow (10000.0, 2.0 * (j / 2) / (double) C);
            row[j] = (float) (j % 2 == 0 ? sin (angle) : cos (angle));
        }
    }
    return table;
}

static gboolean
check_ops (const TslBackend *be, gboolean layer_scale, GError **error)
{
    const TslBackendOps *ops = be->ops;

    if (ops->gemm && ops->bias_add && ops->add && ops->layernorm && ops->attention &&
        ops->gelu && ops->mean && (!layer_scale || ops->channel_scale))
        return TRUE;
    g_set_error (error, TSL_ERROR, TSL_ERROR_UNSUPPORTED,
                 "VideoMAE: backend '%s' lacks one of the ops gemm, bias_add, add, layernorm, "
                 "attention, gelu, mean, channel_scale", ops->name);
    return FALSE;
}

static gboolean
allocate_activations (TslVideoMae *m, GError **error)
{
    const size_t C = m->cfg.embed_dim, R = (size_t) m->max_batch * m->N;
    VmActivations *a = &m->act;
    struct {
        float **ptr;
        size_t n;
    } plan[] = {
        { &a->patches, R * m->K }, { &a->x, R * C }, { &a->normed, R * C },
        { &a->mean, R }, { &a->rstd, R }, { &a->qkv, 3 * R * C }, { &a->attended, R * C },
        { &a->branch, R * C }, { &a->hidden, R * m->Hm }, { &a->gelu, R * m->Hm },
        { &a->pooled, m->max_batch * C }, { &a->features, m->max_batch * C },
    };
    size_t total = 0;

    for (size_t i = 0; i < G_N_ELEMENTS (plan); i++)
        total += (plan[i].n * sizeof (float) + 255) / 256 * 256;
    if (!tsl_arena_init (&m->arena, m->be, total, error))
        return FALSE;
    for (size_t i = 0; i < G_N_ELEMENTS (plan); i++)
        if ((*plan[i].ptr = tsl_arena_alloc (&m->arena, plan[i].n, error)) == NULL)
            return FALSE;
    m->host_patches = g_try_new (float, R * m->K);
    if (m->host_patches == NULL) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_IO, "VideoMAE: out of host memory for %zu "
                     "patch values", R * m->K);
        return FALSE;
    }
    return TRUE;
}

TslVideoMae *
tsl_videomae_new_with_config (TslBackend *be, const TslSafetensors *st,
                              const TslVideoMaeConfig *config, int max_batch, GError **error)
{
    g_autoptr (TslVideoMae) m = NULL;
    const int C = config->embed_dim, P = config->patch_size;
    const int patch_shape[5] = { C, config->in_chans, config->tubelet_size, P, P };
    g_autofree float *table = NULL;

    if (max_batch < 1) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG, "VideoMAE: max_batch %d < 1", max_batch);
        return NULL;
    }
    if (!check_ops (be, config->init_values > 0.0, error))
        return NULL;
    m = g_new0 (TslVideoMae, 1);
    m->be = be;
    m->cfg = *config;
    m->N = tsl_videomae_config_num_tokens (config);
    m->K = tsl_videomae_config_patch_len (config);
    m->Hm = tsl_videomae_config_mlp_hidden (config);
    m->max_batch = max_batch;
    m->tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) tsl_tensor_free);
    m->blocks = g_new0 (VmBlock, config->depth);

    if (!load_patch_weight (m, st, patch_shape, error) ||
        !load_vector (m, st, "patch_embed.proj", ".bias", C, &m->patch_bias, error))
        return NULL;
    for (int i = 0; i < config->depth; i++)
        if (!load_block (m, st, i, &m->blocks[i], error))
            return NULL;
    if (!load_norm (m, st, "fc_norm", &m->fc_norm, error))
        return NULL;
    table = sinusoid_table_new (m->N, C);
    if ((m->pos_table = upload_tensor (m, table, m->N * C, error)) == NULL ||
        !allocate_activations (m, error))
        return NULL;
    return g_steal_pointer (&m);
}

TslVideoMae *
tsl_videomae_new (TslBackend *be, const TslSafetensors *st, int max_batch, GError **error)
{
    const char *json = tsl_safetensors_get_metadata (st, "tsl.config");
    TslVideoMaeConfig config;
    GError *parse_error = NULL;

    if (json == NULL) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_FORMAT,
                     "%s: no 'tsl.config' metadata (the model configuration)",
                     tsl_safetensors_path (st));
        return NULL;
    }
    if (!tsl_videomae_config_parse (&config, json, -1, &parse_error)) {
        g_propagate_prefixed_error (error, parse_error, "%s: tsl.config: ",
                                    tsl_safetensors_path (st));
        return NULL;
    }
    return tsl_videomae_new_with_config (be, st, &config, max_batch, error);
}

void
tsl_videomae_free (TslVideoMae *m)
{
    if (m == NULL)
        return;
    tsl_arena_clear (&m->arena);
    g_ptr_array_unref (m->tensors);
    g_free (m->blocks);
    g_free (m->host_patches);
    g_free (m->host_hidden);
    g_free (m);
}

const TslVideoMaeConfig *
tsl_videomae_get_config (const TslVideoMae *m)
{
    return &m->cfg;
}

int
tsl_videomae_max_batch (const TslVideoMae *m)
{
    return m->max_batch;
}

/* ---- forward ---- */

/* patches[b * N + n, (c * tub + kt) * P * P + kh * P + kw] =
 * clips[b, c, n_t * tub + kt, n_h * P + kh, n_w * P + kw]: the Conv3d with
 * kernel = stride = (tub, P, P) becomes one GEMM over these rows. */
static void
extract_patches (const TslVideoMaeConfig *cfg, float *patches /* [B * N, K] */,
                 const float *clips /* [B, 3, T, S, S] */, int B)
{
    const int S = cfg->img_size, P = cfg->patch_size, tub = cfg->tubelet_size;
    const int T = cfg->all_frames, side = S / P, Nt = T / tub, N = Nt * side * side;
    const int K = tsl_videomae_config_patch_len (cfg);

#pragma omp parallel for
    for (int row = 0; row < B * N; row++) {
        const int b = row / N, n = row % N;
        const int n_t = n / (side * side), n_h = n / side % side, n_w = n % side;
        float *patch = patches + (size_t) row * K;

        for (int c = 0; c < cfg->in_chans; c++)
            for (int kt = 0; kt < tub; kt++) {
                const float *frame = clips + (((size_t) b * cfg->in_chans + c) * T +
                                              n_t * tub + kt) * S * S;
                for (int kh = 0; kh < P; kh++) {
                    const float *src = frame + (size_t) (n_h * P + kh) * S + n_w * P;
                    memcpy (patch, src, P * sizeof (float));
                    patch += P;
                }
            }
    }
}

/* out [R, n_out] = in [R, n_in] weight^T + bias */
static void
linear (TslBackend *be, float *out, const float *in, const float *weight, const float *bias,
        int R, int n_out, int n_in)
{
    be->ops->gemm (be, out, in, weight, 1, R, n_out, n_in, FALSE, TRUE, 1.0f, 0.0f, 0, 0, 0);
    if (bias != NULL)
        be->ops->bias_add (be, out, out, bias, R, n_out, 1);
}

static void
layer_norm (TslVideoMae *m, float *out /* [R, C] */, const float *x /* [R, C] */,
            const VmNorm *norm, int R)
{
    m->be->ops->layernorm (m->be, out, m->act.mean, m->act.rstd, x, norm->weight, norm->bias, R,
                           m->cfg.embed_dim, 1, (float) m->cfg.layernorm_eps);
}

/* x += branch, times the layer-scale gamma when there is one */
static void
residual_add (TslVideoMae *m, float *x /* [R, C] */, float *branch /* [R, C] */,
              const float *gamma /* [C] or NULL */, int R)
{
    const int C = m->cfg.embed_dim;

    if (gamma != NULL)
        m->be->ops->channel_scale (m->be, branch, branch, gamma, R, C, 1);
    m->be->ops->add (m->be, x, x, branch, (size_t) R * C);
}

static void
block_forward (TslVideoMae *m, const VmBlock *blk, int B)
{
    TslBackend *be = m->be;
    VmActivations *a = &m->act;
    const int C = m->cfg.embed_dim, R = B * m->N;
    const float scale = 1.0f / sqrtf ((float) (C / m->cfg.num_heads));

    /* attention branch */
    layer_norm (m, a->normed, a->x, &blk->norm1, R);
    linear (be, a->qkv, a->normed, blk->qkv_weight, blk->qkv_bias, R, 3 * C, C);
    be->ops->attention (be, a->attended, a->qkv, B, m->N, C, m->cfg.num_heads, scale);
    linear (be, a->branch, a->attended, blk->proj_weight, blk->proj_bias, R, C, C);
    residual_add (m, a->x, a->branch, blk->gamma_1, R);
    /* MLP branch */
    layer_norm (m, a->normed, a->x, &blk->norm2, R);
    linear (be, a->hidden, a->normed, blk->fc1_weight, blk->fc1_bias, R, m->Hm, C);
    be->ops->gelu (be, a->gelu, a->hidden, (size_t) R * m->Hm);
    linear (be, a->branch, a->gelu, blk->fc2_weight, blk->fc2_bias, R, C, m->Hm);
    residual_add (m, a->x, a->branch, blk->gamma_2, R);
}

/* One pass over clips first .. first + B - 1 (B <= max_batch). */
static gboolean
forward_batch (TslVideoMae *m, float *features, const float *clips, int first, int B,
               TslVideoMaeHiddenFunc hidden_func, gpointer user_data, GError **error)
{
    TslBackend *be = m->be;
    VmActivations *a = &m->act;
    const int C = m->cfg.embed_dim, N = m->N, R = B * N;

    extract_patches (&m->cfg, m->host_patches, clips, B);
    tsl_backend_upload (be, a->patches, m->host_patches, (size_t) R * m->K * sizeof (float));
    linear (be, a->x, a->patches, m->patch_weight, m->patch_bias, R, C, m->K);
    for (int b = 0; b < B; b++) {
        float *x_b = a->x + (size_t) b * N * C;
        be->ops->add (be, x_b, x_b, m->pos_table, (size_t) N * C);
    }
    for (int i = 0; i < m->cfg.depth; i++) {
        block_forward (m, &m->blocks[i], B);
        if (hidden_func != NULL) {
            if (m->host_hidden == NULL)
                m->host_hidden = g_new (float, (size_t) m->max_batch * N * C);
            tsl_backend_download (be, m->host_hidden, a->x, (size_t) R * C * sizeof (float));
            if (!tsl_backend_synchronize (be, error))
                return FALSE;
            hidden_func (i, first, m->host_hidden, B, N, C, user_data);
        }
    }
    be->ops->mean (be, a->pooled, a->x, B, N, C);
    be->ops->layernorm (be, a->features, a->mean, a->rstd, a->pooled, m->fc_norm.weight,
                        m->fc_norm.bias, B, C, 1, (float) m->cfg.layernorm_eps);
    tsl_backend_download (be, features, a->features, (size_t) B * C * sizeof (float));
    return tsl_backend_synchronize (be, error);
}

gboolean
tsl_videomae_forward (TslVideoMae *m, float *features, const float *clips, int B,
                      TslVideoMaeHiddenFunc hidden_func, gpointer user_data, GError **error)
{
    const TslVideoMaeConfig *cfg = &m->cfg;
    const size_t clip_len = (size_t) cfg->in_chans * cfg->all_frames * cfg->img_size *
                            cfg->img_size;

    for (int b0 = 0; b0 < B; b0 += m->max_batch) {
        const int n = MIN (m->max_batch, B - b0);
        if (!forward_batch (m, features + (size_t) b0 * cfg->embed_dim,
                            clips + (size_t) b0 * clip_len, b0, n, hidden_func, user_data, error))
            return FALSE;
    }
    return TRUE;
}
