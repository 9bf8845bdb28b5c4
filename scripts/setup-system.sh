#!/usr/bin/env bash
# Installs the Debian packages reporter needs: pango for WeasyPrint, harfbuzz-subset (without it a
# CJK PDF takes ~13 s instead of ~0.3 s), Noto CJK and DejaVu fonts, poppler-utils for the PDF tests.
# With --test it adds Chromium for the browser tests and openssl (the delivery tests make a self-signed
# certificate for their loopback SMTP servers). Installs only what is missing; needs root (or
# sudo) the first time.
set -euo pipefail
packages=(python3-venv libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk fonts-noto-color-emoji
          fonts-dejavu-core poppler-utils)
if [ "${1:-}" = "--test" ]; then
  packages+=(chromium openssl)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need root to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# matplotlib caches the font list; a cache written before the fonts arrived keeps drawing boxes.
rm -f "${HOME}"/.cache/matplotlib/fontlist-*.json
