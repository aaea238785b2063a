#!/usr/bin/env bash
# Debian packages the test suite needs beyond Python (run as root: `sudo tests/install-system-packages.sh`).
# Part of the README's test command and so of .ci/run; it installs only what is missing.
set -euo pipefail
packages=(
  # Fonts the tests draw their images with (DejaVu), and the Latin training fonts.
  fonts-dejavu-core fonts-liberation fonts-freefont-ttf fonts-noto-core
  # The one CJK training font the zh-en training tests render hanzi with (5 MB).
  fonts-wqy-microhei
  # A CJK font no shipped model was trained with: the reading tests render Chinese in it (17 MB).
  fonts-arphic-ukai
  # The web page test drives Debian's browser through Playwright (tests/web/test_page.py).
  chromium
  # pdftotext and pdffonts check the searchable PDFs' text layer (tests/test_pdf.py).
  poppler-utils
  # tests/test_packaging.py runs systemd-analyze verify on systemd/edgeocr.service.
  systemd
  # tests/cluster/ start a real Redis on a loopback port (the broker of daemon.broker); openssl makes
  # the self-signed certificate of the rediss:// (TLS) test.
  redis-server openssl
)
missing=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
