/* SPDX-License-Identifier: BSD-2-Clause */
/* Status codes, their text, and the thread-local detail message. */
#include <stdarg.h>
#include <stdio.h>

#include "mnv2.h"
#include "internal_error.h"

static _Thread_local char last_error[512];

uint32_t mnv2_version(void) { return MNV2_VERSION_NUMBER; }

const char *mnv2_version_string(void) { return MNV2_VERSION_STRING; }

const char *mnv2_status_string(int32_t status)
{
    switch (status) {
    case MNV2_OK: return "success";
    case MNV2_ERR_INVALID_ARGUMENT: return "invalid argument";
    case MNV2_ERR_OUT_OF_MEMORY: return "out of memory";
    case MNV2_ERR_BATCH_SIZE: return "batch size is zero or above the model's maximum";
    case MNV2_ERR_SIZE_MISMATCH: return "buffer size does not match";
    case MNV2_ERR_BAD_STATE: return "call out of order for the model's state";
    case MNV2_ERR_UNKNOWN_KEY: return "unknown option key or wrong value type";
    case MNV2_ERR_READ_ONLY: return "option cannot be changed on a created model";
    case MNV2_ERR_IO: return "input/output error";
    case MNV2_ERR_FORMAT: return "malformed file or buffer";
    case MNV2_ERR_CHECKSUM: return "checksum mismatch";
    case MNV2_ERR_VERSION: return "unsupported format version";
    case MNV2_ERR_UNSUPPORTED: return "not supported";
    case MNV2_ERR_THREAD: return "thread creation failed";
    case MNV2_ERR_NOT_FOUND: return "not found";
    case MNV2_ERR_NOT_FINITE: return "value is NaN or infinite";
    case MNV2_ERR_HOOK: return "a caller's callback failed";
    default: return "unknown status code";
    }
}

const char *mnv2_last_error(void) { return last_error; }

void mnv2__clear_error(void) { last_error[0] = '\0'; }

int32_t mnv2__fail(int32_t status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}
