#include "CTestImageEncoders.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>
#include <webp/encode.h>

void test_image_free(uint8_t *bytes) {
    free(bytes);
}

void test_image_pattern(uint8_t *rgb, uint32_t width, uint32_t height) {
    for (uint32_t y = 0; y < height; y++) {
        for (uint32_t x = 0; x < width; x++, rgb += 3) {
            rgb[0] = (uint8_t)(x * 255 / (width > 1 ? width - 1 : 1));
            rgb[1] = (uint8_t)(y * 255 / (height > 1 ? height - 1 : 1));
            rgb[2] = (uint8_t)(((x / 8 + y / 8) % 2) * 64 + 96);
        }
    }
}

/* MARK: PNG */

typedef struct growing_buffer {
    uint8_t *bytes;
    size_t size, capacity;
    int failed;
} growing_buffer;

static void append(png_structp png, png_bytep data, size_t count) {
    growing_buffer *buffer = png_get_io_ptr(png);
    if (buffer->size + count > buffer->capacity) {
        size_t capacity = (buffer->size + count) * 2;
        uint8_t *bytes = realloc(buffer->bytes, capacity);
        if (bytes == NULL) png_error(png, "out of memory");
        buffer->bytes = bytes;
        buffer->capacity = capacity;
    }
    memcpy(buffer->bytes + buffer->size, data, count);
    buffer->size += count;
}

static void flush(png_structp png) {
    (void)png;
}

typedef struct png_write_job {
    png_structp png;
    png_infop info;
    growing_buffer buffer;
    png_bytep *rows;
} png_write_job;

static int write_png(png_write_job *job, const uint8_t *samples, uint32_t width, uint32_t height, int color_type, int bit_depth,
                     int interlaced, const uint8_t *palette, int palette_entries, const uint8_t *trns, int trns_count) {
    if (setjmp(png_jmpbuf(job->png))) return -1;
    png_set_write_fn(job->png, &job->buffer, append, flush);
    png_set_IHDR(job->png, job->info, width, height, bit_depth, color_type,
                 interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette != NULL) png_set_PLTE(job->png, job->info, (png_const_colorp)palette, palette_entries);
    if (trns != NULL) {
        if (color_type == PNG_COLOR_TYPE_PALETTE) {
            png_set_tRNS(job->png, job->info, trns, trns_count, NULL);
        } else {
            png_color_16 value = {0};
            value.gray = (png_uint_16)(trns[0] << 8 | trns[1]);
            if (trns_count >= 6) {
                value.red = value.gray;
                value.green = (png_uint_16)(trns[2] << 8 | trns[3]);
                value.blue = (png_uint_16)(trns[4] << 8 | trns[5]);
            }
            png_set_tRNS(job->png, job->info, NULL, 0, &value);
        }
    }
    png_write_info(job->png, job->info);
    size_t row_bytes = png_get_rowbytes(job->png, job->info);
    job->rows = malloc(sizeof(png_bytep) * height);
    if (job->rows == NULL) return -1;
    for (uint32_t y = 0; y < height; y++) job->rows[y] = (png_bytep)(samples + row_bytes * y);
    png_write_image(job->png, job->rows);
    png_write_end(job->png, NULL);
    return 0;
}

static void quiet_error(png_structp png, png_const_charp message) {
    (void)message;
    png_longjmp(png, 1);
}

static void quiet_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

int test_png_encode(const uint8_t *samples, uint32_t width, uint32_t height, int color_type, int bit_depth, int interlaced,
                    const uint8_t *palette, int palette_entries, const uint8_t *trns, int trns_count,
                    uint8_t **out, size_t *out_size) {
    png_write_job job;
    memset(&job, 0, sizeof job);
    job.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, quiet_error, quiet_warning);
    job.info = job.png ? png_create_info_struct(job.png) : NULL;
    int result = job.info ? write_png(&job, samples, width, height, color_type, bit_depth, interlaced, palette,
                                      palette_entries, trns, trns_count)
                          : -1;
    png_destroy_write_struct(&job.png, &job.info);
    free(job.rows);
    if (result != 0) {
        free(job.buffer.bytes);
        return -1;
    }
    *out = job.buffer.bytes;
    *out_size = job.buffer.size;
    return 0;
}

/* MARK: WebP */

int test_webp_encode(const uint8_t *rgba, uint32_t width, uint32_t height, int lossless, float quality,
                     uint8_t **out, size_t *out_size) {
    uint8_t *encoded = NULL;
    size_t size = lossless ? WebPEncodeLosslessRGBA(rgba, (int)width, (int)height, (int)width * 4, &encoded)
                           : WebPEncodeRGBA(rgba, (int)width, (int)height, (int)width * 4, quality, &encoded);
    if (size == 0) return -1;
    /* Copied so that every buffer from this file is released the same way. */
    *out = malloc(size);
    if (*out != NULL) memcpy(*out, encoded, size);
    WebPFree(encoded);
    *out_size = size;
    return *out == NULL ? -1 : 0;
}

/* MARK: JPEG */

typedef struct jpeg_write_job {
    struct jpeg_compress_struct info;
    struct jpeg_error_mgr errors;
    jmp_buf jump;
    unsigned char *bytes;
    unsigned long size;
} jpeg_write_job;

static void jump_back(j_common_ptr info) {
    /* The error manager is a member of the job: step back to the job that holds it. */
    jpeg_write_job *job = (jpeg_write_job *)((char *)info->err - offsetof(jpeg_write_job, errors));
    longjmp(job->jump, 1);
}

static void stay_quiet(j_common_ptr info, int level) {
    (void)info;
    (void)level;
}

static int write_jpeg(jpeg_write_job *job, const uint8_t *samples, uint32_t width, uint32_t height, int components,
                      int progressive, int quality) {
    if (setjmp(job->jump)) return -1;
    jpeg_create_compress(&job->info);
    jpeg_mem_dest(&job->info, &job->bytes, &job->size);
    job->info.image_width = width;
    job->info.image_height = height;
    job->info.input_components = components;
    job->info.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 4 ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(&job->info);
    jpeg_set_quality(&job->info, quality, TRUE);
    if (progressive) jpeg_simple_progression(&job->info);
    jpeg_start_compress(&job->info, TRUE);
    while (job->info.next_scanline < height) {
        JSAMPROW row = (JSAMPROW)(samples + (size_t)job->info.next_scanline * width * components);
        jpeg_write_scanlines(&job->info, &row, 1);
    }
    jpeg_finish_compress(&job->info);
    return 0;
}

int test_jpeg_encode(const uint8_t *samples, uint32_t width, uint32_t height, int components, int progressive, int quality,
                     uint8_t **out, size_t *out_size) {
    jpeg_write_job job;
    memset(&job, 0, sizeof job);
    job.info.err = jpeg_std_error(&job.errors);
    job.errors.error_exit = jump_back;
    job.errors.emit_message = stay_quiet;
    int result = write_jpeg(&job, samples, width, height, components, progressive, quality);
    jpeg_destroy_compress(&job.info);
    if (result != 0) {
        /* jpeg_mem_dest may have lost track of its buffer here; a test can afford the leak. */
        return -1;
    }
    *out = job.bytes;
    *out_size = job.size;
    return 0;
}
