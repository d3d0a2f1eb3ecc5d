#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tools/gpu-bundle.sh: prepares, on a machine without a GPU, everything a
# bare GPU machine needs to run the CUDA checks with tests/gpu/run.sh:
#   .gpu/bin  the CUDA build's test and benchmark executables (gpu-ops,
#             parity-*, bench-*), stripped;
#   .gpu/lib  the shared libraries they load that such a machine may lack
#             (GLib, OpenBLAS and its Fortran/OpenMP runtimes, ...), copied
#             from this system as resolved by ldd and stripped.
# Files over 1 MiB are gzipped (NAME.gz) to keep the carried folder small;
# tests/gpu/run.sh unpacks them into a temporary folder before running.
# Not bundled: the C library family and the GCC C++ runtime (every CUDA
# image has them, at least as new), and the CUDA runtime, cuBLAS and the
# driver library, which come with the toolkit and driver there.
#
# Usage: tools/gpu-bundle.sh [build-dir]   (default build-cuda; configured
# with -Dcuda=enabled when it does not exist yet). Build parallelism:
# TSL_BUILD_JOBS (default 1). Then copy the working tree with .gpu/ (an
# ignored folder) to the GPU machine and run tests/gpu/run.sh there.
set -eu

cd "$(dirname "$0")/.."
build=${1:-build-cuda}
jobs=${TSL_BUILD_JOBS:-1}
bundle=.gpu

if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" -Dcuda=enabled
fi
if ! grep -q '#define TSL_HAVE_CUDA 1' "$build/tsl-build-config.h" 2>/dev/null; then
    echo "gpu-bundle: $build is not a CUDA build (meson configure $build -Dcuda=enabled)" >&2
    exit 1
fi
# the executables worth running on a GPU, and only them
targets=$(ninja -C "$build" -t targets all |
          sed -n -E 's#^(tests/gpu/gpu-ops|tests/parity/parity-[^/.]+|bench/bench-[^/.]+): .*#\1#p')
if ! printf '%s\n' "$targets" | grep -q -x 'tests/gpu/gpu-ops'; then
    echo "gpu-bundle: $build has no tests/gpu/gpu-ops target" >&2
    exit 1
fi
# shellcheck disable=SC2086 # one word per target
ninja -C "$build" -j "$jobs" $targets

rm -rf "$bundle"
mkdir -p "$bundle/bin" "$bundle/lib"
for target in $targets; do
    cp "$build/$target" "$bundle/bin/"
    strip "$bundle/bin/$(basename "$target")"
done

# their libraries: "name => /path (0x...)" lines of ldd, minus what the GPU
# machine provides itself
for exe in "$bundle"/bin/*; do
    ldd "$exe" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }'
done | sort -u | while read -r name path; do
    case "$name" in
    libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.* | libresolv.so.* | \
    ld-linux*.so.* | libstdc++.so.* | libgcc_s.so.*)
        continue ;;
    libcuda.so.* | libcudart.so.* | libcublas.so.* | libcublasLt.so.* | libnvidia-*)
        continue ;;
    esac
    cp -L "$path" "$bundle/lib/$name"
    chmod u+w "$bundle/lib/$name"
    strip --strip-unneeded "$bundle/lib/$name"
done

# files over 1 MiB travel gzipped (OpenBLAS alone is 36 MB); run.sh unpacks them
find "$bundle" -type f -size +1024k -exec gzip -9 {} +

echo "gpu-bundle: $(find "$bundle/bin" -type f | wc -l) executables," \
     "$(find "$bundle/lib" -type f | wc -l) libraries, $(du -sh "$bundle" | cut -f1) in $bundle/"
ls -l "$bundle/bin" "$bundle/lib"
