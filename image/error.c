/*
 * libmnv2-image: the per-thread error message.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

static _Thread_local char message[1024];

int32_t mi_fail(int32_t rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return rc;
}

void mi_clear_error(void)
{
    message[0] = '\0';
}

const char *mnv2_image_last_error(void)
{
    return message;
}
