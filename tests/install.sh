#!/bin/sh
# tests/install.sh OUTDIR - make install into a temporary PREFIX, then use it the ways a
# user would: link a C and a C++ program against libtrainopt with pkg-config's flags
# (shared, and one static link), build a CMake project through pkg_check_modules (the
# three lines the README shows), and build a header-only program (TRAINOPT_IMPLEMENTATION
# in its own file, no libtrainopt). The shared library must export exactly the functions
# of the kernel list (TRAINOPT_KERNELS, read through the preprocessor) and carry the
# soname; with aarch64-linux-gnu-gcc, make lib for AArch64 is checked the same way.
# Then make uninstall must leave nothing behind. Ends with "N passed, N failed[, N skipped]".
out=${1:-build/install}
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
prefix="$out/prefix"
passed=0 failed=0 skipped=0

check() { # check NAME COMMAND...: one test
    name=$1; shift
    if "$@" > "$out/last.log" 2>&1; then passed=$((passed + 1)); else
        failed=$((failed + 1)); echo "FAIL install/$name"; head -n 8 "$out/last.log" | sed 's/^/  /'; fi
}
skip() { skipped=$((skipped + 1)); echo "SKIP install/$1: $2"; }

# The programs print the header's version (the .pc must carry the same one), or with the
# argument "backend", the backend the library runs.
cat > "$out/app.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <trainopt.h>
int main(int argc, char **argv) {
    float p[3] = {1, 2, 3}, g[3] = {1, 1, 1};
    trainopt_sgd_config c = TRAINOPT_SGD_DEFAULTS;
    if (trainopt_sgd_step(&c, 1, 3, p, g, NULL) != TRAINOPT_OK) return 1;
    if (argc > 1 && strcmp(argv[1], "backend") == 0) printf("%s\n", trainopt_backend());
    else printf("%d.%d.%d\n", TRAINOPT_VERSION_MAJOR, TRAINOPT_VERSION_MINOR, TRAINOPT_VERSION_PATCH);
    return 0;
}
EOF
cat > "$out/app.cc" <<'EOF'
#include <cstdio>
#include <vector>
#include <trainopt.h>
int main() {
    std::vector<float> p(100, 1.0f), g(100, 0.5f), m(100), v(100);
    trainopt_adam_config c = TRAINOPT_ADAMW_DEFAULTS;
    if (trainopt_adamw_step(&c, 1, p.size(), p.data(), g.data(), m.data(), v.data(), nullptr) != TRAINOPT_OK) return 1;
    std::printf("%d.%d.%d\n", TRAINOPT_VERSION_MAJOR, TRAINOPT_VERSION_MINOR, TRAINOPT_VERSION_PATCH);
    return 0;
}
EOF
# Header-only: this file compiles the kernels itself.
cat > "$out/header_only.c" <<'EOF'
#include <stdio.h>
#define TRAINOPT_IMPLEMENTATION
#include <trainopt.h>
int main(void) {
    float p[3] = {1, 2, 3}, g[3] = {1, 1, 1};
    trainopt_sgd_config c = TRAINOPT_SGD_DEFAULTS;
    if (trainopt_sgd_step(&c, 1, 3, p, g, NULL) != TRAINOPT_OK) return 1;
    printf("%d.%d.%d\n", TRAINOPT_VERSION_MAJOR, TRAINOPT_VERSION_MINOR, TRAINOPT_VERSION_PATCH);
    return 0;
}
EOF
cat > "$out/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.13)
project(app C)
find_package(PkgConfig)
pkg_check_modules(TRAINOPT REQUIRED IMPORTED_TARGET trainopt)
add_executable(app app.c)
target_link_libraries(app PRIVATE PkgConfig::TRAINOPT)
EOF

