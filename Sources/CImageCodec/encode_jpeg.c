#include "jpeg_failure.h"

#include <stdlib.h>
#include <string.h>

#define FIRST_CAPACITY (64u << 10)

/* A growing memory destination. Not jpeg_mem_dest: when an error interrupts compression, that one
   keeps its latest buffer to itself (leaked) and leaves the caller's pointer at one it has already
   freed. Here the buffer always belongs to the job, whatever happens. */
typedef struct memory_destination {
    struct jpeg_destination_mgr manager; /* first: libjpeg hands back a pointer to it */
    uint8_t *bytes;
    size_t capacity, size;
} memory_destination;

/* Everything an encode owns, in the frame of mysehat_jpeg_encode (see decode_jpeg.c). */
typedef struct encode_job {
    struct jpeg_compress_struct info;
    jpeg_failure failure;
    memory_destination destination;
} encode_job;

static void start_destination(j_compress_ptr info) {
    memory_destination *destination = (memory_destination *)info->dest;
    destination->bytes = malloc(FIRST_CAPACITY);
    if (destination->bytes == NULL) ERREXIT1(info, JERR_OUT_OF_MEMORY, 0);
    destination->capacity = FIRST_CAPACITY;
    destination->manager.next_output_byte = destination->bytes;
    destination->manager.free_in_buffer = destination->capacity;
}

static boolean grow_destination(j_compress_ptr info) {
    memory_destination *destination = (memory_destination *)info->dest;
    size_t capacity = destination->capacity * 2;
    uint8_t *bytes = realloc(destination->bytes, capacity);
    if (bytes == NULL) ERREXIT1(info, JERR_OUT_OF_MEMORY, 1);
    /* libjpeg calls this only when the buffer is full. */
    destination->manager.next_output_byte = bytes + destination->capacity;
    destination->manager.free_in_buffer = capacity - destination->capacity;
    destination->bytes = bytes;
    destination->capacity = capacity;
    return TRUE;
}

static void finish_destination(j_compress_ptr info) {
    memory_destination *destination = (memory_destination *)info->dest;
    destination->size = destination->capacity - destination->manager.free_in_buffer;
}

static mysehat_image_status run(encode_job *job, const uint8_t *rgb, uint32_t width, uint32_t height, int quality) {
    j_compress_ptr info = &job->info;
    if (setjmp(job->failure.jump)) {
        return job->failure.out_of_memory ? MYSEHAT_IMAGE_NO_MEMORY : MYSEHAT_IMAGE_CORRUPT;
    }
    jpeg_create_compress(info);
    job->destination.manager.init_destination = start_destination;
    job->destination.manager.empty_output_buffer = grow_destination;
    job->destination.manager.term_destination = finish_destination;
    info->dest = &job->destination.manager;
    info->image_width = width;
    info->image_height = height;
    info->input_components = 3;
    info->in_color_space = JCS_RGB;
    jpeg_set_defaults(info);
    jpeg_set_quality(info, quality, TRUE);
    jpeg_start_compress(info, TRUE);
    while (info->next_scanline < info->image_height) {
        /* libjpeg's row type is not const, but compression only reads it. */
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)info->next_scanline * width * 3);
        jpeg_write_scanlines(info, &row, 1);
    }
    jpeg_finish_compress(info);
    return MYSEHAT_IMAGE_OK;
}

mysehat_image_status mysehat_jpeg_encode(const uint8_t *rgb, uint32_t width, uint32_t height, int quality,
                                         uint8_t **out, size_t *out_size, char *message, size_t message_size) {
    failure_text failure = {message, message_size};
    if (message != NULL && message_size > 0) message[0] = '\0';
    *out = NULL;
    *out_size = 0;
    if (width == 0 || height == 0 || width > 65500 || height > 65500 || quality < 1 || quality > 100) {
        failure_set(&failure, "JPEG encoder: cannot encode %ux%u at quality %d", width, height, quality);
        return MYSEHAT_IMAGE_CORRUPT;
    }
    encode_job job;
    memset(&job, 0, sizeof job);
    job.info.err = jpeg_failure_install(&job.failure, &failure, "JPEG encoder");

    mysehat_image_status status = run(&job, rgb, width, height, quality);
    jpeg_destroy_compress(&job.info);
    if (status == MYSEHAT_IMAGE_OK) {
        *out = job.destination.bytes;
        *out_size = job.destination.size;
    } else {
        free(job.destination.bytes);
    }
    return status;
}

void mysehat_jpeg_free(uint8_t *bytes) {
    free(bytes);
}
