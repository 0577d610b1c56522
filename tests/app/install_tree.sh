#!/usr/bin/env bash
# install_tree: `cmake --install` into a fresh prefix puts every file where desktops and the
# program look for it, the desktop entry and the AppStream metadata pass their validators, and the
# installed dcscope-cli finds the installed model package, not the source tree's.
# A missing validator is a failure, not a skip: .ci/setup installs both.
#
# Usage: install_tree.sh CMAKE BUILD_DIR WORK_DIR SOURCE_DIR GUI(ON|OFF)
set -uo pipefail
cmake_command=$1 build_dir=$2 work_dir=$3 source_dir=$4 gui=$5
app_id=io.github.dcscope.dcscope
prefix=$work_dir/prefix
package=$prefix/share/dcscope/models/fashion
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

rm -rf "$work_dir" && mkdir -p "$work_dir" || exit 1
cd "$work_dir" || exit 1
if ! "$cmake_command" --install "$build_dir" --prefix "$prefix" >install.log 2>&1; then
    cat install.log >&2
    echo "FAIL: cmake --install (are dcscope and dcscope-cli built?)" >&2
    exit 1
fi

# Every file of the default package, compensation/ included, byte for byte.
source_package=$source_dir/assets/models/fashion
package_files=0
while IFS= read -r -d '' file; do
    relative=${file#"$source_package"/}
    package_files=$((package_files + 1))
    cmp -s "$file" "$package/$relative" || fail "package file $relative missing or different under $package"
done < <(find "$source_package" -type f -print0)
[ -f "$package/model.json" ] && [ -d "$package/compensation" ] || fail "no model.json or compensation/ in $package"
echo "package: $package_files files under $package"

executables=(bin/dcscope-cli)
files=()
if [ "$gui" = ON ]; then
    executables+=(bin/dcscope)
    files+=(share/applications/$app_id.desktop share/metainfo/$app_id.metainfo.xml
        share/icons/hicolor/scalable/apps/$app_id.svg share/icons/hicolor/128x128/apps/$app_id.png)
fi
for file in "${executables[@]}"; do
    [ -f "$prefix/$file" ] && [ -x "$prefix/$file" ] || fail "$file missing or not executable"
done
for file in "${files[@]}"; do
    [ -s "$prefix/$file" ] || fail "$file missing or empty"
done

if [ "$gui" = ON ]; then
    # Errors and warnings fail; hints (advice such as "more than one main category") are shown.
    if command -v desktop-file-validate >/dev/null; then
        output=$(desktop-file-validate "$prefix/share/applications/$app_id.desktop" 2>&1)
        status=$?
        echo "desktop-file-validate: status $status${output:+; $output}"
        if [ $status -ne 0 ] || grep -qE ': (error|warning):' <<<"$output"; then fail "desktop-file-validate"; fi
    else
        fail "desktop-file-validate not found (Debian package desktop-file-utils; .ci/setup installs it)"
    fi
    # validate-tree checks the metadata together with the desktop entry and icon it names.
    if command -v appstreamcli >/dev/null; then
        appstreamcli validate --no-net --pedantic "$prefix/share/metainfo/$app_id.metainfo.xml" ||
            fail "appstreamcli validate --no-net --pedantic"
        appstreamcli validate-tree --no-net --pedantic "$prefix" || fail "appstreamcli validate-tree --no-net --pedantic"
    else
        fail "appstreamcli not found (Debian package appstream; .ci/setup installs it)"
    fi
    # One version: the newest release in the metadata is the one the program reports.
    released=$(grep -o '<release version="[^"]*"' "$prefix/share/metainfo/$app_id.metainfo.xml" | head -n 1 | cut -d'"' -f2)
    reported=$("$prefix/bin/dcscope-cli" --version | awk '{print $2}')
    [ -n "$released" ] && [ "$released" = "$reported" ] ||
        fail "metainfo's newest release '$released' is not the program's version '$reported'"
    # The installed window starts (its libraries resolve) far enough to print its version.
    gui_version=$(QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=$work_dir "$prefix/bin/dcscope" --version 2>/dev/null)
    [ "$gui_version" = "dcscope $reported" ] || fail "installed dcscope --version printed '$gui_version'"
fi

# The installed CLI with its default package, the source tree's assets/ hidden under an empty
# tmpfs where a user namespace allows it (the package lookup also knows the source tree).
hide=()
if unshare --user --map-root-user --mount sh -c 'mount -t tmpfs tmpfs "$0"' "$source_dir/assets" 2>/dev/null; then
    hide=(unshare --user --map-root-user --mount sh -c 'mount -t tmpfs tmpfs "$0" && exec "$@"' "$source_dir/assets")
    echo "source tree's assets/ hidden for the installed CLI"
else
    echo "no user namespace: source tree's assets/ stay visible; the reported path still has to be the installed one"
fi
info=$("${hide[@]}" "$prefix/bin/dcscope-cli" info 2>&1)
status=$?
echo "$info" | head -n 2
if [ $status -ne 0 ]; then
    echo "$info" >&2
    fail "installed dcscope-cli info: status $status"
fi
grep -qxF "source:          $package" <<<"$info" || fail "installed dcscope-cli info did not report $package"
# The installed compensation/ folder in use: ratios predicted by its CPR coefficients.
"${hide[@]}" "$prefix/bin/dcscope-cli" sample -q --nfe 5 --cpr "$package" --out "$work_dir/sample.npy" ||
    fail "installed dcscope-cli sample --cpr $package"
[ -s "$work_dir/sample.npy" ] || fail "no sample written"
# The example mixture model file, installed, is a model the installed CLI opens.
mixture=$prefix/share/dcscope/mixtures/unequal_modes.json
"$prefix/bin/dcscope-cli" info "$mixture" | grep -q "unequal modes" || fail "installed dcscope-cli info $mixture"

if [ $failures -ne 0 ]; then
    echo "$failures check(s) failed; the install tree is left in $prefix" >&2
    exit 1
fi
echo "install tree OK: $prefix"