# The public function names, from the kernel list itself: the preprocessor expands it with
# an X that writes each name after a marker.
kernel_names() {
    printf '#include "trainopt.h"\n#define X(family, ret, name, params, args) @trainopt_##name\nTRAINOPT_KERNELS(X)\n' |
        cc -E -P -I. -x c - | tail -n 1 | tr -s ' ' '\n' | sed -n 's/^@//p' | sort
}
kernel_names > "$out/names.txt"
# and trainopt_pool (src/pool.h), which libtrainopt compiles in (src/lib.c defines TRAINOPT_POOL)
printf 'trainopt_pool_create\ntrainopt_pool_destroy\ntrainopt_pool_parallel_for\n' >> "$out/names.txt"
sort -o "$out/names.txt" "$out/names.txt"
# exports NM LIBRARY: the dynamic symbols LIBRARY defines, against the list
exports() {
    $1 -D --defined-only -P "$2" | cut -d' ' -f1 | sort > "$out/exports.txt"
    [ -s "$out/names.txt" ] || { echo "no names from TRAINOPT_KERNELS"; return 1; }
    echo "$(wc -l < "$out/exports.txt") exported, $(wc -l < "$out/names.txt") in TRAINOPT_KERNELS"
    diff "$out/names.txt" "$out/exports.txt" | sed 's/^</missing:/; s/^>/extra:/' | grep -v '^[0-9]'
    cmp -s "$out/names.txt" "$out/exports.txt"
}
# globals NM ARCHIVE: the archive's defined global symbols, against the list
globals() {
    $1 -g --defined-only -P "$2" | grep -v ':$' | cut -d' ' -f1 | sort > "$out/globals.txt"
    diff "$out/names.txt" "$out/globals.txt"
}
# soname LIBRARY: DT_SONAME is libtrainopt.so.<major>
soname() {
    readelf -d "$1" | grep -F '(SONAME)' | grep -qF "[libtrainopt.so.$(pkg-config --modversion trainopt | cut -d. -f1)]"
}

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
lib="$prefix/lib"
check "make-install" sh -c "make --no-print-directory install PREFIX='$prefix' > '$out/make-install.log' 2>&1 ||
    { cat '$out/make-install.log'; exit 1; }; ! grep -i 'warning' '$out/make-install.log'"
check "installed-files" sh -c "test -f '$prefix/include/trainopt.h' && test -f '$prefix/include/trainopt_simd.h' &&
    test -f '$lib/pkgconfig/trainopt.pc' && test -f '$lib/libtrainopt.a' && test -f '$lib/libtrainopt.so.'\$(pkg-config --modversion trainopt)"
check "so-symlinks" sh -c "v=\$(pkg-config --modversion trainopt) && test \"\$(readlink '$lib/libtrainopt.so')\" = libtrainopt.so.\${v%%.*} &&
    test \"\$(readlink '$lib/libtrainopt.so.'\${v%%.*})\" = libtrainopt.so.\$v"
check "soname" soname "$lib/libtrainopt.so"
check "so-exports-exactly-TRAINOPT_KERNELS" exports nm "$lib/libtrainopt.so"
echo "libtrainopt.so exports $(wc -l < "$out/exports.txt") functions; TRAINOPT_KERNELS lists $(wc -l < "$out/names.txt")"
check "static-library-defines-exactly-TRAINOPT_KERNELS" globals nm "$lib/libtrainopt.a"
check "pkg-config-cflags" sh -c "pkg-config --cflags trainopt | grep -qx -- '-I$prefix/include *'"
check "pkg-config-libs" sh -c "pkg-config --libs trainopt | grep -qx -- '-L$lib -ltrainopt *' &&
    pkg-config --static --libs trainopt | grep -qx -- '-L$lib -ltrainopt -lm *'"

