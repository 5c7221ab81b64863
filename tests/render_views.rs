//! Colour-map choice, scaling, thresholded views with outline and box, and raw-map
//! read-outs (value under the pointer, 16-bit PNG). Matplotlib numbers were printed by
//! `tests/reference/make_colormap_tables.py`.

use gradcam_web::render::{
    CamOnImage, Colormap, HotBox, Normalized, Scale, ViewMode, ViewOptions, jet, map_png16,
    map_value_at, normalize_like_pytorch_grad_cam, render_view, resize_bilinear,
};
use image::{Rgb, RgbImage};

const WHITE: [u8; 3] = [255, 255, 255];
const YELLOW: [u8; 3] = [255, 230, 0];

/// A photo with a different colour at every pixel.
fn photo(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([
            (x * 7 % 256) as u8,
            (y * 13 % 256) as u8,
            ((x + y) * 3 % 256) as u8,
        ])
    })
}

fn pixel(rgba: &[u8], width: u32, x: u32, y: u32) -> [u8; 3] {
    let i = (y * width + x) as usize * 4;
    assert_eq!(rgba[i + 3], 255, "alpha at ({x}, {y})");
    [rgba[i], rgba[i + 1], rgba[i + 2]]
}

/// A smooth, uneven 3×4 map.
const MAP: [f32; 12] = [0.0, 0.2, 0.9, 0.4, 0.1, 1.3, 2.0, 0.5, 0.0, 0.3, 0.7, 0.6];

/// The map upsampled and min-max normalised, as the renderer sees it.
fn normalised(map: &[f32], shape: (usize, usize), width: u32, height: u32) -> Vec<f32> {
    normalize_like_pytorch_grad_cam(map, shape, (height as usize, width as usize)).0
}

/// A map's peak after pytorch-grad-cam's `scale_cam_image`: `1 / (1 + 1e-7)`, JET index 254.
const PEAK: f32 = 1.0 / (1.0 + 1e-7);

/// The blend the renderer uses for the normalised `map` over `photo` (JET).
fn show_cam(map: &[f32], photo: &RgbImage, weight: f32) -> CamOnImage {
    CamOnImage::new(map, photo.as_raw(), Colormap::Jet, weight)
}

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(&b).all(|(x, y)| x.abs_diff(*y) <= 1)
}

// ---- colour maps ----

#[test]
fn colormap_tables_match_published_anchor_colours() {
    let anchors: [(Colormap, usize, [u8; 3]); 21] = [
        (Colormap::Viridis, 0, [0x44, 0x01, 0x54]),
        (Colormap::Viridis, 255, [0xfd, 0xe7, 0x25]),
        (Colormap::Inferno, 0, [0x00, 0x00, 0x04]),
        (Colormap::Inferno, 255, [0xfc, 0xff, 0xa4]),
        (Colormap::Turbo, 0, [48, 18, 59]),
        (Colormap::Turbo, 255, [122, 4, 3]),
        // Matplotlib 3.11.2, round(255 × cmap(i / 255)).
        (Colormap::Turbo, 64, [40, 188, 235]),
        (Colormap::Turbo, 128, [164, 252, 60]),
        (Colormap::Turbo, 192, [251, 126, 33]),
        (Colormap::Viridis, 64, [59, 82, 139]),
        (Colormap::Viridis, 128, [33, 145, 140]),
        (Colormap::Viridis, 192, [94, 201, 98]),
        (Colormap::Inferno, 64, [87, 16, 110]),
        (Colormap::Inferno, 128, [188, 55, 84]),
        (Colormap::Inferno, 192, [249, 142, 9]),
        (Colormap::Grey, 0, [0, 0, 0]),
        (Colormap::Grey, 77, [77, 77, 77]),
        (Colormap::Grey, 255, [255, 255, 255]),
        (Colormap::Jet, 0, [0, 0, 128]),
        (Colormap::Jet, 128, [130, 255, 126]),
        (Colormap::Jet, 255, [128, 0, 0]),
    ];
    for (map, index, expected) in anchors {
        let got = map.table()[index];
        assert!(
            close(got, expected),
            "{map} [{index}] = {got:?}, expected {expected:?}"
        );
    }
}

