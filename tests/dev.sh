#!/usr/bin/env bash
# shellcheck disable=SC2016 # single-quoted code runs in the shell that sourced ./dev
# Checks the platform decisions of ./dev without building anything: it sources a copy of
# the script in a scratch repository, with stub commands (rustc, rustup, apt-get, sudo, npm)
# first on a PATH that holds only basic tools, and runs as root and as `nobody` (setpriv).
# The cases as root and as `nobody` need root and setpriv (util-linux) and are skipped without them.
# About a second; ./dev test runs it.
#   bash tests/dev.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCRATCH=$(mktemp -d)
chmod 755 "$SCRATCH"
trap 'rm -rf "$SCRATCH"' EXIT
FAILED=0
pass() { printf 'ok   %s\n' "$1"; }
fail() { printf 'FAIL %s\n' "$1"; FAILED=1; }
expect() { # name expected actual
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1"; printf '  expected: %s\n  actual:   %s\n' "$2" "$3"; fi
}

# A scratch repository: the script, the lock it reads, the files setup_node looks at.
REPO=$SCRATCH/repo
mkdir -p "$REPO/tests/browser" "$REPO/www"
cp "$ROOT/dev" "$ROOT/Cargo.lock" "$REPO/"
cp "$ROOT/www/stage-weights.sh" "$REPO/www/"
touch "$REPO/tests/browser/package-lock.json"

# Basic tools only (no rustup, cargo, apt-get, sudo, sha256sum): stubs are added per case.
TOOLS=$SCRATCH/tools
mkdir -p "$TOOLS"
for tool in awk basename cat chmod cp cut dirname env grep id ls mkdir mktemp rm sed sort touch; do
  ln -s "$(command -v "$tool")" "$TOOLS/$tool"
done

# stub NAME BODY: a command in $SCRATCH/stubs/<case> that runs BODY (sh) and logs its call.
STUBS=
new_case() { STUBS=$SCRATCH/stubs/$1; mkdir -p "$STUBS"; : > "$SCRATCH/log"; chmod 666 "$SCRATCH/log"; }
stub() {
  printf '#!/bin/sh\necho "%s $*" >> %s/log\n%s\n' "$1" "$SCRATCH" "$2" > "$STUBS/$1"
  chmod 755 "$STUBS/$1"
}
# in_dev USER CODE: runs CODE after sourcing the copy of ./dev, as USER (root or nobody).
in_dev() {
  local user=$1 code=$2 as=()
  [ "$user" = root ] || as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  ${as[@]+"${as[@]}"} env -i HOME="$SCRATCH" PATH="$STUBS:$TOOLS" "$BASH" -c "source '$REPO/dev'; $code" 2>&1
}
calls() { cat "$SCRATCH/log"; }
AS_USER=1
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
  AS_USER=0
  echo "skip the cases as root and as nobody (they need root and setpriv)"
fi

# --- root and sudo ---------------------------------------------------------------------
if [ "$AS_USER" = 1 ]; then
  new_case sudo
  stub sudo 'exec "$@"'
  stub apt-get 'exit 0'
  expect "as root, apt-get runs directly" \
    "apt-get update -qq|apt-get install -y -qq chromium" \
    "$(in_dev root 'apt_install chromium' >/dev/null; calls | paste -sd'|' -)"
  new_case sudo-user
  stub sudo 'exec "$@"'
  stub apt-get 'exit 0'
  expect "as a user, apt-get runs through sudo" \
    "sudo apt-get update -qq|apt-get update -qq|sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium|apt-get install -y -qq chromium" \
    "$(in_dev nobody 'apt_install chromium' >/dev/null; calls | paste -sd'|' -)"
  new_case no-sudo
  stub apt-get 'exit 0'
  out=$(in_dev nobody 'apt_install chromium' || true)
  case "$out" in *"not root and no sudo"*) pass "as a user without sudo: a clear error" ;; *) fail "as a user without sudo: $out" ;; esac
  expect "as a user without sudo, apt-get is not run" "" "$(calls)"
fi

# --- the wasm32 toolchain ----------------------------------------------------------------
SYSROOT=$SCRATCH/sysroot
WASM_LIB=$SYSROOT/lib/rustlib/wasm32-unknown-unknown/lib
STD_SRC=$SYSROOT/lib/rustlib/src/rust/library
new_case wasm-present
mkdir -p "$WASM_LIB" "$STD_SRC"
stub rustc "echo $SYSROOT"
stub rustup 'exit 1'
expect "wasm target and std sources installed: toolchain on PATH, rustup untouched" "WASM_ENV=0" \
  "$(in_dev root 'setup_wasm_toolchain; echo WASM_ENV=${#WASM_ENV[@]}' | grep WASM_ENV)"
expect "wasm target and std sources installed: no rustup call" "" "$(calls | grep rustup)"

