//! `gradcam`: the native command line (see `gradcam --help`).

#[cfg(not(target_arch = "wasm32"))]
fn main() -> anyhow::Result<()> {
    gradcam_web::cli::run()
}

/// The command line is native only; the browser uses the library's `web` module.
#[cfg(target_arch = "wasm32")]
fn main() {}
