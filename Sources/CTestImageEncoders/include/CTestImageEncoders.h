#ifndef MYSEHAT_TEST_IMAGE_ENCODERS_H
#define MYSEHAT_TEST_IMAGE_ENCODERS_H

/* Test-only encoders that make real PNG, WebP and JPEG variants (the product only ever writes
   baseline RGB JPEG), and a pattern to fill them with. Each returns 0 on success and a malloc'ed
   file in `*out` (release it with test_image_free); any library error is caught here. */

#include <stddef.h>
#include <stdint.h>

/* Samples laid out as libpng expects them for `color_type` and `bit_depth` (rows packed MSB first
   below 8 bits, 16-bit samples big-endian). `palette` holds `palette_entries` RGB triples, `trns`
   `trns_count` bytes (palette alpha) or one 16-bit grey/RGB value (big-endian, 2 or 6 bytes). */
int test_png_encode(const uint8_t *samples, uint32_t width, uint32_t height, int color_type, int bit_depth, int interlaced,
                    const uint8_t *palette, int palette_entries, const uint8_t *trns, int trns_count,
                    uint8_t **out, size_t *out_size);

/* RGBA pixels; lossless, or lossy at `quality` (0-100). */
int test_webp_encode(const uint8_t *rgba, uint32_t width, uint32_t height, int lossless, float quality,
                     uint8_t **out, size_t *out_size);

/* 1 (grey), 3 (RGB) or 4 (CMYK, written with an Adobe marker, so values are stored inverted as
   Photoshop does) components a pixel. */
int test_jpeg_encode(const uint8_t *samples, uint32_t width, uint32_t height, int components, int progressive, int quality,
                     uint8_t **out, size_t *out_size);

/* Fills `rgb` (width * height * 3) with smooth gradients and a little texture, like a photo. */
void test_image_pattern(uint8_t *rgb, uint32_t width, uint32_t height);

void test_image_free(uint8_t *bytes);

#endif
