//! Colour map, resampling, normalisation and overlay against independent references:
//! OpenCV's own JET table, `cv2.resize` output and pytorch-grad-cam's `show_cam_on_image`
//! (fixtures made by `tests/reference/`).

use std::path::PathBuf;

use gradcam_web::imageio::read_npy_f32;
use gradcam_web::render::{
    CamOnImage, Colormap, JET, Normalized, View, ViewOptions, jet, min_max_normalize,
    normalize_like_pytorch_grad_cam, render_view, resize_bilinear,
};
use image::RgbImage;

/// The page's default view (min-max scaling, JET, no threshold) with photo weight `weight`.
fn overlay(photo: &RgbImage, cam: &[f32], shape: (usize, usize), weight: f32) -> View {
    let options = ViewOptions {
        photo_weight: weight,
        ..ViewOptions::default()
    };
    render_view(photo, cam, shape, &options)
}

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
fn jet_quantises_values_like_pytorch_grad_cam() {
    assert_eq!(jet(0.0), [0, 0, 128]);
    assert_eq!(jet(1.0), [128, 0, 0]);
    assert_eq!(jet(2.0), [128, 0, 0], "clamped above");
    assert_eq!(jet(-1.0), [0, 0, 128], "clamped below");
    // np.uint8(255 · 0.5) = np.uint8(127.5) = 127.
    assert_eq!(jet(0.5), JET[127]);
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
            assert_eq!(
                a.to_bits(),
                e.to_bits(),
                "{h}×{w} at {i}: {a} vs OpenCV {e}"
            );
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
fn blend_divides_by_the_brightest_value_like_show_cam_on_image() {
    // Values printed by pytorch-grad-cam 1.5.7's show_cam_on_image(img, mask,
    // use_rgb=True, image_weight=w) on these 1- and 2-pixel images.
    let blend = |mask: &[f32], photo: &[u8], w: f32| {
        let b = CamOnImage::new(mask, photo, Colormap::Jet, w);
        mask.iter()
            .zip(photo.chunks(3))
            .map(|(&m, p)| b.pixel(jet(m), [p[0], p[1], p[2]]))
            .collect::<Vec<[u8; 3]>>()
    };
    // Dark blue heat on black: stretched to full blue.
    assert_eq!(blend(&[0.0], &[0, 0, 0], 0.5), [[0, 0, 255]]);
    // The photo alone (weight 1), stretched by its brightest channel.
    assert_eq!(blend(&[0.0], &[10, 20, 40], 1.0), [[63, 127, 255]]);
    // Red heat on a red pixel, dark blue on a black one, channels in RGB order.
    assert_eq!(
        blend(&[1.0, 0.0], &[255, 0, 0, 0, 0, 0], 0.3),
        [[255, 0, 0], [0, 0, 137]]
    );
}

/// pytorch-grad-cam's picture, bit for bit: `tests/reference/make_overlay_fixture.py` ran
/// its one-layer scaling (`scale_cam_image` → `cv2.resize` → `scale_cam_image`) and
/// `show_cam_on_image(photo / 255, mask, use_rgb=True, image_weight=w)` on this 8×8 map and
/// 131×97 photo.
#[test]
fn default_overlay_is_pytorch_grad_cams_show_cam_on_image_bit_for_bit() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/overlay");
    let photo = image::open(dir.join("photo.png")).unwrap().to_rgb8();
    let (width, height) = photo.dimensions();
    let map = read_npy_f32(&std::fs::read(dir.join("map.npy")).unwrap()).unwrap();
    let shape = (map.shape[0], map.shape[1]);
    let mask = read_npy_f32(&std::fs::read(dir.join("mask.npy")).unwrap()).unwrap();
    let (ours, _) =
        normalize_like_pytorch_grad_cam(&map.data, shape, (height as usize, width as usize));
    let ulps = ours
        .iter()
        .zip(&mask.data)
        .filter(|(a, b)| a.to_bits() != b.to_bits())
        .count();
    assert_eq!(ulps, 0, "{ulps} mask values differ from pytorch-grad-cam's");
    for weight in [0.5, 0.3] {
        let expected = image::open(dir.join(format!("overlay.w{weight}.png")))
            .unwrap()
            .to_rgb8();
        let overlay = overlay(&photo, &map.data, shape, weight);
        let rgb: Vec<u8> = overlay
            .rgba
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        let differing = rgb
            .iter()
            .zip(expected.as_raw())
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(
            differing, 0,
            "image_weight {weight}: {differing} bytes differ"
        );
    }
}

#[test]
fn overlay_is_at_photo_resolution_with_hot_spot_where_the_map_peaks() {
    let photo = RgbImage::from_pixel(40, 20, image::Rgb([100, 100, 100]));
    // 2×2 map, hottest at top-left, zero at bottom-right.
    let overlay = overlay(&photo, &[1.0, 0.5, 0.5, 0.0], (2, 2), 0.5);
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
    // Top-left corner: value 1 → 0.9999999 after scaling → JET[254] (132,0,0) blended with
    // grey 100, divided by the brightest blend (JET's 255 channels with grey: 0.696);
    // bottom-right: value 0 → JET[0] dark blue (0,0,128). pytorch-grad-cam's numbers.
    assert_eq!(pixel(0, 0), [166, 71, 71, 255]);
    assert_eq!(pixel(39, 19), [71, 71, 163, 255]);
    assert!(matches!(overlay.normalized, Normalized::Scaled { .. }));
}

#[test]
fn a_map_is_flat_when_its_values_are_equal_to_rounding() {
    use gradcam_web::render::spread;
    assert_eq!(spread(&[0.0; 4]), None);
    assert_eq!(spread(&[0.5; 4]), None, "constant, not zero");
    assert_eq!(spread(&[1.0, 1.0 + f32::EPSILON / 2.0]), None);
    assert_eq!(spread(&[0.0, 1e-3, 0.0]), Some((0.0, 1e-3)));
    assert_eq!(spread(&[-2.0, 3.0]), Some((-2.0, 3.0)));
    assert_eq!(
        spread(&[f32::NAN, 1.0]),
        None,
        "NaN is ignored: one value left"
    );
}

#[test]
fn flat_map_draws_the_plain_photo() {
    let photo = RgbImage::from_pixel(3, 2, image::Rgb([1, 2, 3]));
    let overlay = overlay(&photo, &[0.0; 4], (2, 2), 0.5);
    assert_eq!(overlay.normalized, Normalized::Flat);
    assert!(overlay.rgba.chunks(4).all(|p| p == [1, 2, 3, 255]));
}
