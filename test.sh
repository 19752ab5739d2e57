#!/usr/bin/env bash
# The test command: installs what the tests need when it is missing, then runs every test.
#
#   ./test.sh [extra cargo test arguments]
#
# Installs with apt (as root, or through sudo): chromium and chromium-driver (the web console's
# browser tests), python3-venv (the Python plugin test makes a virtual environment for
# componentize-py; the OpenAPI test makes one for openapi-spec-validator), python3-aiosmtpd and
# postgresql (for the SMTP and PostgreSQL tests), prometheus (promtool checks /metrics). Then
# adds the wasm32-wasip2 target and runs `cargo test --workspace --locked`.
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages, each installed only when dpkg does not have it.
missing=()
for package in chromium chromium-driver python3-venv python3-aiosmtpd postgresql prometheus; do
    [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" = 'install ok installed' ] ||
        missing+=("$package")
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: installing ${missing[*]}" >&2
    sudo=$([ "$(id -u)" -eq 0 ] || echo sudo)
    $sudo apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

# rust-toolchain.toml lists the target, but rustup only adds it when it installs the
# toolchain; a machine that already has the toolchain needs it added (a no-op when present).
rustup target add wasm32-wasip2

cargo test --workspace --locked "$@"
