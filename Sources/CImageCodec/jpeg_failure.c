#include "jpeg_failure.h"

#include <string.h>

void jpeg_failure_raise(j_common_ptr info) {
    jpeg_failure *failure = (jpeg_failure *)info->err;
    char text[JMSG_LENGTH_MAX];
    info->err->format_message(info, text);
    failure_set(failure->text, "%s: %s", failure->label, text);
    failure->out_of_memory = info->err->msg_code == JERR_OUT_OF_MEMORY;
    longjmp(failure->jump, 1);
}

static void drop_message(j_common_ptr info, int level) {
    (void)info;
    (void)level;
}

struct jpeg_error_mgr *jpeg_failure_install(jpeg_failure *failure, failure_text *text, const char *label) {
    struct jpeg_error_mgr *manager = jpeg_std_error(&failure->manager);
    manager->error_exit = jpeg_failure_raise;
    manager->emit_message = drop_message;
    failure->text = text;
    failure->label = label;
    return manager;
}
