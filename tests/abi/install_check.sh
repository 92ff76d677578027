#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Install the build into a temporary DESTDIR and check what lands there: every public header,
# the shared library (real name, soname and dev links, no RPATH/RUNPATH), the static library,
# mnv2.pc, the tools and the man pages; then compile and run a small program against the installed copy via pkg-config.
#
# usage: [CC=compiler] HEADERS="a.h b.h" install_check.sh BUILD_ROOT VERSION [CFLAGS...]
set -euo pipefail

build=$1 version=$2
shift 2
cflags=("$@")               # e.g. the sanitizer flags the build uses
read -r -a cc <<<"${CC:-cc}"
major=${version%%.*}

dest=$(mktemp -d "${TMPDIR:-/tmp}/mnv2-install.XXXXXX")
trap 'rm -rf "$dest"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# Without --no-rebuild: `meson test` builds only what tests need, install needs every target.
meson install -C "$build" --destdir "$dest" --quiet >/dev/null

find_one() { find "$dest" -path "$1" -print -quit; }

for h in ${HEADERS:?}; do
  [ -n "$(find_one "*/include/$h")" ] || bad "header $h not installed"
done
so=$(find_one "*/lib*/libmnv2.so.$version")
[ -n "$so" ] || { bad "libmnv2.so.$version not installed"; exit 1; }
libdir=$(dirname "$so")
[ "$(readlink "$libdir/libmnv2.so.$major")" = "libmnv2.so.$version" ] || bad "libmnv2.so.$major is not a link to libmnv2.so.$version"
[ -L "$libdir/libmnv2.so" ] || bad "libmnv2.so (link for -lmnv2) not installed"
[ -f "$libdir/libmnv2.a" ] || bad "libmnv2.a not installed next to the shared library"
if readelf -d "$so" | grep -E '\((RPATH|RUNPATH)\)'; then bad "installed $so has an RPATH/RUNPATH"; fi

# Man pages: the library's overview always; each built tool in bin/ with its section-1 page.
[ -n "$(find_one '*/share/man/man3/mnv2.3')" ] || bad "share/man/man3/mnv2.3 not installed"
for t in mnv2-train mnv2-infer mnv2-summary mnv2-bench idx2pgm mnv2-convert; do
  [ -x "$build/tools/$t" ] || continue
  [ -n "$(find_one "*/bin/$t")" ] || bad "tool $t built but not installed in bin/"
  [ -f "$build/tools/$t.1" ] || continue   # no pages in a cross build
  [ -n "$(find_one "*/share/man/man1/$t.1")" ] || bad "man page $t.1 not installed in share/man/man1"
done

pc=$libdir/pkgconfig/mnv2.pc
if [ ! -f "$pc" ]; then
  bad "pkgconfig/mnv2.pc not installed next to the library"
else
  grep -qx "Version: $version" "$pc" || bad "mnv2.pc: Version is not $version"
  grep -qx 'Cflags: -I${includedir}' "$pc" || bad "mnv2.pc: Cflags is not -I\${includedir}"
  grep -qx 'Libs: -L${libdir} -lmnv2' "$pc" || bad "mnv2.pc: Libs is not -L\${libdir} -lmnv2"

  # Compile and run a program against the installed copy, with mnv2.pc's prefix moved under $dest.
  export PKG_CONFIG_PATH=$libdir/pkgconfig
  pkgconf=(pkg-config --define-variable=prefix="$dest$(pkg-config --variable=prefix mnv2)")
  read -r -a pc_cflags <<<"$("${pkgconf[@]}" --cflags mnv2)"
  read -r -a pc_libs <<<"$("${pkgconf[@]}" --libs mnv2)"
  [ "${pc_cflags[*]}" = "-I$(dirname "$(find_one '*/include/mnv2.h')")" ] || bad "pkg-config --cflags gives ${pc_cflags[*]}"
  cat >"$dest/consumer.c" <<'C'
#include <mnv2.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    mnv2_config *cfg = NULL;
    int32_t st = mnv2_config_create(MNV2_PRESET_REDUCED, &cfg);
    mnv2_config_destroy(cfg);
    printf("installed libmnv2 %s\n", mnv2_version_string());
    return st == MNV2_OK && mnv2_version() == MNV2_VERSION_NUMBER &&
           strcmp(mnv2_version_string(), MNV2_VERSION_STRING) == 0 ? 0 : 1;
}
C
  if "${cc[@]}" -std=c99 -Wall -Wextra -Werror "${cflags[@]}" "${pc_cflags[@]}" "$dest/consumer.c" -o "$dest/consumer" "${pc_libs[@]}"; then
    # The installed library, not the build tree's (the program has no rpath into the build).
    LD_LIBRARY_PATH=$libdir "$dest/consumer" || bad "the program built against the installed library failed"
    loaded=$(LD_LIBRARY_PATH=$libdir ldd "$dest/consumer")
    grep -q "$libdir/libmnv2.so.$major" <<<"$loaded" || bad "the program did not load the installed library"
  else
    bad "a program does not compile against the installed library with pkg-config"
  fi
fi

[ $fail -eq 0 ] && echo "install layout and mnv2.pc OK ($libdir)"
exit $fail
