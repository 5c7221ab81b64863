//! Which compute adapter a machine should use. A software rasteriser that presents itself as
//! a GPU (SwiftShader in Chromium, Mesa's llvmpipe/lavapipe, Microsoft's WARP) runs a
//! ResNet-101 tens of times slower than the `flex` CPU backend (26–30 s against 0.7 s in the
//! page), so it is not preferred over the CPU unless the user asks for it.

use serde::Deserialize;

/// What WebGPU's `GPUAdapterInfo` (or wgpu's adapter info) says about an adapter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AdapterInfo {
    /// `vendor`, e.g. `google`, `mesa`, `nvidia`.
    pub vendor: String,
    /// `architecture`, e.g. `swiftshader`, `ampere`.
    pub architecture: String,
    /// `device`.
    pub device: String,
    /// `description`, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`.
    pub description: String,
    /// `isFallbackAdapter`: the browser's own word that this adapter is a fallback (software).
    pub is_fallback_adapter: bool,
}

/// Names that only software rasterisers carry (case-insensitive), anywhere in a field...
const SOFTWARE_NAMES: [&str; 5] = [
    "swiftshader",
    "llvmpipe",
    "lavapipe",
    "softpipe",
    "microsoft basic render",
];
/// ...or as a whole word (so that "warp" is not found in "Warpath").
const SOFTWARE_WORDS: [&str; 1] = ["warp"];

impl AdapterInfo {
    /// Whether the adapter computes on the CPU while posing as a GPU.
    pub fn is_software(&self) -> bool {
        let says_software = |field: &String| {
            let field = field.to_lowercase();
            SOFTWARE_NAMES.iter().any(|name| field.contains(name))
                || field
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|word| SOFTWARE_WORDS.contains(&word))
        };
        self.is_fallback_adapter
            || [
                &self.vendor,
                &self.architecture,
                &self.device,
                &self.description,
            ]
            .into_iter()
            .any(says_software)
    }

    /// A short name for messages: the non-empty fields, space-separated.
    pub fn name(&self) -> String {
        let parts: Vec<&str> = [&self.vendor, &self.architecture, &self.description]
            .into_iter()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect();
        if parts.is_empty() {
            "unnamed adapter".to_owned()
        } else {
            parts.join(" ")
        }
    }
}
