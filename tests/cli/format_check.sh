#!/usr/bin/env bash
# The code follows .clang-format: every tracked C file, exactly.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v clang-format >/dev/null; then
  echo "format_check: clang-format is not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
if ! files=$(git ls-files '*.c' '*.h' 2>/dev/null) || [ -z "$files" ]; then
  echo "format_check: not a git checkout: no list of tracked files" >&2
  exit 1
fi
# shellcheck disable=SC2086
if ! out=$(clang-format --dry-run --Werror $files 2>&1); then
  echo "$out" | grep -E '(warning|error):' | head -20
  echo "format_check: files differ from .clang-format (fix: make format)" >&2
  exit 1
fi
echo "format_check: $(echo "$files" | wc -l) files follow .clang-format"
