/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Compares CPU ops, called through the backend's op table, with results
 * PyTorch computed: tests/data/op-fixtures.safetensors, written by
 * tools/make-op-fixtures.py (see there for what each group holds).
 *
 * - focal and DIoU losses of ActionFormer and their autograd gradients, in
 *   float64 (tight tolerances) and in PyTorch's float32 (looser);
 * - 5 steps of torch.optim.AdamW, with and without weight decay;
 * - gradient clipping as torch.nn.utils.clip_grad_norm_: sum_squares per
 *   tensor, the root of their sum, then scale;
 * - ActionFormer's chunked local attention (LocalMaskedMHCA) with a padded
 *   tail, depthwise strided conv1d with MaskedConv1D's output mask, and
 *   ActionFormer's channel LayerNorm, forward and backward.
 *
 * Except for AdamW, clipping and the *_f32 losses (PyTorch's own float32),
 * references were computed in float64 from the stored float32 inputs and
 * rounded once, so the tolerances below mostly cover the ops' own float32
 * rounding. The file carries a version in its metadata; on a
 * mismatch every test fails and says which script to rerun.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "io/safetensors.h"
#include "ops.h"

#define FIXTURE_FILE "op-fixtures.safetensors"
#define FIXTURE_GENERATOR "tools/make-op-fixtures.py"
#define FIXTURE_VERSION "1"

static TslSafetensors *fixtures;   /* opened once by main */
static char *fixture_problem;      /* why fixtures cannot be used, or NULL */
static TslBackend *be;

/* FALSE (and a failed test) when the fixture file is missing or stale */
static gboolean
require_fixtures (void)
{
    if (fixture_problem == NULL)
        return TRUE;
    printf ("# %s\n# regenerate it with: /usr/bin/python3 %s  NOT OK\n", fixture_problem,
            FIXTURE_GENERATOR);
    g_test_fail ();
    return FALSE;
}

/* the entry named by format, which must have ndim dimensions */
static const TslSafetensorsEntry *entry (int ndim, const char *format, ...) G_GNUC_PRINTF (2, 3);
static const TslSafetensorsEntry *
entry (int ndim, const char *format, ...)
{
    va_list args;
    g_autofree char *name = NULL;
    const TslSafetensorsEntry *e;

    va_start (args, format);
    name = g_strdup_vprintf (format, args);
    va_end (args);
    e = tsl_safetensors_find (fixtures, name);
    if (e == NULL)
        g_error ("%s: no tensor %s", FIXTURE_FILE, name);
    if (e->ndim != ndim)
        g_error ("%s: %s has %d dimensions, not %d", FIXTURE_FILE, name, e->ndim, ndim);
    return e;
}

static float *
load_named (const char *name, size_t n)
{
    g_autoptr (GError) error = NULL;
    float *x = g_new (float, n);

    if (!tsl_safetensors_read_f32 (fixtures, name, x, n, &error))
        g_error ("%s", error->message);
    return x;
}

/* a new float32 copy of the tensor named by format, which must hold n
 * elements */
static float *load (size_t n, const char *format, ...) G_GNUC_PRINTF (2, 3);
static float *
load (size_t n, const char *format, ...)
{
    va_list args;
    g_autofree char *name = NULL;

    va_start (args, format);
    name = g_strdup_vprintf (format, args);
    va_end (args);
    return load_named (name, n);
}

/* a new double copy of the F64 tensor named by format, which must hold n
 * elements */
static double *load_f64 (size_t n, const char *format, ...) G_GNUC_PRINTF (2, 3);
static double *
load_f64 (size_t n, const char *format, ...)
{
    va_list args;
    g_autofree char *name = NULL;
    const TslSafetensorsEntry *e;
    double *x = g_new (double, n);

    va_start (args, format);
    name = g_strdup_vprintf (format, args);
    va_end (args);
    e = tsl_safetensors_find (fixtures, name);
    if (e == NULL || e->dtype != TSL_DTYPE_F64 || e->nbytes != n * sizeof (double))
        g_error ("%s: %s is missing or not F64 with %zu elements", FIXTURE_FILE, name, n);
    for (size_t i = 0; i < n; i++) {
        guint64 bits;

        memcpy (&bits, (const char *) e->data + i * sizeof (bits), sizeof (bits));
        bits = GUINT64_FROM_LE (bits);
        memcpy (&x[i], &bits, sizeof (bits));
    }
    return x;
}

/* compares got[n] with the fixture tensor named by format */
static gboolean check_fixture (const char *what, const float *got, size_t n, double atol,
                               double rtol, const char *format, ...) G_GNUC_PRINTF (6, 7);
static gboolean
check_fixture (const char *what, const float *got, size_t n, double atol, double rtol,
               const char *format, ...)
{
    va_list args;
    g_autofree char *name = NULL;
    g_autofree float *ref = NULL;

    va_start (args, format);
    name = g_strdup_vprintf (format, args);
    va_end (args);
    ref = load_named (name, n);
    return tsl_test_check_close_f (what, got, ref, n, atol, rtol);
}

/* ---- metadata ---- */

static void
test_metadata (void)
{
    if (!require_fixtures ())
        return;
    g_assert_cmpstr (tsl_safetensors_get_metadata (fixtures, "generator"), ==,
                     FIXTURE_GENERATOR);
}

/* ---- losses ---- */

static void
test_focal_loss (gconstpointer data)
{
    const int i = GPOINTER_TO_INT (data);

    if (!require_fixtures ())
        return;
    const TslSafetensorsEntry *e = entry (2, "focal.%d.logits", i);
    const int N = (int) e->shape[0], K = (int) e->shape[1];
    const size_t nk = (size_t) N * K;
    float *logits = load (nk, "focal.%d.logits", i), *targets = load (nk, "focal.%d.targets", i);
    float *valid = load (N, "focal.%d.valid", i);
    float *alpha = load (1, "focal.%d.alpha", i), *gamma = load (1, "focal.%d.gamma", i);
    double *loss_f64 = load_f64 (1, "focal.%d.loss_f64", i);
    double *dlogits_f64 = load_f64 (nk, "focal.%d.dlogits_f64", i);
    float *loss = tsl_test_alloc_guarded (1), *dlogits = tsl_test_alloc_guarded (nk);

    be->ops->focal_loss (be, loss, logits, targets, valid, N, K, alpha[0], gamma[0]);
    be->ops->focal_loss_backward (be, dlogits, logits, targets, valid, N, K, alpha[0], gamma[0],
                                  1.0f);

    /* float64: a sum of non-negative terms, each a few float ulps off */
    tsl_test_check_close ("focal loss vs f64", loss, loss_f64, 1, 1e-6, 4e-6);
    tsl_test_check_close ("focal dlogits vs f64", dlogits, dlogits_f64, nk, 1e-6, 1e-5);
    /* float32 PyTorch sums in another order and forms 1 - p as 1 - sigmoid,
     * which loses digits of small terms */
    check_fixture ("focal loss vs f32", loss, 1, 1e-5, 1e-5, "focal.%d.loss_f32", i);
    check_fixture ("focal dlogits vs f32", dlogits, nk, 1e-5, 1e-4, "focal.%d.dlogits_f32", i);

    tsl_test_free_guarded ("focal loss", loss, 1);
    tsl_test_free_guarded ("focal dlogits", dlogits, nk);
    g_free (logits);
    g_free (targets);
    g_free (valid);
    g_free (alpha);
    g_free (gamma);
    g_free (loss_f64);
    g_free (dlogits_f64);
}

static void
test_diou_loss (gconstpointer data)
{
    const int i = GPOINTER_TO_INT (data);

    if (!require_fixtures ())
        return;
    const int N = (int) entry (2, "diou.%d.pred", i)->shape[0];
    float *pred = load (2 * N, "diou.%d.pred", i), *target = load (2 * N, "diou.%d.target", i);
    float *weight = load (N, "diou.%d.weight", i), *eps = load (1, "diou.%d.eps", i);
    double *loss_f64 = load_f64 (1, "diou.%d.loss_f64", i);
    double *dpred_f64 = load_f64 (2 * N, "diou.%d.dpred_f64", i);
    float *loss = tsl_test_alloc_guarded (1), *dpred = tsl_test_alloc_guarded (2 * N);

    be->ops->diou_loss (be, loss, pred, target, weight, N, eps[0]);
    be->ops->diou_loss_backward (be, dpred, pred, target, weight, N, eps[0], 1.0f);

    /* terms in [0, 2], each a few float ulps off; slopes up to 1 / 0.2 */
    tsl_test_check_close ("diou loss vs f64", loss, loss_f64, 1, 1e-6 * N, 4e-6);
    tsl_test_check_close ("diou dpred vs f64", dpred, dpred_f64, 2 * N, 1e-6, 1e-5);
    /* the same float32 formulas in another summation order */
    check_fixture ("diou loss vs f32", loss, 1, 1e-6 * N, 4e-6, "diou.%d.loss_f32", i);
    check_fixture ("diou dpred vs f32", dpred, 2 * N, 2e-6, 2e-5, "diou.%d.dpred_f32", i);

    tsl_test_free_guarded ("diou loss", loss, 1);
    tsl_test_free_guarded ("diou dpred", dpred, 2 * N);
    g_free (pred);
    g_free (target);
    g_free (weight);
    g_free (eps);
    g_free (loss_f64);
    g_free (dpred_f64);
}

/* ---- optimiser ---- */

static void
test_adamw (void)
{
    static const char *const groups[] = { "decay", "plain" };

    if (!require_fixtures ())
        return;
    /* the script's hyper-parameters, as the Python doubles it used; the
     * fixture stores them as float32, which must agree */
    static const double hp[5] = { 1e-3, 0.9, 0.999, 1e-8, 0.05 };  /* lr, b1, b2, eps, wd */
    g_autofree float *stored = load (5, "adamw.hparams");

    for (int i = 0; i < 5; i++)
        g_assert_cmpfloat (stored[i], ==, (float) hp[i]);

    for (guint gi = 0; gi < G_N_ELEMENTS (groups); gi++) {
        const char *group = groups[gi];
        const double weight_decay = gi == 0 ? hp[4] : 0.0;
        const size_t n = tsl_safetensors_entry_numel (entry (gi == 0 ? 2 : 1, "adamw.%s.init",
                                                             group));
        float *param = tsl_test_alloc_guarded (n);
        float *m = tsl_test_alloc_guarded (n), *v = tsl_test_alloc_guarded (n);
        g_autofree float *init = load (n, "adamw.%s.init", group);

        memcpy (param, init, n * sizeof (float));
        for (int step = 1; step <= 5; step++) {
            g_autofree float *grad = load (n, "adamw.%s.grad%d", group, step);
            g_autofree char *what = g_strdup_printf ("adamw %s param step %d", group, step);

            be->ops->adamw (be, param, m, v, grad, n, hp[0], hp[1], hp[2], hp[3], weight_decay,
                            step);
            /* the same float32 operations in the same order with the same
             * scalar factors; PyTorch's vectorised kernels may fuse a
             * multiply-add where C does not: one rounding step apart */
            check_fixture (what, param, n, 0.0, 2.5e-7, "adamw.%s.param%d", group, step);
        }
        /* m sums terms up to 0.05 that can cancel: one rounding of such a
         * term (3e-9) shows as a large relative error on a small result */
        check_fixture ("adamw exp_avg", m, n, 2e-8, 5e-7, "adamw.%s.exp_avg", group);
        check_fixture ("adamw exp_avg_sq", v, n, 0.0, 5e-7, "adamw.%s.exp_avg_sq", group);

        tsl_test_free_guarded ("adamw param", param, n);
        tsl_test_free_guarded ("adamw m", m, n);
        tsl_test_free_guarded ("adamw v", v, n);
    }
}

/* clip_grad_norm_ with max_norm 1: total = sqrt(sum of squares of every
 * gradient), coefficient = min(1, max_norm / (total + 1e-6)) */
static void
test_clip_grad_norm (void)
{
    const float max_norm = 1.0f;
    float *grads[3];
    size_t sizes[3];
    double sum = 0.0;

    if (!require_fixtures ())
        return;
    for (int i = 0; i < 3; i++) {
        g_autofree char *name = g_strdup_printf ("clip.grad%d", i);
        float *partial = tsl_test_alloc_guarded (1);

        sizes[i] = tsl_safetensors_entry_numel (tsl_safetensors_find (fixtures, name));
        grads[i] = load_named (name, sizes[i]);
        be->ops->sum_squares (be, partial, grads[i], sizes[i]);
        sum += partial[0];
        tsl_test_free_guarded ("clip sum_squares", partial, 1);
    }
    float total = (float) sqrt (sum);
    /* PyTorch takes float32 norms of each tensor, then of their stack */
    check_fixture ("clip total_norm", &total, 1, 0.0, 1e-6, "clip.total_norm");

    const float coef = MIN (1.0f, max_norm / (total + 1e-6f));
    for (int i = 0; i < 3; i++) {
        float *clipped = tsl_test_alloc_guarded (sizes[i]);

        be->ops->scale (be, clipped, grads[i], coef, sizes[i]);
        /* one product with a coefficient known to the 1e-6 above */
        check_fixture ("clip clipped", clipped, sizes[i], 1e-9, 2e-6, "clip.clipped%d", i);
        tsl_test_free_guarded ("clip clipped", clipped, sizes[i]);
        g_free (grads[i]);
    }
}

/* ---- attention, convolution, normalisation ---- */

static void
test_local_attention (void)
{
    if (!require_fixtures ())
        return;
    const TslSafetensorsEntry *q_e = entry (3, "attn.q"), *att_e = entry (4, "attn.att");
    const int B = (int) q_e->shape[0], C = (int) q_e->shape[1], T = (int) q_e->shape[2];
    const int H = (int) att_e->shape[1], W = (int) att_e->shape[3];
    const size_t n = (size_t) B * C * T, n_att = (size_t) B * H * T * W;
    float *q = load (n, "attn.q"), *k = load (n, "attn.k"), *v = load (n, "attn.v");
    float *mask = load ((size_t) B * T, "attn.mask"), *dout = load (n, "attn.dout");
    float *scale = load (1, "attn.scale");
    float *out = tsl_test_alloc_guarded (n), *att = tsl_test_alloc_guarded (n_att);
    float *dq = tsl_test_alloc_guarded (n), *dk = tsl_test_alloc_guarded (n);
    float *dv = tsl_test_alloc_guarded (n);

    be->ops->local_attention (be, out, att, q, k, v, mask, B, C, T, H, W, scale[0]);
    be->ops->local_attention_backward (be, dq, dk, dv, dout, att, q, k, v, B, C, T, H, W,
                                       scale[0]);

    /* scores are sums of Dh = 4 products of unit normals, outputs convex
     * combinations of W = 9 values: float32 rounding of a few 1e-7 */
    check_fixture ("attn out", out, n, 2e-6, 1e-5, "attn.out");
    check_fixture ("attn att", att, n_att, 1e-6, 1e-5, "attn.att");
    /* gradients add W terms through the softmax Jacobian */
    check_fixture ("attn dq", dq, n, 1e-5, 1e-5, "attn.dq");
    check_fixture ("attn dk", dk, n, 1e-5, 1e-5, "attn.dk");
    check_fixture ("attn dv", dv, n, 1e-5, 1e-5, "attn.dv");

    tsl_test_free_guarded ("attn out", out, n);
    tsl_test_free_guarded ("attn att", att, n_att);
    tsl_test_free_guarded ("attn dq", dq, n);
    tsl_test_free_guarded ("attn dk", dk, n);
    tsl_test_free_guarded ("attn dv", dv, n);
    g_free (q);
    g_free (k);
    g_free (v);
    g_free (mask);
    g_free (dout);
    g_free (scale);
}

/* depthwise: groups = C, stride 2, padding K / 2 (as the generator) */
static void
test_conv1d (void)
{
    if (!require_fixtures ())
        return;
    const TslSafetensorsEntry *x_e = entry (3, "conv.x"), *out_e = entry (3, "conv.out");
    const int B = (int) x_e->shape[0], C = (int) x_e->shape[1], Tin = (int) x_e->shape[2];
    const int Tout = (int) out_e->shape[2], K = (int) entry (3, "conv.w")->shape[2];
    const int stride = 2, padding = K / 2;
    const size_t n_in = (size_t) B * C * Tin, n_out = (size_t) B * C * Tout;
    float *x = load (n_in, "conv.x"), *w = load ((size_t) C * K, "conv.w");
    float *bias = load (C, "conv.bias"), *mask = load ((size_t) B * Tout, "conv.mask_out");
    float *dout = load (n_out, "conv.dout");
    float *out = tsl_test_alloc_guarded (n_out), *dx = tsl_test_alloc_guarded (n_in);
    float *dw = tsl_test_alloc_guarded ((size_t) C * K), *dbias = tsl_test_alloc_guarded (C);

    be->ops->conv1d (be, out, x, w, bias, mask, B, C, C, Tin, Tout, K, stride, padding, C);
    be->ops->conv1d_backward (be, dx, dw, dbias, dout, x, w, mask, B, C, C, Tin, Tout, K,
                              stride, padding, C);

    /* K = 3 products per output; weight gradients sum B * Tout = 18 */
    check_fixture ("conv out", out, n_out, 1e-6, 1e-5, "conv.out");
    check_fixture ("conv dx", dx, n_in, 1e-6, 1e-5, "conv.dx");
    check_fixture ("conv dw", dw, (size_t) C * K, 1e-5, 1e-5, "conv.dw");
    check_fixture ("conv dbias", dbias, C, 1e-5, 1e-5, "conv.dbias");

    tsl_test_free_guarded ("conv out", out, n_out);
    tsl_test_free_guarded ("conv dx", dx, n_in);
    tsl_test_free_guarded ("conv dw", dw, (size_t) C * K);
    tsl_test_free_guarded ("conv dbias", dbias, C);
    g_free (x);
    g_free (w);
    g_free (bias);
    g_free (mask);
    g_free (dout);
}

static void
test_layernorm (void)
{
    if (!require_fixtures ())
        return;
    const TslSafetensorsEntry *x_e = entry (3, "ln.x");
    const int B = (int) x_e->shape[0], C = (int) x_e->shape[1], T = (int) x_e->shape[2];
    const size_t n = (size_t) B * C * T, bt = (size_t) B * T;
    float *x = load (n, "ln.x"), *gamma = load (C, "ln.gamma"), *beta = load (C, "ln.beta");
    float *dout = load (n, "ln.dout"), *eps = load (1, "ln.eps");
    float *out = tsl_test_alloc_guarded (n), *mean = tsl_test_alloc_guarded (bt);
    float *rstd = tsl_test_alloc_guarded (bt);
    float *dx = tsl_test_alloc_guarded (n), *dgamma = tsl_test_alloc_guarded (C);
    float *dbeta = tsl_test_alloc_guarded (C);

    be->ops->layernorm (be, out, mean, rstd, x, gamma, beta, B, C, T, eps[0]);
    be->ops->layernorm_backward (be, dx, dgamma, dbeta, dout, x, gamma, mean, rstd, B, C, T);

    /* normalised values of order 1 over C = 16 channels: a few ulps */
    check_fixture ("ln out", out, n, 2e-6, 1e-5, "ln.out");
    check_fixture ("ln mean", mean, bt, 1e-6, 1e-5, "ln.mean");
    check_fixture ("ln rstd", rstd, bt, 1e-6, 1e-5, "ln.rstd");
    /* dx subtracts two channel means of products; parameter gradients sum
     * B * T = 26 terms */
    check_fixture ("ln dx", dx, n, 1e-5, 1e-5, "ln.dx");
    check_fixture ("ln dgamma", dgamma, C, 1e-5, 1e-5, "ln.dgamma");
    check_fixture ("ln dbeta", dbeta, C, 1e-5, 1e-5, "ln.dbeta");

    tsl_test_free_guarded ("ln out", out, n);
    tsl_test_free_guarded ("ln mean", mean, bt);
    tsl_test_free_guarded ("ln rstd", rstd, bt);
    tsl_test_free_guarded ("ln dx", dx, n);
    tsl_test_free_guarded ("ln dgamma", dgamma, C);
    tsl_test_free_guarded ("ln dbeta", dbeta, C);
    g_free (x);
    g_free (gamma);
    g_free (beta);
    g_free (dout);
    g_free (eps);
}

/* Opens the fixture file and checks its version; a problem is reported by
 * every test rather than aborting, so the message reaches the TAP log. */
static void
open_fixtures (void)
{
    const char *dir = g_getenv ("TSL_TEST_DATA");
    g_autofree char *path = g_build_filename (dir != NULL ? dir : ".", FIXTURE_FILE, NULL);
    g_autoptr (GError) error = NULL;
    const char *version;

    fixtures = tsl_safetensors_open (path, &error);
    if (fixtures == NULL) {
        fixture_problem = g_strdup_printf ("cannot use the fixtures: %s", error->message);
        return;
    }
    version = tsl_safetensors_get_metadata (fixtures, "version");
    if (g_strcmp0 (version, FIXTURE_VERSION) != 0)
        fixture_problem = g_strdup_printf ("%s has version %s, this test expects %s", path,
                                           version != NULL ? version : "(none)",
                                           FIXTURE_VERSION);
}

int
main (int argc, char **argv)
{
    g_autoptr (GError) error = NULL;
    int status;

    g_test_init (&argc, &argv, NULL);
    be = tsl_backend_new ("cpu", &error);
    g_assert_no_error (error);
    open_fixtures ();

    g_test_add_func ("/cpu/fixtures/metadata", test_metadata);
    for (int i = 0; i < 3; i++) {
        g_autofree char *path = g_strdup_printf ("/cpu/fixtures/focal_loss/%d", i);
        g_test_add_data_func (path, GINT_TO_POINTER (i), test_focal_loss);
    }
    for (int i = 0; i < 2; i++) {
        g_autofree char *path = g_strdup_printf ("/cpu/fixtures/diou_loss/%d", i);
        g_test_add_data_func (path, GINT_TO_POINTER (i), test_diou_loss);
    }
    g_test_add_func ("/cpu/fixtures/adamw", test_adamw);
    g_test_add_func ("/cpu/fixtures/clip_grad_norm", test_clip_grad_norm);
    g_test_add_func ("/cpu/fixtures/local_attention", test_local_attention);
    g_test_add_func ("/cpu/fixtures/conv1d", test_conv1d);
    g_test_add_func ("/cpu/fixtures/layernorm", test_layernorm);
    status = g_test_run ();

    if (fixtures != NULL)
        tsl_safetensors_close (fixtures);
    g_free (fixture_problem);
    tsl_backend_free (be);
    return status;
}
