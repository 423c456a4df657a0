#!/usr/bin/env bash
# Re-vendor the MathJax 3 files the site needs into book/_assets/mathjax (about 2.5 MB).
# Usage: bash scripts/vendor_mathjax.sh [version]   (needs npm and the npm registry)
# What is kept: tex-chtml.js (TeX input + CommonHTML output + menu), the TeX extensions
# that load on demand (\boldsymbol, \require...), the woff-v2 fonts, ui/ and
# a11y/assistive-mml.js. Left out: the speech rule engine (sre/, 4 MB), used only when
# a reader turns on the explorer in MathJax's menu.
set -euo pipefail
version="${1:-3.2.2}"
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "mathjax@$version" >/dev/null && tar xzf "mathjax-$version.tgz")
src="$tmp/package/es5"
dst=book/_assets/mathjax
rm -rf "$dst"
mkdir -p "$dst/input/tex" "$dst/output/chtml/fonts" "$dst/a11y"
cp "$src/tex-chtml.js" "$dst/"
cp -r "$src/input/tex/extensions" "$dst/input/tex/"
cp -r "$src/output/chtml/fonts/woff-v2" "$dst/output/chtml/fonts/"
cp -r "$src/ui" "$dst/"
cp "$src/a11y/assistive-mml.js" "$dst/a11y/"
cp "$tmp/package/LICENSE" "$dst/"
echo "mathjax@$version (npm), es5 build, files listed in scripts/vendor_mathjax.sh" > "$dst/VERSION"
du -sh "$dst"
