//! Colour map, resampling, normalisation and overlay against independent references:
//! OpenCV's own JET table and `cv2.resize` output (fixtures made by `tests/reference/`).

use gradcam_web::render::{
    JET, Normalized, blend, jet, min_max_normalize, render_overlay, resize_bilinear,
};
use image::RgbImage;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn jet_equals_opencv_colormap_jet_entry_for_entry() {
    let text = fixture("opencv_jet_lut.txt");
    let rows: Vec<Vec<u32>> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split_whitespace().map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 256);
    for row in rows {
        let index = row[0] as usize;
        let expected = [row[1] as u8, row[2] as u8, row[3] as u8];
        assert_eq!(JET[index], expected, "entry {index}");
    }
}

#[test]
fn jet_quantises_values_like_opencv() {
    assert_eq!(jet(0.0), [0, 0, 128]);
    assert_eq!(jet(1.0), [128, 0, 0]);
    assert_eq!(jet(2.0), [128, 0, 0], "clamped above");
    assert_eq!(jet(-1.0), [0, 0, 128], "clamped below");
    // 0.5 × 255 = 127.5 rounds to 128.
    assert_eq!(jet(0.5), JET[128]);
}

#[test]
fn bilinear_resize_matches_opencv_inter_linear() {
    let text = fixture("opencv_resize.txt");
    let mut src = Vec::new();
    let mut cases = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let mut fields = line.split_whitespace();
        let kind = fields.next().unwrap();
        let h: usize = fields.next().unwrap().parse().unwrap();
        let w: usize = fields.next().unwrap().parse().unwrap();
        let values: Vec<f32> = fields.map(|v| v.parse().unwrap()).collect();
        assert_eq!(values.len(), h * w);
        if kind == "src" {
            src = values;
            continue;
        }
        let ours = resize_bilinear(&src, (2, 3), (h, w));
        for (i, (a, e)) in ours.iter().zip(&values).enumerate() {
            assert!((a - e).abs() <= 1e-5, "{h}×{w} at {i}: {a} vs OpenCV {e}");
        }
        cases += 1;
    }
    assert_eq!(cases, 5);
}

#[test]
fn min_max_scales_to_unit_range_and_guards_flat_maps() {
    let mut map = vec![2.0, 4.0, 3.0];
    assert_eq!(
        min_max_normalize(&mut map),
        Normalized::Scaled { min: 2.0, max: 4.0 }
    );
    assert_eq!(map, vec![0.0, 1.0, 0.5]);
    let mut zeros = vec![0.0; 4];
    assert_eq!(min_max_normalize(&mut zeros), Normalized::Flat);
    assert!(zeros.iter().all(|v| *v == 0.0));
    let mut constant = vec![7.5; 3];
    assert_eq!(min_max_normalize(&mut constant), Normalized::Flat);
}

#[test]
fn blend_is_weighted_sum_in_rgb_order() {
    // Heat pure red, photo pure blue: half and half, channels stay in RGB order.
    assert_eq!(blend([255, 0, 0], [0, 0, 255], 0.5), [128, 0, 128]);
    assert_eq!(blend([200, 100, 0], [0, 50, 100], 0.25), [150, 88, 25]);
    assert_eq!(blend([10, 20, 30], [40, 50, 60], 0.0), [10, 20, 30]);
    assert_eq!(blend([10, 20, 30], [40, 50, 60], 1.0), [40, 50, 60]);
}

#[test]
fn overlay_is_at_photo_resolution_with_hot_spot_where_the_map_peaks() {
    let photo = RgbImage::from_pixel(40, 20, image::Rgb([100, 100, 100]));
    // 2×2 map, hottest at top-left, zero at bottom-right.
    let overlay = render_overlay(&photo, &[1.0, 0.5, 0.5, 0.0], (2, 2), 0.5);
    assert_eq!((overlay.width, overlay.height), (40, 20));
    assert_eq!(overlay.rgba.len(), 40 * 20 * 4);
    let pixel = |x: usize, y: usize| {
        let i = (y * 40 + x) * 4;
        [
            overlay.rgba[i],
            overlay.rgba[i + 1],
            overlay.rgba[i + 2],
            overlay.rgba[i + 3],
        ]
    };
    // Top-left corner: value 1 → JET red (128,0,0) blended with grey 100.
    assert_eq!(pixel(0, 0), [114, 50, 50, 255]);
    // Bottom-right corner: value 0 → JET dark blue (0,0,128) blended with grey.
    assert_eq!(pixel(39, 19), [50, 50, 114, 255]);
    assert!(matches!(overlay.normalized, Normalized::Scaled { .. }));
}

#[test]
fn flat_map_draws_the_plain_photo() {
    let photo = RgbImage::from_pixel(3, 2, image::Rgb([1, 2, 3]));
    let overlay = render_overlay(&photo, &[0.0; 4], (2, 2), 0.5);
    assert_eq!(overlay.normalized, Normalized::Flat);
    assert!(overlay.rgba.chunks(4).all(|p| p == [1, 2, 3, 255]));
}