#[test]
fn jet_colormap_is_the_opencv_table() {
    assert_eq!(Colormap::default(), Colormap::Jet);
    for i in 0..=1000 {
        let v = i as f32 / 1000.0;
        assert_eq!(Colormap::Jet.color(v), jet(v), "value {v}");
    }
    assert_eq!(Colormap::Jet.color(-3.0), jet(0.0));
    assert_eq!(Colormap::Jet.color(7.0), jet(1.0));
}

#[test]
fn colour_lookup_clamps_and_truncates_like_jet() {
    for map in Colormap::ALL {
        let table = map.table();
        assert_eq!(map.color(0.0), table[0]);
        assert_eq!(map.color(-1.0), table[0]);
        assert_eq!(map.color(f32::NAN), table[0]);
        assert_eq!(map.color(1.0), table[255]);
        assert_eq!(map.color(5.0), table[255]);
        assert_eq!(
            map.color(0.5),
            table[127],
            "127.5 truncates, as np.uint8 does"
        );
        assert_eq!(map.color(100.0 / 255.0), table[100]);
    }
}

#[test]
fn perceptual_maps_get_brighter_along_the_scale() {
    let luminance =
        |c: [u8; 3]| 0.2126 * f32::from(c[0]) + 0.7152 * f32::from(c[1]) + 0.0722 * f32::from(c[2]);
    for map in [Colormap::Viridis, Colormap::Inferno, Colormap::Grey] {
        let steps: Vec<usize> = (0..256).step_by(16).chain([255]).collect();
        for pair in steps.windows(2) {
            let (a, b) = (map.table()[pair[0]], map.table()[pair[1]]);
            assert!(
                luminance(b) > luminance(a),
                "{map}: [{}] {a:?} not darker than [{}] {b:?}",
                pair[0],
                pair[1]
            );
        }
    }
}

#[test]
fn colormap_names_round_trip() {
    let names: Vec<&str> = Colormap::ALL.iter().map(|c| c.name()).collect();
    assert_eq!(names, ["jet", "turbo", "viridis", "inferno", "grey"]);
    for map in Colormap::ALL {
        assert_eq!(map.name().parse::<Colormap>(), Ok(map));
        assert_eq!(map.to_string(), map.name());
    }
    assert_eq!("gray".parse::<Colormap>(), Ok(Colormap::Grey));
    assert_eq!("Viridis".parse::<Colormap>(), Ok(Colormap::Viridis));
    let err = "plasma".parse::<Colormap>().unwrap_err();
    let message = err.to_string();
    assert!(message.contains("plasma"), "{message}");
    for name in names {
        assert!(message.contains(name), "{message} lacks {name}");
    }
}

// ---- views without a threshold ----

#[test]
fn default_view_is_the_classic_overlay() {
    let photo = photo(17, 11);
    for weight in [0.5, 0.3] {
        let options = ViewOptions {
            photo_weight: weight,
            ..ViewOptions::default()
        };
        let view = render_view(&photo, &MAP, (3, 4), &options);
        assert_eq!((view.width, view.height), (17, 11));
        assert_eq!(view.hot_box, None);
    }
    // The range is that of the upsampled map (its peak falls between photo pixels), to
    // float rounding (it is derived from the normalised map).
    let view = render_view(&photo, &MAP, (3, 4), &ViewOptions::default());
    let up = resize_bilinear(&MAP, (3, 4), (11, 17));
    let max = up.iter().copied().fold(f32::MIN, f32::max);
    assert!(max < 2.0);
    let (lo, hi) = view.range.unwrap();
    assert!(
        lo.abs() <= 1e-6 && (hi - max).abs() <= 1e-6 * max,
        "{lo} {hi} vs 0 {max}"
    );
    assert_eq!(view.normalized, Normalized::Scaled { min: lo, max: hi });
}

#[test]
fn heatmap_mode_shows_the_colours_alone() {
    let (w, h) = (23, 9);
    let photo = photo(w, h);
    let values = normalised(&MAP, (3, 4), w, h);
    for map in Colormap::ALL {
        let options = ViewOptions {
            colormap: map,
            mode: ViewMode::Heatmap,
            ..ViewOptions::default()
        };
        let view = render_view(&photo, &MAP, (3, 4), &options);
        for (x, y) in [(0, 0), (5, 3), (22, 8), (11, 4), (17, 2)] {
            let value = values[(y * w + x) as usize];
            assert_eq!(
                pixel(&view.rgba, w, x, y),
                map.color(value),
                "{map} ({x}, {y})"
            );
        }
    }
}