# Shared: the program resolves libtrainopt.so.0 from the prefix and prints the .pc's version.
shared_c() {
    cc -std=c99 -Wall -Wextra -Werror $(pkg-config --cflags trainopt) "$out/app.c" -o "$out/app" $(pkg-config --libs trainopt) &&
        LD_LIBRARY_PATH="$lib" ldd "$out/app" | grep -F "$lib/libtrainopt.so." &&
        test "$(LD_LIBRARY_PATH="$lib" "$out/app")" = "$(pkg-config --modversion trainopt)"
}
check "pkg-config-shared-c" shared_c
shared_cxx() {
    c++ -std=c++11 -Wall -Wextra -Werror $(pkg-config --cflags trainopt) "$out/app.cc" -o "$out/app_cxx" $(pkg-config --libs trainopt) &&
        LD_LIBRARY_PATH="$lib" ldd "$out/app_cxx" | grep -F "$lib/libtrainopt.so." &&
        test "$(LD_LIBRARY_PATH="$lib" "$out/app_cxx")" = "$(pkg-config --modversion trainopt)"
}
check "pkg-config-shared-c++" shared_cxx
# The shared library dispatches at run time (x86-64): the best variant this CPU has, or the cap.
if [ "$(uname -m)" = x86_64 ]; then
    best=scalar
    grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && best=avx2
    [ $best = avx2 ] && grep -qw avx512f /proc/cpuinfo && best=avx512
    check "shared-library-dispatches-[$best]" sh -c "test \"\$(LD_LIBRARY_PATH='$lib' '$out/app' backend)\" = $best"
    check "shared-library-TRAINOPT_MAX_BACKEND=scalar" sh -c \
        "test \"\$(TRAINOPT_MAX_BACKEND=scalar LD_LIBRARY_PATH='$lib' '$out/app' backend)\" = scalar"
fi
# Static: libtrainopt.a and the .pc's Libs.private; no libtrainopt.so at run time.
static_c() {
    cc -std=c99 -Wall -Wextra -Werror $(pkg-config --cflags trainopt) "$out/app.c" -o "$out/app_static" "$lib/libtrainopt.a" \
        $(pkg-config --static --libs-only-l trainopt | tr ' ' '\n' | grep -vx -- -ltrainopt) &&
        ! ldd "$out/app_static" | grep -F libtrainopt &&
        test "$("$out/app_static")" = "$(pkg-config --modversion trainopt)"
}
check "static-c" static_c
# Header-only: the two headers and -lm, no libtrainopt.
header_only() {
    cc -std=c99 -O2 -Wall -Wextra -Werror $(pkg-config --cflags trainopt) "$out/header_only.c" -o "$out/header_only" -lm &&
        ! ldd "$out/header_only" | grep -F libtrainopt &&
        test "$("$out/header_only")" = "$(pkg-config --modversion trainopt)"
}
check "header-only-c" header_only
if command -v cmake > /dev/null 2>&1; then
    check "cmake-pkg_check_modules" sh -c "cmake -S '$out' -B '$out/cmake' > /dev/null && cmake --build '$out/cmake' &&
        test \"\$('$out/cmake/app')\" = \"\$(pkg-config --modversion trainopt)\""
else
    skip "cmake-pkg_check_modules" "cmake is not installed"
fi
check "make-uninstall-leaves-no-file" sh -c "make --no-print-directory uninstall PREFIX='$prefix' &&
    test -d '$prefix' && test -z \"\$(find '$prefix' ! -type d)\""

# make lib for AArch64 (NEON, no dispatch): the same exports; run under qemu-user when there.
acc=aarch64-linux-gnu-gcc
if command -v $acc > /dev/null 2>&1; then
    a64="$out/lib-aarch64"
    check "aarch64-make-lib" sh -c "make --no-print-directory lib CC=$acc LIB_OUT='$a64' > '$out/make-lib-aarch64.log' 2>&1 ||
        { cat '$out/make-lib-aarch64.log'; exit 1; }; ! grep -i 'warning' '$out/make-lib-aarch64.log'"
    check "aarch64-so-is-aarch64" sh -c "readelf -h '$a64/libtrainopt.so' | grep -q 'Machine:.*AArch64'"
    check "aarch64-so-exports-exactly-TRAINOPT_KERNELS" exports "$($acc -print-prog-name=nm)" "$a64/libtrainopt.so"
    if command -v qemu-aarch64 > /dev/null 2>&1; then
        check "aarch64-static-link-runs-neon" sh -c "$acc -std=c99 -Wall -Wextra -Werror -I. '$out/app.c' -o '$out/app_a64' \
            '$a64/libtrainopt.a' -static -lm && test \"\$(qemu-aarch64 '$out/app_a64' backend)\" = neon"
    else
        skip "aarch64-static-link-runs-neon" "needs qemu-user"
    fi
else
    skip "aarch64-make-lib" "needs gcc-aarch64-linux-gnu (make test-deps installs it as root)"
fi

if [ "$skipped" -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"; else echo "$passed passed, $failed failed"; fi
[ "$failed" -eq 0 ]
