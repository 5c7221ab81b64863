//! Putting RGBA pixels on a `<canvas>`.

use wasm_bindgen::{Clamped, JsCast, JsError};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

/// Resizes `canvas` to `width × height` and fills it with `rgba`.
pub fn put_rgba(
    canvas: &HtmlCanvasElement,
    rgba: &[u8],
    width: u32,
    height: u32,
) -> Result<(), JsError> {
    canvas.set_width(width);
    canvas.set_height(height);
    let context = canvas
        .get_context("2d")
        .map_err(|_| JsError::new("the canvas has no 2D context"))?
        .ok_or_else(|| JsError::new("the canvas has no 2D context"))?
        .dyn_into::<CanvasRenderingContext2d>()
        .map_err(|_| JsError::new("the canvas context is not 2D"))?;
    let image = ImageData::new_with_u8_clamped_array_and_sh(Clamped(rgba), width, height)
        .map_err(|_| JsError::new("could not wrap the pixels as ImageData"))?;
    context
        .put_image_data(&image, 0.0, 0.0)
        .map_err(|_| JsError::new("could not draw on the canvas"))
}