#[test]
fn overlay_mode_blends_each_colormap_over_the_photo() {
    let (w, h) = (13, 8);
    let photo = photo(w, h);
    let values = normalised(&MAP, (3, 4), w, h);
    let mut seen = Vec::new();
    for map in Colormap::ALL {
        let options = ViewOptions {
            colormap: map,
            photo_weight: 0.4,
            ..ViewOptions::default()
        };
        let view = render_view(&photo, &MAP, (3, 4), &options);
        let (x, y) = (7, 5);
        let expected = CamOnImage::new(&values, photo.as_raw(), map, 0.4).pixel(
            map.color(values[(y * w + x) as usize]),
            photo.get_pixel(x, y).0,
        );
        assert_eq!(pixel(&view.rgba, w, x, y), expected, "{map}");
        assert!(!seen.contains(&view.rgba), "{map} draws like another map");
        seen.push(view.rgba);
    }
}

#[test]
fn absolute_scale_divides_by_the_given_maximum() {
    let (w, h) = (4, 3);
    let photo = photo(w, h);
    // Map at photo resolution, so upsampling is the identity.
    let map: Vec<f32> = (0..12).map(|i| i as f32 * 0.25).collect(); // 0 … 2.75
    let peak = 2.75;
    let options = ViewOptions {
        colormap: Colormap::Viridis,
        scale: Scale::Absolute { max: 2.0 * peak },
        mode: ViewMode::Heatmap,
        ..ViewOptions::default()
    };
    let view = render_view(&photo, &map, (3, 4), &options);
    assert_eq!(view.range, Some((0.0, peak)));
    assert_eq!(
        view.normalized,
        Normalized::Scaled {
            min: 0.0,
            max: 2.0 * peak
        }
    );
    assert_eq!(pixel(&view.rgba, w, 3, 2), Colormap::Viridis.color(0.5));
    for (i, v) in map.iter().enumerate() {
        let (x, y) = (i as u32 % w, i as u32 / w);
        let expected = Colormap::Viridis.color(v / (2.0 * peak));
        assert_eq!(pixel(&view.rgba, w, x, y), expected, "({x}, {y})");
    }
    // Values above the maximum saturate, negative ones clamp to the bottom.
    let options = ViewOptions {
        scale: Scale::Absolute { max: 1.0 },
        ..options
    };
    let view = render_view(&photo, &[-1.0, 0.5, 3.0, 0.0], (2, 2), &options);
    // Corners keep the cells' values: −1 (top left), 0.5, 3 (bottom left), 0.
    assert_eq!(pixel(&view.rgba, w, 0, 0), Colormap::Viridis.color(0.0));
    assert_eq!(pixel(&view.rgba, w, 3, 0), Colormap::Viridis.color(0.5));
    assert_eq!(pixel(&view.rgba, w, 0, 2), Colormap::Viridis.color(1.0));
    assert_eq!(pixel(&view.rgba, w, 3, 2), Colormap::Viridis.color(0.0));
    assert_eq!(view.range, Some((-1.0, 3.0)));
}

#[test]
fn flat_maps_show_the_photo_or_colour_zero() {
    let (w, h) = (5, 4);
    let photo = photo(w, h);
    let zeros = [0.0; 6];
    let cases = [
        (&zeros[..], Scale::MinMax),
        (&[3.0; 6][..], Scale::MinMax),
        (&zeros[..], Scale::Absolute { max: 1.0 }),
        (&MAP[..6], Scale::Absolute { max: 0.0 }),
        (&MAP[..6], Scale::Absolute { max: -2.0 }),
        (&MAP[..6], Scale::Absolute { max: f32::NAN }),
        (&MAP[..6], Scale::Absolute { max: f32::INFINITY }),
    ];
    for (map, scale) in cases {
        for threshold in [None, Some(0.0), Some(0.5)] {
            let options = ViewOptions {
                colormap: Colormap::Inferno,
                scale,
                threshold,
                ..ViewOptions::default()
            };
            let overlay = render_view(&photo, map, (2, 3), &options);
            assert_eq!(overlay.normalized, Normalized::Flat, "{scale:?}");
            assert_eq!(overlay.range, None);
            assert_eq!(overlay.hot_box, None);
            for (x, y, p) in photo.enumerate_pixels() {
                assert_eq!(pixel(&overlay.rgba, w, x, y), p.0);
            }
            let options = ViewOptions {
                mode: ViewMode::Heatmap,
                ..options
            };
            let heat = render_view(&photo, map, (2, 3), &options);
            let bottom = Colormap::Inferno.color(0.0);
            assert!(heat.rgba.chunks(4).all(|p| p[..3] == bottom));
        }
    }
}

