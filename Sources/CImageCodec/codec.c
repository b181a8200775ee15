#include "codec_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void failure_set(failure_text *failure, const char *format, ...) {
    if (failure->text == NULL || failure->size == 0) return;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(failure->text, failure->size, format, arguments);
    va_end(arguments);
}

mysehat_image_status check_dimensions(uint64_t width, uint64_t height, failure_text *failure) {
    if (width == 0 || height == 0) {
        failure_set(failure, "empty image (%llux%llu)", (unsigned long long)width, (unsigned long long)height);
        return MYSEHAT_IMAGE_CORRUPT;
    }
    if (width > MYSEHAT_IMAGE_MAX_SIDE || height > MYSEHAT_IMAGE_MAX_SIDE || width * height > MYSEHAT_IMAGE_MAX_PIXELS) {
        failure_set(failure, "image of %llux%llu pixels is over the limit", (unsigned long long)width, (unsigned long long)height);
        return MYSEHAT_IMAGE_TOO_LARGE;
    }
    return MYSEHAT_IMAGE_OK;
}

void target_size(uint32_t width, uint32_t height, uint32_t max_width, uint32_t *target_width, uint32_t *target_height) {
    if (max_width == 0 || width <= max_width) {
        *target_width = width;
        *target_height = height;
        return;
    }
    uint64_t scaled = ((uint64_t)height * max_width * 2 + width) / ((uint64_t)width * 2);  /* rounded */
    *target_width = max_width;
    *target_height = scaled == 0 ? 1 : (uint32_t)scaled;
}

void flatten_straight_alpha(const uint8_t *rgba, uint8_t *rgb, uint32_t count) {
    for (uint32_t i = 0; i < count; i++) {
        /* The whole pixel is read before it is written: in place, its output overlaps its own input
           (never a later pixel's). */
        uint32_t r = rgba[4 * i], g = rgba[4 * i + 1], b = rgba[4 * i + 2], a = rgba[4 * i + 3];
        uint32_t white = 255 * (255 - a);
        rgb[3 * i] = (uint8_t)((r * a + white + 127) / 255);
        rgb[3 * i + 1] = (uint8_t)((g * a + white + 127) / 255);
        rgb[3 * i + 2] = (uint8_t)((b * a + white + 127) / 255);
    }
}

void flatten_premultiplied_alpha(const uint8_t *rgba, uint8_t *rgb, uint32_t count) {
    for (uint32_t i = 0; i < count; i++) {
        uint32_t r = rgba[4 * i], g = rgba[4 * i + 1], b = rgba[4 * i + 2], a = rgba[4 * i + 3];
        uint32_t white = 255 - a;
        rgb[3 * i] = (uint8_t)(r + white > 255 ? 255 : r + white);
        rgb[3 * i + 1] = (uint8_t)(g + white > 255 ? 255 : g + white);
        rgb[3 * i + 2] = (uint8_t)(b + white > 255 ? 255 : b + white);
    }
}

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};

mysehat_image_status mysehat_image_decode(const uint8_t *data, size_t size, uint32_t max_width,
                                          mysehat_image *out, char *message, size_t message_size) {
    failure_text failure = {message, message_size};
    if (message != NULL && message_size > 0) message[0] = '\0';
    memset(out, 0, sizeof *out);
    if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) {
        return decode_jpeg(data, size, max_width, out, &failure);
    }
    if (size >= 8 && memcmp(data, png_signature, 8) == 0) {
        return decode_png(data, size, max_width, out, &failure);
    }
    if (size >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0) {
        return decode_webp(data, size, max_width, out, &failure);
    }
    failure_set(&failure, "not a JPEG, PNG or WebP file");
    return MYSEHAT_IMAGE_UNSUPPORTED;
}

void mysehat_image_free(mysehat_image *image) {
    free(image->pixels);
    memset(image, 0, sizeof *image);
}
