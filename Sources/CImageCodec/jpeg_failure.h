#ifndef MYSEHAT_JPEG_FAILURE_H
#define MYSEHAT_JPEG_FAILURE_H

/* libjpeg's error handling for the decoder and the encoder: errors jump back to the setjmp of the
   function that runs the job (always in this library), with the message kept for logs. */

#include "codec_internal.h"

#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE */

/* jpeglib.h first: jerror.h's message list depends on its configuration. */
#include <jpeglib.h>
#include <jerror.h>

typedef struct jpeg_failure {
    struct jpeg_error_mgr manager; /* first: libjpeg hands back a pointer to it */
    jmp_buf jump;
    failure_text *text;
    const char *label;             /* prefixes the message: which side failed */
    int out_of_memory;
} jpeg_failure;

/* Sets `failure` up as an error manager whose errors jump to `failure->jump` and whose warnings
   and traces are dropped (nothing goes to stderr); returns it for the `err` field. */
struct jpeg_error_mgr *jpeg_failure_install(jpeg_failure *failure, failure_text *text, const char *label);

/* Records the current message and jumps: the error_exit, also used for fatal warnings. */
void jpeg_failure_raise(j_common_ptr info);

#endif
