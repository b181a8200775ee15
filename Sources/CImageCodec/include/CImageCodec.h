#ifndef MYSEHAT_IMAGE_CODEC_H
#define MYSEHAT_IMAGE_CODEC_H

/* Photo decoding and JPEG encoding for the vision step (03-diagnostics §8.1), on the system
   libjpeg(-turbo), libpng16 and libwebp.

   libjpeg and libpng report errors by longjmp. Every setjmp lives in this library and every
   longjmp lands in it: no function here ever unwinds into its (Swift) caller, which would skip
   Swift's cleanup and leave its frames in an undefined state. */

#include <stddef.h>
#include <stdint.h>

/* Decompression bombs: a few kilobytes can declare a huge image. Dimensions over these limits are
   refused from the header, before any pixel memory is allocated. 40 megapixels is above any phone
   camera's ordinary photo; 16384 is the longest side libwebp itself allows. */
#define MYSEHAT_IMAGE_MAX_SIDE 16384u
#define MYSEHAT_IMAGE_MAX_PIXELS 40000000u
/* libjpeg's working memory (progressive JPEGs keep every coefficient of the image); beyond it
   decoding fails instead of growing. */
#define MYSEHAT_IMAGE_MAX_DECODER_MEMORY (256L << 20)

typedef enum mysehat_image_status {
    MYSEHAT_IMAGE_OK = 0,
    /* Not JPEG, PNG or WebP, or a feature of them that is not decoded (animated WebP). */
    MYSEHAT_IMAGE_UNSUPPORTED = 1,
    /* The decoder or encoder failed: damaged, truncated or invalid data. */
    MYSEHAT_IMAGE_CORRUPT = 2,
    /* Dimensions over the limits above. */
    MYSEHAT_IMAGE_TOO_LARGE = 3,
    MYSEHAT_IMAGE_NO_MEMORY = 4,
} mysehat_image_status;

/* 8-bit RGB pixels, 3 bytes a pixel, rows top to bottom without padding. */
typedef struct mysehat_image {
    uint8_t *pixels;
    uint32_t width;
    uint32_t height;
} mysehat_image;

/* Decodes a JPEG, PNG or WebP file to RGB. Transparency is flattened onto white. When the image is
   wider than `max_width` (0: no limit) it is scaled down to that width, the height keeping the
   aspect ratio (rounded, at least 1), with an area-averaging filter. On failure `out` is left empty
   and `message` (when not NULL) says why, for logs. */
mysehat_image_status mysehat_image_decode(const uint8_t *data, size_t size, uint32_t max_width,
                                          mysehat_image *out, char *message, size_t message_size);
void mysehat_image_free(mysehat_image *image);

/* Encodes RGB pixels (as mysehat_image holds them) as a baseline JPEG at `quality` (1-100), with no
   metadata segments besides JFIF. `*out` is malloc'ed; release it with mysehat_jpeg_free. */
mysehat_image_status mysehat_jpeg_encode(const uint8_t *rgb, uint32_t width, uint32_t height, int quality,
                                         uint8_t **out, size_t *out_size, char *message, size_t message_size);
void mysehat_jpeg_free(uint8_t *bytes);

#endif
