#ifndef MYSEHAT_IMAGE_CODEC_INTERNAL_H
#define MYSEHAT_IMAGE_CODEC_INTERNAL_H

/* Shared by the decoders of this library; not part of its interface. */

#include "CImageCodec.h"

/* Where a decoder writes why it failed. */
typedef struct failure_text {
    char *text;
    size_t size;
} failure_text;

void failure_set(failure_text *failure, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* MYSEHAT_IMAGE_TOO_LARGE (with a message) when the dimensions are over the limits. */
mysehat_image_status check_dimensions(uint64_t width, uint64_t height, failure_text *failure);

/* The size `width` x `height` is scaled to: width at most `max_width` (0: no limit), height
   keeping the aspect ratio, rounded, at least 1. */
void target_size(uint32_t width, uint32_t height, uint32_t max_width, uint32_t *target_width, uint32_t *target_height);

/* RGBA to RGB over a white background: straight (PNG) or premultiplied (libwebp's rgbA) alpha.
   `rgb` may be `rgba` itself (the pixels are compacted in place). */
void flatten_straight_alpha(const uint8_t *rgba, uint8_t *rgb, uint32_t count);
void flatten_premultiplied_alpha(const uint8_t *rgba, uint8_t *rgb, uint32_t count);

/* Scales an image down while it is decoded, one source row at a time, so only the output is ever
   held whole. Each output pixel is the average of the source area it covers, fractional pixels
   weighted by the part covered (a box filter), which keeps fine detail as an average where
   nearest-neighbour sampling would alias it. Source sizes must be at least the target's. */
typedef struct row_scaler {
    uint32_t source_width, source_height, width, height;
    uint8_t *pixels;     /* the output, width * height * 3 */
    uint32_t *x_first;   /* per output column: its first source column */
    uint32_t *x_count;   /* per output column: how many source columns it covers */
    float *x_weight;     /* per output column: x_span weights summing to 1 */
    uint32_t x_span;
    float *row;          /* the current source row, scaled horizontally: width * 3 */
    float *sum;          /* the output row being summed: width * 3 */
    uint32_t source_y, y;
} row_scaler;

/* MYSEHAT_IMAGE_NO_MEMORY when the buffers cannot be allocated. */
mysehat_image_status row_scaler_begin(row_scaler *scaler, uint32_t source_width, uint32_t source_height,
                                      uint32_t width, uint32_t height);
/* Adds the next source row (RGB, source_width pixels). */
void row_scaler_push(row_scaler *scaler, const uint8_t *rgb);
/* Hands the finished output to `out` (all source rows must have been pushed). */
void row_scaler_take(row_scaler *scaler, mysehat_image *out);
/* Frees what the scaler still holds; safe on a zeroed or finished scaler. */
void row_scaler_release(row_scaler *scaler);

mysehat_image_status decode_jpeg(const uint8_t *data, size_t size, uint32_t max_width, mysehat_image *out, failure_text *failure);
mysehat_image_status decode_png(const uint8_t *data, size_t size, uint32_t max_width, mysehat_image *out, failure_text *failure);
mysehat_image_status decode_webp(const uint8_t *data, size_t size, uint32_t max_width, mysehat_image *out, failure_text *failure);

#endif