// ---- thresholded views ----

/// A `width × height` map, 1 inside the disk around `(cx, cy)` of radius `r`, 0 outside.
fn disk(width: usize, height: usize, blobs: &[(f32, f32, f32)]) -> Vec<f32> {
    let mut map = vec![0.0; width * height];
    for y in 0..height {
        for x in 0..width {
            for &(cx, cy, r) in blobs {
                if (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2) <= r * r {
                    map[y * width + x] = 1.0;
                }
            }
        }
    }
    map
}

fn on_outline(b: HotBox, x: u32, y: u32, thickness: u32) -> bool {
    let inside = x >= b.x && x < b.x + b.width && y >= b.y && y < b.y + b.height;
    inside
        && (x < b.x + thickness
            || x + thickness >= b.x + b.width
            || y < b.y + thickness
            || y + thickness >= b.y + b.height)
}

#[test]
fn threshold_keeps_the_blob_outlines_it_and_boxes_it() {
    let (w, h) = (40u32, 30u32);
    let photo = photo(w, h);
    let map = disk(40, 30, &[(15.0, 12.0, 6.0)]);
    let options = ViewOptions {
        threshold: Some(0.5),
        ..ViewOptions::default()
    };
    let view = render_view(&photo, &map, (30, 40), &options);
    let blend = show_cam(&normalised(&map, (30, 40), w, h), &photo, 0.5);
    let hot_box = view.hot_box.expect("a hot region");
    assert_eq!(
        hot_box,
        HotBox {
            x: 9,
            y: 6,
            width: 13,
            height: 13
        }
    );
    let hot =
        |x: i64, y: i64| x >= 0 && y >= 0 && x < 40 && y < 30 && map[(y * 40 + x) as usize] >= 0.5;
    let (mut white, mut coloured) = (0, 0);
    for (x, y, p) in photo.enumerate_pixels() {
        let got = pixel(&view.rgba, w, x, y);
        let (xi, yi) = (i64::from(x), i64::from(y));
        let edge = [(1, 0), (-1, 0), (0, 1), (0, -1)].iter().any(|(dx, dy)| {
            let (nx, ny) = (xi + dx, yi + dy);
            nx >= 0 && ny >= 0 && nx < 40 && ny < 30 && !hot(nx, ny)
        });
        let expected = if on_outline(hot_box, x, y, 1) {
            YELLOW
        } else if hot(xi, yi) && edge {
            white += 1;
            WHITE
        } else if hot(xi, yi) {
            coloured += 1;
            blend.pixel(jet(PEAK), p.0)
        } else {
            p.0
        };
        assert_eq!(got, expected, "({x}, {y})");
    }
    assert!(
        white > 8 && coloured > 50,
        "{white} outline, {coloured} coloured"
    );
}

#[test]
fn threshold_box_follows_the_upsampled_blob() {
    // Cells rows 2..5, columns 3..7 of a 10×10 map, drawn 10× larger: 0.5 is crossed
    // exactly on the cell borders.
    let mut map = vec![0.0; 100];
    for y in 2..5 {
        for x in 3..7 {
            map[y * 10 + x] = 1.0;
        }
    }
    let photo = photo(100, 100);
    for mode in [ViewMode::Overlay, ViewMode::Heatmap] {
        let options = ViewOptions {
            threshold: Some(0.5),
            mode,
            ..ViewOptions::default()
        };
        let view = render_view(&photo, &map, (10, 10), &options);
        let b = view.hot_box.unwrap();
        let expected = [30i64, 20, 40, 30];
        let got = [b.x, b.y, b.width, b.height].map(i64::from);
        for (g, e) in got.iter().zip(expected) {
            assert!((g - e).abs() <= 1, "{b:?}");
        }
        let far = pixel(&view.rgba, 100, 80, 80);
        match mode {
            ViewMode::Overlay => assert_eq!(far, photo.get_pixel(80, 80).0),
            ViewMode::Heatmap => assert_eq!(far, [0, 0, 0]),
        }
        assert_eq!(pixel(&view.rgba, 100, 50, 35), {
            let heat = jet(PEAK);
            if mode == ViewMode::Heatmap {
                heat
            } else {
                show_cam(&normalised(&map, (10, 10), 100, 100), &photo, 0.5)
                    .pixel(heat, photo.get_pixel(50, 35).0)
            }
        });
    }
}

