//! Choosing the compute device in the browser.

use burn::tensor::Device;

/// WebGPU when asked for and available, else `flex` on the CPU. Returns the device and a
/// label for the page (`"webgpu"`, or `"cpu"` with the reason).
pub async fn select(try_gpu: bool) -> (Device, String) {
    if !try_gpu {
        return (
            Device::flex(),
            "cpu (WebGPU is not available in this browser)".into(),
        );
    }
    #[cfg(not(feature = "webgpu"))]
    return (Device::flex(), "cpu (this build has no WebGPU)".into());
    #[cfg(feature = "webgpu")]
    match Device::wgpu_options().init_async().await {
        Ok(device) => (device, "webgpu".into()),
        Err(e) => {
            web_sys::console::warn_1(&format!("WebGPU failed, using the CPU: {e}").into());
            (Device::flex(), format!("cpu (WebGPU failed: {e})"))
        }
    }
}
