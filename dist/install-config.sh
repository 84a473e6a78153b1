#!/bin/sh
# install-config.sh DIR FILE... — meson install script: copies each FILE into $DESTDIR/DIR
# (mode 0644) unless a file of that name is already there, in which case the new one is
# written as <name>.dist beside it and the existing one is left alone (as dpkg does with a
# changed conffile).
set -eu
dir=${DESTDIR:-}$1
shift
mkdir -p "$dir"
for f in "$@"; do
    name=${f##*/}
    if [ -e "$dir/$name" ]; then
        install -m 0644 "$f" "$dir/$name.dist"
        [ -n "${MESON_INSTALL_QUIET:-}" ] ||
            echo "lonlink: kept $dir/$name; the new example is $dir/$name.dist"
    else
        install -m 0644 "$f" "$dir/$name"
        [ -n "${MESON_INSTALL_QUIET:-}" ] || echo "Installing $f to $dir"
    fi
done
