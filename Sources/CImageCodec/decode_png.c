#include "codec_internal.h"

#include <stdlib.h>
#include <string.h>

#include <png.h>

/* Ancillary chunks (text, ICC profiles) may be compressed; this caps what one may expand to. */
#define MAX_CHUNK_MEMORY (8u << 20)

/* Everything a decode owns. It lives in the frame of decode_png, not of the function that calls
   setjmp, so its contents are well defined after a longjmp. */
typedef struct png_job {
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t size, offset;
    failure_text *failure;
    row_scaler scaler;
    uint8_t *image;       /* interlaced images: every row (the passes fill them in turn) */
    png_bytep *rows;
    uint8_t *row;         /* the row being decoded */
    uint8_t *rgb;         /* the row flattened to RGB */
} png_job;

static void on_error(png_structp png, png_const_charp message) {
    png_job *job = png_get_error_ptr(png);
    failure_set(job->failure, "PNG: %s", message);
    /* A handler that returns would fall back to libpng's default, which prints to stderr. */
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp message) {
    /* Warnings are about ancillary data libpng skips (bad CRC in a text chunk, odd ICC profile). */
    (void)png;
    (void)message;
}

static void read_bytes(png_structp png, png_bytep into, size_t count) {
    png_job *job = png_get_io_ptr(png);
    if (count > job->size - job->offset) png_error(png, "file is truncated");
    memcpy(into, job->data + job->offset, count);
    job->offset += count;
}

static mysehat_image_status run(png_job *job, uint32_t max_width) {
    png_structp png = job->png;
    png_infop info = job->info;
    if (setjmp(png_jmpbuf(png))) return MYSEHAT_IMAGE_CORRUPT;
    png_set_read_fn(png, job, read_bytes);
    /* Our own limits apply below; libpng's (a million pixels a side) would only blur the reason. */
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_chunk_malloc_max(png, MAX_CHUNK_MEMORY);
    png_read_info(png, info);

    uint32_t source_width = png_get_image_width(png, info), source_height = png_get_image_height(png, info);
    mysehat_image_status status = check_dimensions(source_width, source_height, job->failure);
    if (status != MYSEHAT_IMAGE_OK) return status;
    uint32_t width, height;
    target_size(source_width, source_height, max_width, &width, &height);

    /* Every colour type to 8-bit RGB or RGBA: palette and low-bit grey expanded, a tRNS chunk
       turned into alpha, 16-bit samples rounded to 8, grey copied to three channels. */
    png_set_expand(png);
    png_set_scale_16(png);
    png_set_gray_to_rgb(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    if ((channels != 3 && channels != 4) || row_bytes != (size_t)source_width * channels) {
        failure_set(job->failure, "PNG: unexpected layout after conversion (%d channels)", channels);
        return MYSEHAT_IMAGE_CORRUPT;
    }

    if (row_scaler_begin(&job->scaler, source_width, source_height, width, height) != MYSEHAT_IMAGE_OK) return MYSEHAT_IMAGE_NO_MEMORY;
    job->rgb = malloc((size_t)source_width * 3);
    if (job->rgb == NULL) return MYSEHAT_IMAGE_NO_MEMORY;
    if (passes > 1) {
        /* Adam7 passes each refine every part of the image, so all rows are held at once (at most
           the pixel limit times 4 bytes). */
        job->image = malloc(row_bytes * source_height);
        job->rows = malloc(sizeof(png_bytep) * source_height);
        if (job->image == NULL || job->rows == NULL) return MYSEHAT_IMAGE_NO_MEMORY;
        for (uint32_t y = 0; y < source_height; y++) job->rows[y] = job->image + row_bytes * y;
        png_read_image(png, job->rows);
    } else {
        job->row = malloc(row_bytes);
        if (job->row == NULL) return MYSEHAT_IMAGE_NO_MEMORY;
    }
    for (uint32_t y = 0; y < source_height; y++) {
        uint8_t *row = job->row;
        if (passes > 1) {
            row = job->rows[y];
        } else {
            png_read_row(png, row, NULL);
        }
        if (channels == 4) {
            flatten_straight_alpha(row, job->rgb, source_width);
            row_scaler_push(&job->scaler, job->rgb);
        } else {
            row_scaler_push(&job->scaler, row);
        }
    }
    return MYSEHAT_IMAGE_OK;
}

mysehat_image_status decode_png(const uint8_t *data, size_t size, uint32_t max_width, mysehat_image *out, failure_text *failure) {
    png_job job;
    memset(&job, 0, sizeof job);
    job.data = data;
    job.size = size;
    job.failure = failure;
    job.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &job, on_error, on_warning);
    job.info = job.png ? png_create_info_struct(job.png) : NULL;
    mysehat_image_status status = MYSEHAT_IMAGE_NO_MEMORY;
    if (job.info != NULL) {
        status = run(&job, max_width);
    }
    if (status == MYSEHAT_IMAGE_NO_MEMORY && failure->text && failure->text[0] == '\0') failure_set(failure, "PNG: out of memory");
    if (status == MYSEHAT_IMAGE_OK) row_scaler_take(&job.scaler, out);
    png_destroy_read_struct(&job.png, &job.info, NULL);
    row_scaler_release(&job.scaler);
    free(job.image);
    free(job.rows);
    free(job.row);
    free(job.rgb);
    return status;
}