#[test]
fn two_blobs_box_the_larger() {
    let photo = photo(60, 40);
    let map = disk(60, 40, &[(10.0, 10.0, 4.0), (40.0, 25.0, 8.0)]);
    let options = ViewOptions {
        threshold: Some(0.5),
        ..ViewOptions::default()
    };
    let view = render_view(&photo, &map, (40, 60), &options);
    let expected = HotBox {
        x: 32,
        y: 17,
        width: 17,
        height: 17,
    };
    assert_eq!(view.hot_box, Some(expected));
    // The smaller blob keeps its white outline but gets no box.
    assert_eq!(pixel(&view.rgba, 60, 10, 6), WHITE);
    assert_eq!(pixel(&view.rgba, 60, 6, 10), WHITE);
    // Diagonal contact joins regions (8-connectivity): a chain of single pixels.
    let mut chain = vec![0.0; 60 * 40];
    for i in 0..30 {
        chain[i * 60 + i] = 1.0;
    }
    chain[5 * 60 + 50] = 1.0;
    let view = render_view(&photo, &chain, (40, 60), &options);
    let expected = HotBox {
        x: 0,
        y: 0,
        width: 30,
        height: 30,
    };
    assert_eq!(view.hot_box, Some(expected));
}

#[test]
fn outline_and_box_thicken_on_large_photos() {
    // 500 px: lines 2 px. A square blob with a square hole: the hole's rim is outlined
    // inside the hot region, two pixels wide.
    let n = 500usize;
    let mut map = vec![0.0; n * n];
    for y in 100..300 {
        for x in 100..300 {
            if !((180..220).contains(&x) && (180..220).contains(&y)) {
                map[y * n + x] = 1.0;
            }
        }
    }
    let photo = photo(n as u32, n as u32);
    let options = ViewOptions {
        threshold: Some(0.5),
        mode: ViewMode::Heatmap,
        ..ViewOptions::default()
    };
    let view = render_view(&photo, &map, (n, n), &options);
    let b = view.hot_box.unwrap();
    assert_eq!((b.x, b.y, b.width, b.height), (100, 100, 200, 200));
    let row = |x: u32| pixel(&view.rgba, n as u32, x, 200);
    assert_eq!(row(99), [0, 0, 0]);
    assert_eq!([row(100), row(101)], [YELLOW; 2]);
    assert_eq!(row(102), jet(PEAK));
    assert_eq!(row(177), jet(PEAK));
    assert_eq!([row(178), row(179)], [WHITE; 2]);
    assert_eq!(row(180), [0, 0, 0], "the hole is cold");
    assert_eq!([row(220), row(221)], [WHITE; 2]);
    assert_eq!(row(222), jet(PEAK));
    assert_eq!([row(298), row(299)], [YELLOW; 2]);
    assert_eq!(row(300), [0, 0, 0]);
}

#[test]
fn extreme_thresholds_do_not_panic() {
    let (w, h) = (17, 11);
    let photo = photo(w, h);
    for threshold in [0.0, -1.0, 1.0, 1.5, f32::NAN] {
        for mode in [ViewMode::Overlay, ViewMode::Heatmap] {
            let options = ViewOptions {
                threshold: Some(threshold),
                mode,
                ..ViewOptions::default()
            };
            let view = render_view(&photo, &MAP, (3, 4), &options);
            assert_eq!(view.rgba.len(), (w * h * 4) as usize);
            if threshold <= 0.0 {
                // Everything is hot: one region, the whole photo, no inner outline.
                let whole = HotBox {
                    x: 0,
                    y: 0,
                    width: w,
                    height: h,
                };
                assert_eq!(view.hot_box, Some(whole));
                assert!(!view.rgba.chunks(4).any(|p| p[..3] == WHITE));
            } else if threshold > 1.0 || threshold.is_nan() {
                assert_eq!(view.hot_box, None);
            } else {
                // Only the peak reaches 1.
                assert!(view.hot_box.is_some_and(|b| b.width * b.height <= 4));
            }
        }
    }
}

