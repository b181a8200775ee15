#include "codec_internal.h"

#include <stdlib.h>
#include <string.h>

/* Coordinates are kept exact in integers: source pixel i spans [i * out, (i + 1) * out) and output
   pixel j spans [j * in, (j + 1) * in), where `in` and `out` are the source and output sizes. */

static uint64_t overlap(uint64_t a_start, uint64_t a_end, uint64_t b_start, uint64_t b_end) {
    uint64_t start = a_start > b_start ? a_start : b_start;
    uint64_t end = a_end < b_end ? a_end : b_end;
    return end > start ? end - start : 0;
}

mysehat_image_status row_scaler_begin(row_scaler *scaler, uint32_t source_width, uint32_t source_height,
                                      uint32_t width, uint32_t height) {
    memset(scaler, 0, sizeof *scaler);
    scaler->source_width = source_width;
    scaler->source_height = source_height;
    scaler->width = width;
    scaler->height = height;
    scaler->x_span = (source_width + width - 1) / width + 1;
    scaler->pixels = malloc((size_t)width * height * 3);
    scaler->x_first = malloc(sizeof(uint32_t) * width);
    scaler->x_count = malloc(sizeof(uint32_t) * width);
    scaler->x_weight = malloc(sizeof(float) * width * scaler->x_span);
    scaler->row = malloc(sizeof(float) * width * 3);
    scaler->sum = calloc((size_t)width * 3, sizeof(float));
    if (!scaler->pixels || !scaler->x_first || !scaler->x_count || !scaler->x_weight || !scaler->row || !scaler->sum) {
        row_scaler_release(scaler);
        return MYSEHAT_IMAGE_NO_MEMORY;
    }
    for (uint32_t x = 0; x < width; x++) {
        uint64_t start = (uint64_t)x * source_width, end = start + source_width;
        uint32_t first = (uint32_t)(start / width);
        uint32_t count = 0;
        for (uint32_t i = first; i < source_width && (uint64_t)i * width < end; i++, count++) {
            uint64_t covered = overlap((uint64_t)i * width, (uint64_t)(i + 1) * width, start, end);
            scaler->x_weight[(size_t)x * scaler->x_span + count] = (float)covered / (float)source_width;
        }
        scaler->x_first[x] = first;
        scaler->x_count[x] = count;
    }
    return MYSEHAT_IMAGE_OK;
}

static void emit_row(row_scaler *scaler) {
    uint8_t *out = scaler->pixels + (size_t)scaler->y * scaler->width * 3;
    for (uint32_t i = 0; i < scaler->width * 3; i++) {
        float value = scaler->sum[i] + 0.5f;
        out[i] = value >= 255.0f ? 255 : value <= 0.0f ? 0 : (uint8_t)value;
        scaler->sum[i] = 0.0f;
    }
    scaler->y++;
}

void row_scaler_push(row_scaler *scaler, const uint8_t *rgb) {
    if (scaler->source_y >= scaler->source_height) return;
    if (scaler->source_width == scaler->width && scaler->source_height == scaler->height) {
        /* Nothing to scale: the row is the output row. */
        memcpy(scaler->pixels + (size_t)scaler->source_y * scaler->width * 3, rgb, (size_t)scaler->width * 3);
        scaler->source_y++;
        scaler->y++;
        return;
    }
    for (uint32_t x = 0; x < scaler->width; x++) {
        const uint8_t *source = rgb + (size_t)scaler->x_first[x] * 3;
        const float *weight = scaler->x_weight + (size_t)x * scaler->x_span;
        float r = 0, g = 0, b = 0;
        for (uint32_t k = 0; k < scaler->x_count[x]; k++, source += 3) {
            r += source[0] * weight[k];
            g += source[1] * weight[k];
            b += source[2] * weight[k];
        }
        scaler->row[3 * x] = r;
        scaler->row[3 * x + 1] = g;
        scaler->row[3 * x + 2] = b;
    }
    /* This source row spans [start, end); it adds to every output row it overlaps (at most two,
       since the image only shrinks) and completes each output row that ends within it. */
    uint64_t start = (uint64_t)scaler->source_y * scaler->height, end = start + scaler->height;
    while (scaler->y < scaler->height) {
        uint64_t row_start = (uint64_t)scaler->y * scaler->source_height, row_end = row_start + scaler->source_height;
        float weight = (float)overlap(start, end, row_start, row_end) / (float)scaler->source_height;
        if (weight > 0) {
            for (uint32_t i = 0; i < scaler->width * 3; i++) scaler->sum[i] += scaler->row[i] * weight;
        }
        if (row_end > end) break;
        emit_row(scaler);
    }
    scaler->source_y++;
}

void row_scaler_take(row_scaler *scaler, mysehat_image *out) {
    out->pixels = scaler->pixels;
    out->width = scaler->width;
    out->height = scaler->height;
    scaler->pixels = NULL;
}

void row_scaler_release(row_scaler *scaler) {
    free(scaler->pixels);
    free(scaler->x_first);
    free(scaler->x_count);
    free(scaler->x_weight);
    free(scaler->row);
    free(scaler->sum);
    memset(scaler, 0, sizeof *scaler);
}
