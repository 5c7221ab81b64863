#!/bin/sh
# Trunk's post_build hook (Trunk.toml): the engine's threaded build into threads/ of the page
# (worker.js uses it on a cross-origin isolated page, cpu-thread.js runs its threads). The
# same crate as the main build, with the `threads` feature instead of `webgpu`, compiled with
# wasm atomics: its standard library is rebuilt for them (-Zbuild-std, hence RUSTC_BOOTSTRAP;
# rustup's rust-src or Debian's rust-web-src, see ./dev), its memory is shared and imported,
# and the TLS exports let wasm-bindgen start a thread per worker. The `target_features`
# section must survive the build (strip only debug info) for wasm-bindgen to see the atomics.
#   TRUNK_STAGING_DIR=DIR sh www/build-threads.sh
set -eu
dest=${TRUNK_STAGING_DIR:?TRUNK_STAGING_DIR is unset: Trunk runs this script}/threads
target=${CARGO_TARGET_DIR:-target}-threads
link="-C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=4294967296"
for symbol in __wasm_init_tls __tls_size __tls_align __tls_base; do link="$link -C link-arg=--export=$symbol"; done
RUSTC_BOOTSTRAP=1 CARGO_UNSTABLE_BUILD_STD=std,panic_abort CARGO_PROFILE_WEB_STRIP=debuginfo \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128,+atomics,+bulk-memory,+mutable-globals $link" \
  "${CARGO:-cargo}" build --quiet --profile web --target wasm32-unknown-unknown --lib --features threads \
  --target-dir "$target"
wasm-bindgen --target web --remove-name-section --remove-producers-section --out-dir "$dest" \
  --out-name gradcam-web "$target/wasm32-unknown-unknown/web/gradcam_web.wasm"
rm -f "$dest"/*.d.ts
