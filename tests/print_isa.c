/* SPDX-License-Identifier: BSD-2-Clause */
/* Prints the ISA level this machine gives mnv2 (after MNV2_ISA), for scripts: .ci/run uses it to
 * rerun the suite at every lower level. */
#include <stdio.h>

#include "mnv2.h"

int main(void)
{
    puts(mnv2_isa_name(mnv2_cpu_isa()));
    return 0;
}
