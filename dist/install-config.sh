#!/bin/sh
# install-config.sh DIR FILE... — meson install script: copies each FILE into DIR under the
# staging root (DESTDIR or --destdir, if any), mode 0644, unless a file of that name is
# already there: then the new one is written as <name>.dist beside it and the existing one
# is left alone (as dpkg does with a changed conffile).
set -eu
# The staging root: what meson puts before the prefix (DESTDIR, or --destdir).
destdir=${MESON_INSTALL_DESTDIR_PREFIX:-}
destdir=${destdir%"${MESON_INSTALL_PREFIX:-}"}
dir=$destdir$1
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
