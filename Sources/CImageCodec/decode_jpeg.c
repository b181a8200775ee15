#include "jpeg_failure.h"

#include <string.h>

/* A progressive JPEG of many tiny scans costs a full pass over the image per scan: a CPU bomb.
   Real encoders write about ten; libjpeg-turbo's own tools stop at 500. */
#define MAX_SCANS 500

/* Everything a decode owns. It lives in the frame of decode_jpeg, not of the function that calls
   setjmp, so its contents are well defined after a longjmp. */
typedef struct jpeg_job {
    struct jpeg_decompress_struct info;
    jpeg_failure failure;
    struct jpeg_progress_mgr progress;
    row_scaler scaler;
} jpeg_job;

/* Warnings (level -1) report corrupt data that libjpeg papers over. Where pixels are missing or
   garbled it would invent them (grey or smeared blocks), which is no photo to describe: those are
   failures. Harmless irregularities (stray bytes between segments, odd metadata) are tolerated, as
   image viewers do. Trace messages (level >= 0) are dropped: nothing goes to stderr. */
static void on_message(j_common_ptr info, int level) {
    if (level >= 0) return;
    switch (info->err->msg_code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
        jpeg_failure_raise(info);
        break;
    default:
        break;
    }
}

static void on_progress(j_common_ptr info) {
    j_decompress_ptr decompress = (j_decompress_ptr)info;
    if (decompress->input_scan_number > MAX_SCANS) {
        jpeg_failure *failure = (jpeg_failure *)info->err;
        failure_set(failure->text, "JPEG: more than %d scans", MAX_SCANS);
        longjmp(failure->jump, 1);
    }
}

/* Adobe CMYK (Photoshop and most CMYK JPEGs) stores inverted ink values; others store plain ink. */
static void cmyk_to_rgb(const uint8_t *cmyk, uint8_t *rgb, uint32_t count, int inverted) {
    for (uint32_t i = 0; i < count; i++, cmyk += 4, rgb += 3) {
        uint32_t c = cmyk[0], m = cmyk[1], y = cmyk[2], k = cmyk[3];
        if (!inverted) {
            c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
        }
        rgb[0] = (uint8_t)((c * k + 127) / 255);
        rgb[1] = (uint8_t)((m * k + 127) / 255);
        rgb[2] = (uint8_t)((y * k + 127) / 255);
    }
}

/* Chooses libjpeg's DCT scaling (n/8): the smallest that still gives at least the target size.
   Decoding at a reduced size is much cheaper and its result is an area average too; the row
   scaler then does the last, fractional step. */
static void choose_scale(j_decompress_ptr info, uint32_t target_width, uint32_t target_height) {
    for (unsigned int eighths = 1; eighths <= 8; eighths++) {
        info->scale_num = eighths;
        info->scale_denom = 8;
        jpeg_calc_output_dimensions(info);
        if (info->output_width >= target_width && info->output_height >= target_height) return;
    }
}

static mysehat_image_status run(jpeg_job *job, const uint8_t *data, size_t size, uint32_t max_width) {
    j_decompress_ptr info = &job->info;
    if (setjmp(job->failure.jump)) {
        return job->failure.out_of_memory ? MYSEHAT_IMAGE_NO_MEMORY : MYSEHAT_IMAGE_CORRUPT;
    }
    jpeg_create_decompress(info);
    info->mem->max_memory_to_use = MYSEHAT_IMAGE_MAX_DECODER_MEMORY;
    job->progress.progress_monitor = on_progress;
    info->progress = &job->progress;
    jpeg_mem_src(info, data, (unsigned long)size);
    jpeg_read_header(info, TRUE);

    mysehat_image_status status = check_dimensions(info->image_width, info->image_height, job->failure.text);
    if (status != MYSEHAT_IMAGE_OK) return status;
    uint32_t width, height;
    target_size(info->image_width, info->image_height, max_width, &width, &height);

    /* libjpeg converts greyscale and YCbCr to RGB itself, but not CMYK. */
    int cmyk = info->jpeg_color_space == JCS_CMYK || info->jpeg_color_space == JCS_YCCK;
    info->out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    choose_scale(info, width, height);
    jpeg_start_decompress(info);

    if (row_scaler_begin(&job->scaler, info->output_width, info->output_height, width, height) != MYSEHAT_IMAGE_OK) {
        failure_set(job->failure.text, "JPEG: no memory for %ux%u pixels", width, height);
        return MYSEHAT_IMAGE_NO_MEMORY;
    }
    /* Row buffers from libjpeg's pool: jpeg_destroy_decompress frees them on every path. */
    JSAMPARRAY row = info->mem->alloc_sarray((j_common_ptr)info, JPOOL_IMAGE,
                                             info->output_width * (JDIMENSION)info->output_components, 1);
    JSAMPARRAY rgb = cmyk ? info->mem->alloc_sarray((j_common_ptr)info, JPOOL_IMAGE, info->output_width * 3, 1) : row;
    while (info->output_scanline < info->output_height) {
        jpeg_read_scanlines(info, row, 1);
        if (cmyk) cmyk_to_rgb(row[0], rgb[0], info->output_width, info->saw_Adobe_marker);
        row_scaler_push(&job->scaler, rgb[0]);
    }
    jpeg_finish_decompress(info);
    return MYSEHAT_IMAGE_OK;
}

mysehat_image_status decode_jpeg(const uint8_t *data, size_t size, uint32_t max_width, mysehat_image *out, failure_text *failure) {
    jpeg_job job;
    memset(&job, 0, sizeof job);
    job.info.err = jpeg_failure_install(&job.failure, failure, "JPEG");
    job.failure.manager.emit_message = on_message;

    mysehat_image_status status = run(&job, data, size, max_width);
    if (status == MYSEHAT_IMAGE_OK) row_scaler_take(&job.scaler, out);
    jpeg_destroy_decompress(&job.info);
    row_scaler_release(&job.scaler);
    return status;
}
