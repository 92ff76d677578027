#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The ABI gate: compare a built libmnv2.so with the committed ABI of the last release.
#   abidiff.sh BASELINE.abi LIBRARY.so HEADERS_DIR SUPPRESSIONS
# Passes when nothing changed or only functions were added; fails when abidiff finds an
# incompatible change or any removed or changed function or variable (abi/mnv2.abignore lists the
# changes that are compatible by the library's rules). The library needs its debug information
# (-g; the default build keeps it).
set -uo pipefail
if [ $# -ne 4 ]; then
  sed -n '3,4p' "$0" >&2
  exit 2
fi
base=$1 lib=$2 headers=$3 supp=$4
out=$(abidiff --suppressions "$supp" --headers-dir2 "$headers" --drop-private-types "$base" "$lib")
rc=$?
printf '%s\n' "$out"
if (( rc & 3 )); then
  echo "abidiff.sh: abidiff could not compare (status $rc)"
  exit 1
fi
if (( rc & 8 )); then
  echo "abidiff.sh: incompatible ABI change against $(basename "$base")"
  exit 1
fi
if printf '%s\n' "$out" | grep 'summary:' | grep -Eq '(^|[^0-9])[1-9][0-9]* (Removed|Changed)'; then
  echo "abidiff.sh: a released function or variable was removed or changed (see above)"
  exit 1
fi
echo "abidiff.sh: compatible with $(basename "$base")$( (( rc & 4 )) && echo ' (additions only)')"
