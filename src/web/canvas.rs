//! Turning RGBA pixels into an `ImageBitmap` through an `OffscreenCanvas` (this runs in a
//! Web Worker, which has no DOM canvas); the page shows the bitmap without copying it.

use wasm_bindgen::{JsCast, JsError};
use web_sys::{ImageBitmap, ImageData, OffscreenCanvas, OffscreenCanvasRenderingContext2d};

/// Draws `rgba` (`width × height`) on an offscreen canvas and detaches it as a bitmap.
pub fn rgba_to_bitmap(rgba: &[u8], width: u32, height: u32) -> Result<ImageBitmap, JsError> {
    let canvas = OffscreenCanvas::new(width, height)
        .map_err(|_| JsError::new("could not create an offscreen canvas"))?;
    let context = canvas
        .get_context("2d")
        .map_err(|_| JsError::new("the offscreen canvas has no 2D context"))?
        .ok_or_else(|| JsError::new("the offscreen canvas has no 2D context"))?
        .dyn_into::<OffscreenCanvasRenderingContext2d>()
        .map_err(|_| JsError::new("the offscreen canvas context is not 2D"))?;
    // A copy the browser owns: ImageData refuses a view of the threaded build's shared memory.
    let pixels = js_sys::Uint8ClampedArray::new_with_length(rgba.len() as u32);
    pixels.copy_from(rgba);
    let image = ImageData::new_with_js_u8_clamped_array_and_sh(&pixels, width, height)
        .map_err(|_| JsError::new("could not wrap the pixels as ImageData"))?;
    context
        .put_image_data(&image, 0.0, 0.0)
        .map_err(|_| JsError::new("could not draw on the offscreen canvas"))?;
    canvas
        .transfer_to_image_bitmap()
        .map_err(|_| JsError::new("could not take the bitmap from the offscreen canvas"))
}
