#!/bin/sh
# tests/install.sh OUTDIR - make install into a temporary PREFIX, then build a
# program the way a user would: with pkg-config's flags, and as a CMake project
# through pkg_check_modules (the three lines the README shows). Then make
# uninstall must leave no file behind. Ends with "N passed, N failed[, N skipped]".
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

# The program prints the header's version; the .pc must carry the same one.
cat > "$out/app.c" <<'EOF'
#include <stdio.h>
#define TRAINOPT_STATIC
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

export PKG_CONFIG_PATH="$prefix/share/pkgconfig"
check "make-install" make --no-print-directory install PREFIX="$prefix"
check "installed-files" sh -c "test -f '$prefix/include/trainopt.h' && test -f '$prefix/include/trainopt_simd.h' &&
    test -f '$prefix/share/pkgconfig/trainopt.pc'"
check "pkg-config-cflags" sh -c "pkg-config --cflags trainopt | grep -qx -- '-I$prefix/include *'"
check "pkg-config-version-is-the-headers" sh -c "cc -std=c99 -Wall -Wextra -Werror \$(pkg-config --cflags trainopt) '$out/app.c' \
    -o '$out/app' \$(pkg-config --libs trainopt) && test \"\$('$out/app')\" = \"\$(pkg-config --modversion trainopt)\""
check "pkg-config-cxx" sh -c "c++ -std=c++11 -Wall -Wextra -Werror -x c++ \$(pkg-config --cflags trainopt) '$out/app.c' \
    -o '$out/app_cxx' \$(pkg-config --libs trainopt) && '$out/app_cxx'"
if command -v cmake > /dev/null 2>&1; then
    check "cmake-pkg_check_modules" sh -c "cmake -S '$out' -B '$out/cmake' > /dev/null && cmake --build '$out/cmake' &&
        test \"\$('$out/cmake/app')\" = \"\$(pkg-config --modversion trainopt)\""
else
    skip "cmake-pkg_check_modules" "cmake is not installed"
fi
check "make-uninstall-leaves-no-file" sh -c "make --no-print-directory uninstall PREFIX='$prefix' &&
    test -d '$prefix' && test -z \"\$(find '$prefix' -type f)\""

if [ "$skipped" -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"; else echo "$passed passed, $failed failed"; fi
[ "$failed" -eq 0 ]
