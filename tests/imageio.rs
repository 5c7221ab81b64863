//! Decoding and preprocessing: formats, orientation, normalisation and RGB order.

use std::io::Cursor;

use gradcam_web::imageio::{DecodeError, INPUT_SIZE, Normalization, decode_photo, preprocess};
use image::{DynamicImage, ImageFormat, RgbImage};

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

#[test]
fn real_photos_decode_at_their_size() {
    let hopper = decode_photo(&fixture_bytes("grace_hopper.jpg")).unwrap();
    assert_eq!((hopper.width(), hopper.height()), (512, 600));
    let china = decode_photo(&fixture_bytes("china.jpg")).unwrap();
    assert_eq!((china.width(), china.height()), (640, 427));
}

#[test]
fn exif_orientation_is_applied() {
    // Stored 32×16, left half red; EXIF 6 means "rotate 90° clockwise": upright 16×32, red on top.
    let photo = decode_photo(&fixture_bytes("exif-orientation-6.jpg")).unwrap();
    assert_eq!((photo.width(), photo.height()), (16, 32));
    let top = photo.rgb.get_pixel(8, 4).0;
    let bottom = photo.rgb.get_pixel(8, 28).0;
    assert!(top[0] > 200 && top[2] < 60, "top should be red: {top:?}");
    assert!(
        bottom[2] > 200 && bottom[0] < 60,
        "bottom should be blue: {bottom:?}"
    );
}

#[test]
fn grayscale_sixteen_bit_and_alpha_images_become_rgb() {
    let gray = DynamicImage::ImageLuma8(image::GrayImage::from_pixel(4, 3, image::Luma([77])));
    let photo = decode_photo(&encode(&gray, ImageFormat::Png)).unwrap();
    assert_eq!(photo.rgb.get_pixel(0, 0).0, [77, 77, 77]);

    let deep = DynamicImage::ImageRgb16(image::ImageBuffer::from_pixel(
        2,
        2,
        image::Rgb([65535u16, 0, 32896]),
    ));
    let photo = decode_photo(&encode(&deep, ImageFormat::Png)).unwrap();
    assert_eq!(photo.rgb.get_pixel(1, 1).0, [255, 0, 128]);

    let clear = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
        2,
        2,
        image::Rgba([0, 0, 0, 0]),
    ));
    let photo = decode_photo(&encode(&clear, ImageFormat::Png)).unwrap();
    assert_eq!(
        photo.rgb.get_pixel(0, 0).0,
        [255, 255, 255],
        "transparent over white"
    );
}

#[test]
fn bad_files_get_clear_errors() {
    assert!(matches!(decode_photo(b""), Err(DecodeError::Empty)));
    assert!(matches!(
        decode_photo(b"hello, this is a text file"),
        Err(DecodeError::UnknownFormat)
    ));
    let jpeg = fixture_bytes("grace_hopper.jpg");
    let truncated = decode_photo(&jpeg[..jpeg.len() / 3]);
    assert!(
        matches!(truncated, Err(DecodeError::Corrupt { .. })),
        "{truncated:?}"
    );
    let message = decode_photo(b"").unwrap_err().to_string();
    assert_eq!(message, "the file is empty");
}

#[test]
fn preprocessing_normalises_with_imagenet_statistics_in_rgb_order() {
    let red = RgbImage::from_pixel(INPUT_SIZE, INPUT_SIZE, image::Rgb([255, 0, 0]));
    let x = preprocess(&red, INPUT_SIZE, &Normalization::IMAGENET);
    let plane = (INPUT_SIZE * INPUT_SIZE) as usize;
    assert_eq!(x.len(), 3 * plane);
    let n = Normalization::IMAGENET;
    let expect = |c: usize, v: f32| (v - n.mean[c]) / n.std[c];
    assert!((x[0] - expect(0, 1.0)).abs() < 1e-6);
    assert!((x[plane] - expect(1, 0.0)).abs() < 1e-6);
    assert!((x[2 * plane + 5] - expect(2, 0.0)).abs() < 1e-6);
    assert!(
        (x[0] - 2.2489083).abs() < 1e-5,
        "torchvision's value for a red pixel"
    );
}

