#include "codec_internal.h"

#include <stdlib.h>
#include <string.h>

#include <webp/decode.h>

static const char *describe(VP8StatusCode code) {
    switch (code) {
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_SUSPENDED: return "suspended";
    case VP8_STATUS_USER_ABORT: return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "not enough data";
    default: return "unknown error";
    }
}

/* libwebp reports errors by return value (no longjmp). It scales while it decodes, with its own
   area-averaging rescaler, so only the output size is ever allocated. With alpha it decodes to
   premultiplied RGBA (rgbA), whose scaled pixels weigh each source pixel by its opacity, and
   flattening onto white is then a plain addition. */
mysehat_image_status decode_webp(const uint8_t *data, size_t size, uint32_t max_width, mysehat_image *out, failure_text *failure) {
    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config)) {
        failure_set(failure, "WebP: decoder version mismatch");
        return MYSEHAT_IMAGE_UNSUPPORTED;
    }
    VP8StatusCode code = WebPGetFeatures(data, size, &config.input);
    if (code != VP8_STATUS_OK) {
        failure_set(failure, "WebP: %s", describe(code));
        return MYSEHAT_IMAGE_CORRUPT;
    }
    if (config.input.has_animation) {
        failure_set(failure, "WebP: animated images are not decoded");
        return MYSEHAT_IMAGE_UNSUPPORTED;
    }
    uint32_t source_width = (uint32_t)config.input.width, source_height = (uint32_t)config.input.height;
    mysehat_image_status status = check_dimensions(source_width, source_height, failure);
    if (status != MYSEHAT_IMAGE_OK) return status;
    uint32_t width, height;
    target_size(source_width, source_height, max_width, &width, &height);
    if (width != source_width) {
        config.options.use_scaling = 1;
        config.options.scaled_width = (int)width;
        config.options.scaled_height = (int)height;
    }

    int alpha = config.input.has_alpha;
    size_t stride = (size_t)width * (alpha ? 4 : 3);
    uint8_t *pixels = malloc(stride * height);
    if (pixels == NULL) {
        failure_set(failure, "WebP: no memory for %ux%u pixels", width, height);
        return MYSEHAT_IMAGE_NO_MEMORY;
    }
    config.output.colorspace = alpha ? MODE_rgbA : MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = pixels;
    config.output.u.RGBA.stride = (int)stride;
    config.output.u.RGBA.size = stride * height;
    code = WebPDecode(data, size, &config);
    WebPFreeDecBuffer(&config.output);
    if (code != VP8_STATUS_OK) {
        free(pixels);
        failure_set(failure, "WebP: %s", describe(code));
        return code == VP8_STATUS_OUT_OF_MEMORY ? MYSEHAT_IMAGE_NO_MEMORY : MYSEHAT_IMAGE_CORRUPT;
    }
    if (alpha) {
        flatten_premultiplied_alpha(pixels, pixels, width * height);
        uint8_t *smaller = realloc(pixels, (size_t)width * height * 3);
        if (smaller != NULL) pixels = smaller;
    }
    out->pixels = pixels;
    out->width = width;
    out->height = height;
    return MYSEHAT_IMAGE_OK;
}
