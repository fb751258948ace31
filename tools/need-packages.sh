#!/bin/sh
# need-packages.sh PKG... - make sure these Debian packages are installed.
# As root, installs the missing ones with apt-get; otherwise names them and fails.
missing=""
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq $missing >/dev/null || {
        echo "apt-get could not install:$missing" >&2
        exit 1
    }
    exit 0
fi
echo "missing Debian packages:$missing" >&2
echo "install them (as root: apt-get install$missing) and run this again" >&2
exit 1
