//! Choosing the compute device for the CLI: a native GPU through wgpu, or `flex` on the CPU.

use anyhow::{Result, anyhow};
use burn::tensor::wgpu::WgpuBackend;
use burn::tensor::{Device, DeviceKind};
use clap::ValueEnum;

/// `--device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum DeviceChoice {
    /// A discrete or integrated GPU when wgpu finds one, else the CPU.
    #[default]
    Auto,
    /// burn's `flex` backend on the CPU.
    Cpu,
    /// wgpu's default adapter, whatever it is (a software Vulkan driver such as lavapipe
    /// counts); fails when there is none.
    Gpu,
}

/// The platform's native graphics API: probing only it keeps wgpu from trying OpenGL/EGL,
/// which prints noise on headless Linux machines.
fn native_api() -> WgpuBackend {
    if cfg!(target_os = "macos") {
        WgpuBackend::Metal
    } else if cfg!(target_os = "windows") {
        WgpuBackend::Auto
    } else {
        WgpuBackend::Vulkan
    }
}

/// Keeps GPU probing off stderr. Mesa's Vulkan drivers look for a Wayland display while wgpu
/// lists adapters, and libwayland prints "XDG_RUNTIME_DIR is invalid or not set" for every
/// probe on a machine without a desktop session (a server, CI, a container), even when the
/// CPU ends up doing the work. With the variable pointing at an existing folder that holds no
/// Wayland socket, the probe fails silently. Call it before any thread starts.
pub fn quiet_probing() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // SAFETY: called first thing in `cli::run`, while the process has a single thread,
        // so no other thread can read the environment concurrently.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir()) };
    }
}

/// The device and a short description for messages and JSON (`"cpu"`, `"gpu"`).
pub fn select(choice: DeviceChoice) -> Result<(Device, &'static str)> {
    match choice {
        DeviceChoice::Cpu => Ok((Device::flex(), "cpu")),
        DeviceChoice::Gpu => Device::wgpu_options()
            .graphics_api(native_api())
            .init()
            .map(|d| (d, "gpu"))
            .map_err(|e| anyhow!("no usable GPU adapter (wgpu): {e}")),
        DeviceChoice::Auto => {
            for kind in [DeviceKind::DiscreteGpu(0), DeviceKind::IntegratedGpu(0)] {
                let options = Device::wgpu_options().graphics_api(native_api());
                if let Ok(device) = options.device_kind(kind).init() {
                    return Ok((device, "gpu"));
                }
            }
            Ok((Device::flex(), "cpu"))
        }
    }
}