new_case wasm-rustup
rm -rf "$SYSROOT"
stub rustc "echo $SYSROOT"
stub rustup 'case "$1" in target) mkdir -p '"$WASM_LIB"' ;; component) mkdir -p '"$STD_SRC"' ;; esac'
expect "rustup adds the target and the std sources: toolchain on PATH" "WASM_ENV=0" \
  "$(in_dev root 'setup_wasm_toolchain; echo WASM_ENV=${#WASM_ENV[@]}' | grep WASM_ENV)"
expect "rustup adds the target, then the std sources (for the threaded build)" \
  "rustup target add wasm32-unknown-unknown|rustup component add rust-src" "$(calls | grep rustup | paste -sd'|' -)"

new_case wasm-rustup-no-src
rm -rf "$SYSROOT"
mkdir -p "$WASM_LIB"
stub rustc "echo $SYSROOT"
stub rustup 'exit 1'
expect "std sources missing and rustup cannot add them: the Debian route" "debian" \
  "$(in_dev root 'setup_debian_wasm() { echo debian; }; setup_wasm_toolchain' | grep -x debian)"

new_case wasm-debian
rm -rf "$SYSROOT"
stub rustc "echo $SYSROOT"
stub rustup 'exit 1'
expect "rustup fails: the Debian route" "debian" \
  "$(in_dev root 'setup_debian_wasm() { echo debian; }; setup_wasm_toolchain' | grep -x debian)"

new_case wasm-debian-env
stub rustc "echo $SYSROOT"
stub apt-get 'exit 0'
stub dpkg 'exit 0'
stub rust-lld 'exit 0'
expect "the Debian route builds with /usr/bin's rustc-web and -Zbuild-std" \
  "env PATH=/usr/bin:$STUBS:$TOOLS RUSTC_BOOTSTRAP=1 CARGO_UNSTABLE_BUILD_STD=std,panic_abort RUSTC=/usr/bin/rustc CARGO=/usr/bin/cargo" \
  "$(in_dev root 'setup_debian_wasm >/dev/null; echo "${WASM_ENV[*]}"' | tail -1)"

new_case wasm-nothing
stub rustc "echo $SYSROOT"
out=$(in_dev root 'setup_wasm_toolchain' || true)
case "$out" in *"rustup target add wasm32-unknown-unknown"*) pass "no rustup, no apt-get: says how to get the target" ;; *) fail "no rustup, no apt-get: $out" ;; esac

new_case wasm-lint
stub clippy-driver 'exit 0'
expect "wasm lint on rustup's toolchain: clippy-driver as the workspace wrapper" \
  "RUSTC_WORKSPACE_WRAPPER=$STUBS/clippy-driver" \
  "$(in_dev root 'GRADCAM_LINT=1; WASM_ENV=(); wasm_lint_env; echo "${WASM_LINT[0]}"')"
expect "no wasm lint without GRADCAM_LINT" "0" \
  "$(in_dev root 'WASM_ENV=(); wasm_lint_env; echo "${#WASM_LINT[@]}"')"
stub fake-rustc 'exit 0'
expect "wasm lint on Debian's rustc-web: warnings as errors through a wrapper" \
  "RUSTC_WORKSPACE_WRAPPER=$SCRATCH/t/deny-warnings" \
  "$(in_dev root "TARGET_ROOT=$SCRATCH/t; GRADCAM_LINT=1; WASM_ENV=(env RUSTC=/usr/bin/rustc); wasm_lint_env; echo \"\${WASM_LINT[0]}\"; $SCRATCH/t/deny-warnings fake-rustc --crate-name x")"
expect "the wrapper runs rustc with -D warnings" "fake-rustc --crate-name x -D warnings" "$(calls | grep fake-rustc)"

# --- portable replacements --------------------------------------------------------------
new_case sha
printf 'gradcam' > "$SCRATCH/file"
if command -v sha256sum >/dev/null; then
  want=$(sha256sum "$SCRATCH/file" | cut -d' ' -f1)
  ln -s "$(command -v sha256sum)" "$STUBS/sha256sum"
  expect "sha256_of with sha256sum" "$want" "$(in_dev root "sha256_of '$SCRATCH/file'")"
  rm "$STUBS/sha256sum"
  stub shasum "[ \"\$1 \$2\" = '-a 256' ] && exec $(command -v sha256sum) \"\$3\""
else # macOS: the real shasum
  want=$(shasum -a 256 "$SCRATCH/file" | cut -d' ' -f1)
  ln -s "$(command -v shasum)" "$STUBS/shasum"
fi
expect "sha256_of with shasum -a 256 (macOS)" "$want" "$(in_dev root "sha256_of '$SCRATCH/file'")"