#[test]
fn preprocessing_squeezes_the_whole_photo_without_cropping() {
    // A wide photo: left quarter red, rest green. After resizing to 224×224 the left quarter
    // of every row must still be red: nothing was cropped away.
    let photo = RgbImage::from_fn(800, 200, |x, _| {
        if x < 200 {
            image::Rgb([255, 0, 0])
        } else {
            image::Rgb([0, 255, 0])
        }
    });
    let x = preprocess(&photo, 224, &Normalization::IMAGENET);
    let plane = 224 * 224;
    let red_at = |col: usize, row: usize| x[row * 224 + col] > 2.0;
    let green_at = |col: usize, row: usize| x[plane + row * 224 + col] > 2.0;
    for row in [0, 111, 223] {
        assert!(red_at(0, row) && red_at(54, row));
        assert!(green_at(58, row) && green_at(223, row));
    }
}

#[test]
fn centred_127_normalisation_maps_0_and_255_to_about_minus_and_plus_one() {
    // EfficientNet-Lite's (x − 127) / 128: black → −0.9922, white → 1.0.
    let photo = RgbImage::from_fn(2, 1, |x, _| image::Rgb([if x == 0 { 0 } else { 255 }; 3]));
    let x = preprocess(&photo, 2, &Normalization::CENTRED_127);
    let plane = 2 * 2;
    for c in 0..3 {
        assert!((x[c * plane] - (-127.0 / 128.0)).abs() < 1e-6);
        assert!((x[c * plane + 1] - 1.0).abs() < 1e-6);
    }
}

#[test]
fn npy_files_round_trip_and_bad_ones_are_refused() {
    use gradcam_web::imageio::{NpyError, read_npy_f32, write_npy_f32};
    let data: Vec<f32> = (0..24).map(|i| i as f32 * 0.5 - 3.0).collect();
    let bytes = write_npy_f32(&[1, 2, 3, 4], &data);
    assert_eq!(bytes.len() % 64, 96 % 64, "header padded to 64 bytes");
    let array = read_npy_f32(&bytes).unwrap();
    assert_eq!(array.shape, [1, 2, 3, 4]);
    assert_eq!(array.data, data);
    let vector = read_npy_f32(&write_npy_f32(&[3], &[1.0, 2.0, 3.0])).unwrap();
    assert_eq!(vector.shape, [3]);
    assert_eq!(read_npy_f32(b"hello"), Err(NpyError::NotNpy));
    assert!(matches!(
        read_npy_f32(&bytes[..bytes.len() - 8]),
        Err(NpyError::Truncated {
            expected: 24,
            found: 22
        })
    ));
    let mut as_f64 = bytes.clone();
    let at = as_f64.windows(3).position(|w| w == b"<f4").unwrap();
    as_f64[at + 2] = b'8';
    assert!(matches!(
        read_npy_f32(&as_f64),
        Err(NpyError::Unsupported(_))
    ));
    // A file written by NumPy (tests/fixtures): shape and first value.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/convert/tiny_resnet.input.npy"
    );
    let numpy = read_npy_f32(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(numpy.shape, [1, 3, 32, 32]);
}

/// Wide-gamut photos (`tests/fixtures/icc/`, made by `tests/reference/make_icc_fixtures.py`):
/// Display P3 and Adobe RGB patches, as PNG and JPEG, decode to the sRGB values LittleCMS
/// gives for them (± 2 for PNG, ± 4 for JPEG, whose decoders differ by a level or two), not
/// to their stored values (which differ from those by up to 48 levels).
#[test]
fn embedded_colour_profiles_are_converted_to_srgb() {
    let cases: serde_json::Value =
        serde_json::from_slice(&fixture_bytes("icc/expected.json")).unwrap();
    let mut failures = Vec::new();
    for case in cases.as_array().unwrap() {
        let file = case["file"].as_str().unwrap();
        let photo = decode_photo(&fixture_bytes(&format!("icc/{file}"))).unwrap();
        let tolerance = case["tolerance"].as_u64().unwrap() as u8;
        for point in case["points"].as_array().unwrap() {
            let (x, y) = (point["x"].as_u64().unwrap(), point["y"].as_u64().unwrap());
            let got = photo.rgb.get_pixel(x as u32, y as u32).0;
            let want: Vec<u8> = point["srgb"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u8)
                .collect();
            if (0..3).any(|c| got[c].abs_diff(want[c]) > tolerance) {
                failures.push(format!("{file} ({x}, {y}): {got:?}, LittleCMS {want:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