#[test]
fn tiny_and_thin_photos_do_not_panic() {
    for (w, h) in [(1, 1), (2, 10000), (10000, 2), (0, 0), (3, 0)] {
        let photo = photo(w, h);
        for threshold in [None, Some(0.0), Some(0.5), Some(1.0)] {
            for mode in [ViewMode::Overlay, ViewMode::Heatmap] {
                let options = ViewOptions {
                    threshold,
                    mode,
                    colormap: Colormap::Turbo,
                    ..ViewOptions::default()
                };
                let view = render_view(&photo, &MAP, (3, 4), &options);
                assert_eq!((view.width, view.height), (w, h));
                assert_eq!(view.rgba.len(), (w * h * 4) as usize);
                if let Some(b) = view.hot_box {
                    assert!(b.x + b.width <= w && b.y + b.height <= h, "{b:?}");
                }
            }
        }
    }
}

// ---- raw-map read-outs ----

#[test]
fn value_at_a_pixel_equals_the_full_upsampling() {
    let shapes = [(3, 4), (1, 1), (7, 2), (1, 12)];
    for (ch, cw) in shapes {
        let cam: Vec<f32> = (0..ch * cw)
            .map(|i| ((i * 37 % 11) as f32).sqrt())
            .collect();
        for (w, h) in [(17u32, 11u32), (1, 1), (4, 3), (300, 7), (2, 50)] {
            let full = resize_bilinear(&cam, (ch, cw), (h as usize, w as usize));
            for y in 0..h {
                for x in 0..w {
                    let v = map_value_at(&cam, (ch, cw), (w, h), x, y);
                    let e = full[(y * w + x) as usize];
                    assert_eq!(v.to_bits(), e.to_bits(), "{ch}×{cw} → {w}×{h} ({x}, {y})");
                }
            }
            // Outside the photo: clamped to the edge.
            let corner = full[full.len() - 1];
            assert_eq!(map_value_at(&cam, (ch, cw), (w, h), w + 5, h + 9), corner);
        }
    }
}

#[test]
fn png16_export_holds_the_normalised_map() {
    let (w, h) = (37u32, 21u32);
    let png = map_png16(&MAP, (3, 4), (w, h));
    assert_eq!(&png[1..4], b"PNG");
    let decoded = image::load_from_memory(&png).unwrap();
    let levels = match decoded {
        image::DynamicImage::ImageLuma16(img) => img,
        other => panic!("expected 16-bit grey, got {:?}", other.color()),
    };
    assert_eq!(levels.dimensions(), (w, h));
    let raw = levels.as_raw();
    assert_eq!(raw.iter().min(), Some(&0));
    assert_eq!(raw.iter().max(), Some(&65535));
    let values = normalised(&MAP, (3, 4), w, h);
    for (x, y) in [(0, 0), (36, 20), (18, 10), (5, 17), (30, 2)] {
        let expected = (values[(y * w + x) as usize] * 65535.0).round() as u16;
        assert_eq!(levels.get_pixel(x, y).0[0], expected, "({x}, {y})");
    }
    let flat = image::load_from_memory(&map_png16(&[0.0; 4], (2, 2), (5, 3))).unwrap();
    assert_eq!(flat.color(), image::ColorType::L16);
    assert!(flat.to_luma16().as_raw().iter().all(|v| *v == 0));
}

#[test]
#[ignore = "timing; run with --ignored --nocapture"]
fn twelve_megapixels_render_quickly() {
    let (w, h) = (4000u32, 3000u32);
    let photo = RgbImage::from_pixel(w, h, Rgb([90, 120, 150]));
    let cam: Vec<f32> = (0..49)
        .map(|i| ((i * 13 % 17) as f32).sin().abs())
        .collect();
    for threshold in [None, Some(0.6)] {
        let options = ViewOptions {
            threshold,
            ..ViewOptions::default()
        };
        let start = std::time::Instant::now();
        let view = render_view(&photo, &cam, (7, 7), &options);
        let took = start.elapsed();
        println!(
            "12 MP, threshold {threshold:?}: {took:?}, box {:?}",
            view.hot_box
        );
    }
}