new_case lock
expect "wasm-bindgen version from Cargo.lock" \
  "$(grep -A1 '^name = "wasm-bindgen"$' "$ROOT/Cargo.lock" | sed -n 's/^version = "\(.*\)"$/\1/p')" \
  "$(in_dev root 'wasm_bindgen_version')"

new_case prune
deps=$SCRATCH/target/host/debug/deps
mkdir -p "$deps"
for f in render-00000000000000aa render-00000000000000bb cli-00000000000000cc; do
  printf '' > "$deps/$f"; chmod 755 "$deps/$f"
done
printf '' > "$deps/render-00000000000000aa.d"
touch -t 202001010000 "$deps/render-00000000000000aa"
touch -t 202101010000 "$deps/render-00000000000000bb"
in_dev root "HOST_TARGET='$SCRATCH/target/host'; prune_stale_test_binaries" >/dev/null
expect "prune keeps the newest binary of each test" \
  "cli-00000000000000cc render-00000000000000aa.d render-00000000000000bb" \
  "$(cd "$deps" && echo *)"

new_case npm
stub node 'exit 0'
stub npm 'exit 0'
in_dev root 'setup_node' >/dev/null
expect "test install leaves out onnxruntime-web" "npm ci --silent --no-audit --no-fund --omit=optional" "$(calls | grep '^npm')"
: > "$SCRATCH/log"
in_dev root 'setup_node bench' >/dev/null
expect "bench install includes it" "npm ci --silent --no-audit --no-fund" "$(calls | grep '^npm')"

# --- what ships in dist/weights ----------------------------------------------------------
src=$SCRATCH/weights
mkdir -p "$src/downloads" "$SCRATCH/stage"
for f in models.json a.bpk README.md a.tmp b.bpk.part downloads/resnet101-63fe2227.pth; do printf x > "$src/$f"; done
TRUNK_STAGING_DIR=$SCRATCH/stage sh "$REPO/www/stage-weights.sh" "$src"
expect "stage-weights ships models.json and *.bpk only" "a.bpk models.json" "$(cd "$SCRATCH/stage/weights" && echo *)"

# --- .ci/run's target directory ----------------------------------------------------------
clone=$SCRATCH/clones/gradcam-web
mkdir -p "$clone/.ci"
chmod 777 "$SCRATCH/clones"
cp "$ROOT/.ci/run" "$clone/.ci/run"
printf '#!/bin/sh\necho "dev $* in $CARGO_TARGET_DIR"\n' > "$clone/dev"
chmod -R a+rx "$clone"
chmod 777 "$clone"
if [ "$AS_USER" = 1 ]; then
  expect ".ci/run: /var/cache not writable, next to the clone" \
    "dev test in $SCRATCH/clones/gradcam-web-target" \
    "$(setpriv --reuid=65534 --regid=65534 --clear-groups env -i PATH=/usr/bin:/bin bash "$clone/.ci/run" | grep '^dev')"
fi
expect ".ci/run: CARGO_TARGET_DIR kept" "dev test in $SCRATCH/t" \
  "$(env -i PATH=/usr/bin:/bin CARGO_TARGET_DIR="$SCRATCH/t" bash "$clone/.ci/run" | grep '^dev')"

# --- ./dev bench and --gpu ---------------------------------------------------------------
# Every step stubbed: which runs time what, and on which device.
new_case bench
stub node 'exit 0'
stub tee 'cat >/dev/null'
stub python 'exit 0'
bench_run() { # ARGS
  in_dev root "setup_python_peers() { :; }; build_weights() { :; }; build_web() { :; }
    gradcam_cli() { :; }; gradcam_release() { echo \"gradcam \$*\" >> '$SCRATCH/log'; }
    PYREF='$STUBS/..'; mkdir -p '$STUBS/../bin'; cp '$STUBS/python' '$STUBS/../bin/python'
    run_benchmarks $1" >/dev/null
  calls | sed "s|$REPO/target/bench|DATA|g; s| --runs 10 --warmup 3||" | grep -E '^(gradcam bench|python .*--device|node tests/bench/browser-bench)' | paste -sd'|' -
}
expect "./dev bench: ours on the CPU, the browser on its default adapter" \
  "gradcam bench --weights DATA/resnet101.bpk --device cpu --json|node tests/bench/browser-bench.mjs DATA" \
  "$(bench_run '')"
new_case bench-gpu
stub node 'exit 0'
stub tee 'cat >/dev/null'
stub python 'exit 0'
expect "./dev bench --gpu: ours on the CPU and on wgpu, PyTorch on CUDA, the browser on the GPU" \
  "gradcam bench --weights DATA/resnet101.bpk --device cpu --json|gradcam bench --weights DATA/resnet101.bpk --device gpu --json|python tests/reference/bench_peer_pytorch.py --pth DATA/resnet101.pth --device cuda|node tests/bench/browser-bench.mjs DATA --gpu" \
  "$(bench_run --gpu)"

exit "$FAILED"
