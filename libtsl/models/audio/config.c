/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * config.c: defaults and JSON parsing of the audio model's configuration
 * (config.h), with the typed field readers of ../config-fields.h.
 */
#include "config.h"

#include <json-glib/json-glib.h>

#include "../../error.h"
#include "../config-fields.h"

static const char *const head_names[] = { "backbone", "va", "vat" };
static const char *const spectrogram_names[] = { "magnitude", "power" };

/* every key tsl.config may hold */
static const char *const known_keys[] = {
    "sample_rate", "window_samples", "frame_length", "frame_step", "fft_length", "pad_end",
    "num_mel_bins", "lower_edge_hertz", "upper_edge_hertz", "spectrogram", "log_offset",
    "width", "blocks", "bn_eps", "va_dim", "vat_dim", "head",
};

void
tsl_audio_config_init (TslAudioConfig *cfg)
{
    static const int official_blocks[TSL_AUDIO_N_STAGES] = { 3, 4, 6, 3 };

    *cfg = (TslAudioConfig) {
        .logmel = {
            .sample_rate = 48000,
            .frame_length = 2048,
            .frame_step = 1024,
            .fft_length = 2048,
            .pad_end = TRUE,
            .num_mel_bins = 80,
            .lower_edge_hertz = 80.0,
            .upper_edge_hertz = 7600.0,
            .spectrogram = TSL_SPECTROGRAM_MAGNITUDE,
            .log_offset = 1e-6,
        },
        .window_samples = 153600,
        .width = 64,
        .bn_eps = 1e-5,
        .va_dim = 512,
        .vat_dim = 256,
        .head = TSL_AUDIO_HEAD_VAT,
    };
    for (int g = 0; g < TSL_AUDIO_N_STAGES; g++)
        cfg->blocks[g] = official_blocks[g];
}

const char *
tsl_audio_head_name (TslAudioHead head)
{
    return head_names[head];
}

gboolean
tsl_audio_head_from_name (const char *name, TslAudioHead *head)
{
    for (int i = 0; i < (int) G_N_ELEMENTS (head_names); i++) {
        if (g_strcmp0 (name, head_names[i]) == 0) {
            *head = (TslAudioHead) i;
            return TRUE;
        }
    }
    return FALSE;
}

int
tsl_audio_config_stage_channels (const TslAudioConfig *cfg, int stage)
{
    return 4 * cfg->width << stage;
}

int
tsl_audio_config_head_dim (const TslAudioConfig *cfg, TslAudioHead head)
{
    switch (head) {
    case TSL_AUDIO_HEAD_VA:
        return cfg->va_dim;
    case TSL_AUDIO_HEAD_VAT:
        return cfg->vat_dim;
    default:
        return tsl_audio_config_stage_channels (cfg, TSL_AUDIO_N_STAGES - 1);
    }
}

static gboolean
check_known_keys (const TslCfgSection *s, GError **error)
{
    g_autoptr (GList) members = json_object_get_members (s->obj);

    for (GList *l = members; l != NULL; l = l->next) {
        gboolean known = FALSE;
        for (size_t i = 0; i < G_N_ELEMENTS (known_keys); i++)
            known |= g_str_equal (l->data, known_keys[i]);
        if (!known) {
            g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG, "%s: unknown key '%s'", s->name,
                         (const char *) l->data);
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean
parse_blocks (const TslCfgSection *s, TslAudioConfig *cfg, GError **error)
{
    JsonNode *node = tsl_cfg_member (s, "blocks");
    const char *expected = "an array of 4 integers in [1, 64]";
    JsonArray *array;

    if (node == NULL)
        return TRUE;
    array = tsl_cfg_array (s, "blocks", node, TSL_AUDIO_N_STAGES, expected, error);
    if (array == NULL)
        return FALSE;
    for (int g = 0; g < TSL_AUDIO_N_STAGES; g++) {
        if (!tsl_cfg_node_int (json_array_get_element (array, g), 1, 64, &cfg->blocks[g]))
            return tsl_cfg_bad_value (s, "blocks", node, expected, error);
    }
    return TRUE;
}

/* fft_length defaults to the smallest power of two >= frame_length, as in
 * tf.signal.stft */
static int
default_fft_length (int frame_length)
{
    int n = 1;

    while (n < frame_length && n < (1 << 24))
        n *= 2;
    return n;
}

gboolean
tsl_audio_config_parse (TslAudioConfig *cfg, const char *json, GError **error)
{
    g_autoptr (JsonParser) parser = json_parser_new ();
    GError *parse_error = NULL;
    TslLogmelConfig *lm = &cfg->logmel;
    TslCfgSection s = { NULL, "tsl.config" };
    int spectrogram = lm->spectrogram, head = cfg->head, fft_length = 0;

    if (!json_parser_load_from_data (parser, json, -1, &parse_error)) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG, "tsl.config: not JSON: %s",
                     parse_error->message);
        g_error_free (parse_error);
        return FALSE;
    }
    if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
        g_set_error (error, TSL_ERROR, TSL_ERROR_CONFIG, "tsl.config: not a JSON object");
        return FALSE;
    }
    s.obj = json_node_get_object (json_parser_get_root (parser));
    if (!check_known_keys (&s, error) ||
        !tsl_cfg_int (&s, "sample_rate", 1, 1000000, &lm->sample_rate, error) ||
        !tsl_cfg_int (&s, "window_samples", 1, G_MAXINT / 2, &cfg->window_samples, error) ||
        !tsl_cfg_int (&s, "frame_length", 1, 1 << 24, &lm->frame_length, error) ||
        !tsl_cfg_int (&s, "frame_step", 1, 1 << 24, &lm->frame_step, error) ||
        !tsl_cfg_int (&s, "fft_length", 2, 1 << 24, &fft_length, error) ||
        !tsl_cfg_bool (&s, "pad_end", &lm->pad_end, error) ||
        !tsl_cfg_int (&s, "num_mel_bins", 1, 4096, &lm->num_mel_bins, error) ||
        !tsl_cfg_double (&s, "lower_edge_hertz", 0.0, 1e6, FALSE, 0.0, &lm->lower_edge_hertz,
                         error) ||
        !tsl_cfg_double (&s, "upper_edge_hertz", 0.0, 1e6, FALSE, 0.0, &lm->upper_edge_hertz,
                         error) ||
        !tsl_cfg_choice (&s, "spectrogram", spectrogram_names,
                         G_N_ELEMENTS (spectrogram_names), &spectrogram, error) ||
        !tsl_cfg_double (&s, "log_offset", 0.0, 1e6, FALSE, 0.0, &lm->log_offset, error) ||
        !tsl_cfg_int (&s, "width", 1, 4096, &cfg->width, error) ||
        !parse_blocks (&s, cfg, error) ||
        !tsl_cfg_double (&s, "bn_eps", 0.0, 1.0, FALSE, 0.0, &cfg->bn_eps, error) ||
        !tsl_cfg_int (&s, "va_dim", 1, 1 << 16, &cfg->va_dim, error) ||
        !tsl_cfg_int (&s, "vat_dim", 1, 1 << 16, &cfg->vat_dim, error) ||
        !tsl_cfg_choice (&s, "head", head_names, G_N_ELEMENTS (head_names), &head, error))
        return FALSE;
    lm->spectrogram = (TslSpectrogramKind) spectrogram;
    cfg->head = (TslAudioHead) head;
    if (fft_length != 0)
        lm->fft_length = fft_length;
    else if (tsl_cfg_member (&s, "frame_length") != NULL)
        lm->fft_length = default_fft_length (lm->frame_length);
    return TRUE;
}
