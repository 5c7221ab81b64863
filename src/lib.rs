//! gradcam-web: see why an image classifier decided what it did.
//!
//! Data flow: photo bytes → [`imageio`] (decode, orient, resize, normalise) → [`model`]
//! (ResNet stages) → [`cam`] (gradients, Grad-CAM map) → [`render`] (upsample, JET, blend)
//! → canvas ([`web`], browser only) or PNG ([`cli`], native only). [`engine`] ties the steps
//! together for one photo.

pub mod adapter;
pub mod archive;
pub mod audit;
#[cfg(not(target_arch = "wasm32"))]
pub mod batch;
pub mod benchmark;
pub mod cam;
pub mod csv_line;
pub mod display;
pub mod engine;
pub mod imageio;
pub mod model;
pub mod render;
pub mod session;
pub mod trust;

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use engine::{ExplainJob, Explainer, Explanation, Prediction};
