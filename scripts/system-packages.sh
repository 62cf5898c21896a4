#!/bin/sh
# Debian packages Jiaozi needs outside Python, installed only when missing.
#
#   fonts-arphic-uming  uming.ttc: the Song/Ming TrueType face embedded in certificate PDFs
#   fonts-hanazono      HanaMinA/B.ttf: fallback for rare characters in names (e.g. 𬌗)
#   poppler-utils       pdftoppm, pdftotext, pdffonts: used by the PDF tests
#   libnss3-tools       certutil: the key-ceremony tests import the national root into a
#                       temporary NSS database so that pdfsig judges the signer trusted
#   chromium            headless browser for the verifier web page tests (tests/e2e; driven
#                       by Playwright's Python package: no browser is ever downloaded)
#   nginx-light         `make stack` and its fault drills (tests/stack): TLS in front of the
#                       verifier replicas, the public artefacts as static files
#                       (deploy/nginx/jiaozi.conf.template); the stack also uses PostgreSQL's
#                       server binaries and redis-server, present on the CI image
#
# Idempotent: prints what it installs and why, nothing else to do when all are present.
set -eu

PACKAGES="fonts-arphic-uming fonts-hanazono poppler-utils libnss3-tools chromium nginx-light"

missing=""
for pkg in $PACKAGES; do
    if dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed$'; then
        :
    else
        missing="$missing $pkg"
    fi
done

if [ -z "$missing" ]; then
    echo "system packages: all present ($PACKAGES)"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "error: missing Debian packages:$missing" >&2
        echo "  run as root: apt-get update && apt-get install -y --no-install-recommends$missing" >&2
        echo "  (or run 'sudo scripts/system-packages.sh')" >&2
        exit 1
    fi
else
    SUDO=""
fi

for pkg in $missing; do
    echo "installing $pkg (missing)"
done

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# shellcheck disable=SC2086  # word splitting of the package list is intended
$SUDO apt-get install -y --no-install-recommends $missing
echo "system packages: installed$missing"
