//! Drawing at display size: the size chosen for a device-pixel box, the photo's display
//! copy, picture → photo pixel mapping (read-out, hot box), and the streamed
//! full-resolution saves, checked bit for bit against the renderer. A counting allocator
//! measures what rendering a 100-megapixel photo costs in memory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use gradcam_web::display::{
    DisplayBox, DisplayPhotos, Fit, MAX_DISPLAY_PIXELS, downscale_area, photo_display,
    render_display, write_map_png16, write_overlay_png,
};
use gradcam_web::render::{
    Colormap, HotBox, RowSampler, Scale, ViewMode, ViewOptions, map_png16, photo_rgba, render_view,
    resize_bilinear,
};
use image::{Rgb, RgbImage};

// ---- a per-thread allocation meter ----

struct Meter;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Meter {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.get() + layout.size();
        LIVE.set(live);
        PEAK.set(PEAK.get().max(live));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.set(LIVE.get().saturating_sub(layout.size()));
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static METER: Meter = Meter;

/// Runs `f` and returns its result with the most bytes it held at once (this thread).
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.get();
    PEAK.set(base);
    let out = f();
    (out, PEAK.get() - base)
}

// ---- fixtures ----

/// A photo with a different colour at almost every pixel.
fn photo(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([
            (x * 7 % 256) as u8,
            (y * 13 % 256) as u8,
            ((x + y) * 3 % 256) as u8,
        ])
    })
}

/// A smooth, uneven 3×4 map with an interior peak.
const MAP: [f32; 12] = [0.0, 0.2, 0.9, 0.4, 0.1, 1.3, 2.0, 0.5, 0.0, 0.3, 0.7, 0.6];

/// Two blobs of different size on a 12×16 map.
fn blobs() -> Vec<f32> {
    (0..12 * 16)
        .map(|i| {
            let (y, x) = ((i / 16) as f32, (i % 16) as f32);
            let a = (-((x - 4.0).powi(2) + (y - 4.0).powi(2)) / 6.0).exp();
            let b = 0.8 * (-((x - 12.0).powi(2) + (y - 8.0).powi(2)) / 3.0).exp();
            a + b
        })
        .collect()
}

fn decode_rgb(png: &[u8]) -> RgbImage {
    match image::load_from_memory(png).unwrap() {
        image::DynamicImage::ImageRgb8(img) => img,
        other => panic!("expected 8-bit RGB, got {:?}", other.color()),
    }
}

fn rgb_of(rgba: &[u8]) -> Vec<u8> {
    rgba.chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect()
}

fn boxed(width: u32) -> DisplayBox {
    DisplayBox::new(width, None).unwrap()
}

// ---- the display size ----

#[test]
fn a_photo_is_fitted_to_the_box_and_never_enlarged() {
    let fit = |photo, w, h| Fit::new(photo, DisplayBox::new(w, h).unwrap()).display;
    assert_eq!(fit((4032, 3024), 864, None), (864, 648));
    assert_eq!(fit((3024, 4032), 864, Some(600)), (450, 600));
    assert_eq!(
        fit((451, 300), 864, None),
        (451, 300),
        "small photos stay as they are"
    );
    assert_eq!(fit((451, 300), 451, Some(300)), (451, 300));
    assert_eq!(fit((451, 300), 282, None), (282, 188));
    assert_eq!(fit((1, 1), 10, None), (1, 1));
    assert_eq!(fit((2, 10000), 864, None), (2, 10000));
    assert_eq!(
        fit((10000, 2), 864, None),
        (864, 1),
        "a side never rounds to 0"
    );
    // Whatever the box, a picture stays under the pixel cap (4K).
    let (w, h) = fit((10000, 10000), 20000, None);
    assert!(u64::from(w) * u64::from(h) <= MAX_DISPLAY_PIXELS, "{w}×{h}");
    assert_eq!(w, h);
    let (w, h) = fit((1, 100_000_000), 5, None);
    assert!(u64::from(w) * u64::from(h) <= MAX_DISPLAY_PIXELS, "{w}×{h}");
    assert!(Fit::new((2000, 1500), boxed(5000)).is_full());
    assert_eq!(
        fit((4032, 3024), 5000, None),
        (3326, 2493),
        "12 MP capped at 4K's pixel count"
    );
}

#[test]
fn display_boxes_parse_and_refuse_nonsense() {
    assert_eq!("864".parse(), Ok(boxed(864)));
    assert_eq!("864x600".parse(), DisplayBox::new(864, Some(600)));
    for bad in ["", "0", "x5", "5x0", "-3", "wide", "5x5x5"] {
        let err = bad.parse::<DisplayBox>().unwrap_err();
        assert!(err.to_string().contains("WIDTH"), "{bad}: {err}");
    }
    assert!(DisplayBox::new(0, None).is_err());
}

#[test]
fn picture_pixels_map_back_to_the_photo_pixel_under_their_centre() {
    let full = Fit::new((451, 300), boxed(864));
    for (x, y) in [(0, 0), (450, 299), (17, 123)] {
        assert_eq!(full.photo_pixel(x, y), (x, y), "identity at full size");
    }
    let fit = Fit::new((4032, 3024), boxed(864));
    assert_eq!(fit.display, (864, 648));
    assert_eq!(fit.photo_pixel(0, 0), (2, 2));
    assert_eq!(fit.photo_pixel(863, 647), (4029, 4029 - 1008));
    assert_eq!(fit.photo_pixel(432, 324), (2018, 1514));
    assert_eq!(
        fit.photo_pixel(5000, 5000),
        fit.photo_pixel(863, 647),
        "clamped"
    );
    assert!(Fit::of_picture((451, 300), (452, 300)).is_err());
    assert!(Fit::of_picture((451, 300), (0, 3)).is_err());
    assert_eq!(
        Fit::of_picture((451, 300), (282, 188)).unwrap().display,
        (282, 188)
    );
}

#[test]
fn the_hot_box_in_photo_pixels_is_within_one_picture_pixel_of_the_full_resolution_one() {
    let cam = blobs();
    let options = ViewOptions {
        threshold: Some(0.5),
        ..ViewOptions::default()
    };
    for (w, h, target) in [(1600, 1200, 300), (1001, 777, 250), (640, 480, 640)] {
        let photo = photo(w, h);
        let full = render_view(&photo, &cam, (12, 16), &options)
            .hot_box
            .unwrap();
        let shown = render_display(
            &mut DisplayPhotos::default(),
            &photo,
            &cam,
            (12, 16),
            &options,
            boxed(target),
        );
        let got = shown.hot_box.unwrap();
        let step = w.div_ceil(shown.fit.display.0) + 1;
        let edges = |b: HotBox| [b.x, b.y, b.x + b.width, b.y + b.height];
        for (a, e) in edges(got).iter().zip(edges(full)) {
            assert!(
                a.abs_diff(e) <= step,
                "{w}×{h} in {target}: {got:?} vs {full:?}"
            );
        }
        if shown.fit.is_full() {
            assert_eq!(got, full);
        }
    }
}

// ---- the display copy of the photo ----

#[test]
fn the_display_copy_averages_each_pixel_span() {
    let flat = RgbImage::from_pixel(40, 30, Rgb([10, 200, 77]));
    assert!(
        downscale_area(&flat, (7, 5))
            .pixels()
            .all(|p| p.0 == [10, 200, 77])
    );
    let checker = RgbImage::from_fn(8, 8, |x, y| {
        if (x + y) % 2 == 0 {
            Rgb([0; 3])
        } else {
            Rgb([255; 3])
        }
    });
    let half = downscale_area(&checker, (4, 4));
    assert!(
        half.pixels().all(|p| p.0 == [128; 3]),
        "2×2 spans average (rounded half up)"
    );
    let photo = photo(9, 6);
    let third = downscale_area(&photo, (3, 2));
    let mut sum = [0u32; 3];
    for y in 0..3 {
        for x in 3..6 {
            for (s, v) in sum.iter_mut().zip(photo.get_pixel(x, y).0) {
                *s += u32::from(v);
            }
        }
    }
    assert_eq!(third.get_pixel(1, 0).0, sum.map(|s| ((s + 4) / 9) as u8));
    assert_eq!(downscale_area(&photo, (9, 6)), photo);
}

#[test]
fn display_copies_are_cached_per_size_and_the_photo_itself_is_never_copied() {
    let photo = photo(64, 48);
    let mut photos = DisplayPhotos::default();
    assert!(std::ptr::eq(photos.picture(&photo, (64, 48)), &photo));
    assert_eq!(photos.bytes(), 0);
    let first = photos.picture(&photo, (32, 24)).as_raw().as_ptr();
    assert_eq!(photos.bytes(), 32 * 24 * 3);
    assert_eq!(
        photos.picture(&photo, (32, 24)).as_raw().as_ptr(),
        first,
        "reused"
    );
    for w in [30, 20, 10, 5] {
        photos.picture(&photo, (w, w * 3 / 4));
    }
    assert_eq!(
        photos.bytes(),
        [30 * 22, 20 * 15, 10 * 7, 5 * 3].iter().sum::<u32>() as usize * 3,
        "four kept"
    );
    photos.clear();
    assert_eq!(photos.bytes(), 0);
}

// ---- pictures at display size ----

fn all_options() -> Vec<ViewOptions> {
    let mut out = Vec::new();
    for colormap in [Colormap::Jet, Colormap::Viridis, Colormap::Grey] {
        for mode in [ViewMode::Overlay, ViewMode::Heatmap] {
            for threshold in [None, Some(0.0), Some(0.35), Some(0.8), Some(1.0)] {
                for (photo_weight, scale) in [
                    (0.5, Scale::MinMax),
                    (0.2, Scale::Absolute { max: 1.1 }),
                    (0.7, Scale::Absolute { max: -1.0 }),
                ] {
                    out.push(ViewOptions {
                        colormap,
                        photo_weight,
                        scale,
                        threshold,
                        mode,
                    });
                }
            }
        }
    }
    out
}

#[test]
fn a_display_picture_is_the_render_of_the_display_copy() {
    let photo = photo(403, 211);
    for options in all_options().iter().step_by(7) {
        let full = render_display(
            &mut DisplayPhotos::default(),
            &photo,
            &MAP,
            (3, 4),
            options,
            boxed(900),
        );
        let expected = render_view(&photo, &MAP, (3, 4), options);
        assert!(full.fit.is_full());
        assert_eq!(
            full.view.rgba, expected.rgba,
            "at the photo's size it is the renderer's picture"
        );
        assert_eq!(full.hot_box, expected.hot_box);
        let small = render_display(
            &mut DisplayPhotos::default(),
            &photo,
            &MAP,
            (3, 4),
            options,
            boxed(120),
        );
        assert_eq!(small.fit.display, (120, 63));
        let copy = downscale_area(&photo, (120, 63));
        let expected = render_view(&copy, &MAP, (3, 4), options);
        assert_eq!(small.view.rgba, expected.rgba);
        assert_eq!((small.view.width, small.view.height), (120, 63));
    }
    let (fit, rgba) = photo_display(&mut DisplayPhotos::default(), &photo, boxed(120));
    assert_eq!(rgba, photo_rgba(&downscale_area(&photo, fit.display)));
}

// ---- streamed full-resolution saves ----

#[test]
fn map_rows_are_the_full_upsampling_bit_for_bit() {
    let cam = blobs();
    for (w, h) in [(451, 300), (1, 1), (7, 1000), (16, 12)] {
        let full = resize_bilinear(&cam, (12, 16), (h, w));
        let rows = RowSampler::new(&cam, (12, 16), (h, w));
        let mut row = Vec::new();
        for y in 0..h {
            rows.row(y, &mut row);
            let want = &full[y * w..(y + 1) * w];
            assert!(
                row.iter()
                    .zip(want)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{w}×{h} row {y}"
            );
        }
    }
}

/// A map, its shape and a photo size.
type Case<'a> = (&'a [f32], (usize, usize), u32, u32);

#[test]
fn the_saved_overlay_is_the_renderers_picture_bit_for_bit() {
    // Sizes with a 1-pixel and a 3-pixel line, a thin strip, and a map whose upsampled
    // extremes are not its own (interior peaks between pixel centres).
    let cases: [Case<'_>; 4] = [
        (&MAP, (3, 4), 97, 61),
        (&blobs(), (12, 16), 900, 760),
        (&MAP, (3, 4), 3, 400),
        (&[0.0, 0.0, 0.0, 0.0], (2, 2), 20, 10),
    ];
    for (cam, shape, w, h) in cases {
        let photo = photo(w, h);
        let options = all_options();
        let every = if w * h > 100_000 { 5 } else { 1 };
        for options in options.iter().step_by(every) {
            let mut png = Vec::new();
            let saved = write_overlay_png(&mut png, &photo, cam, shape, options).unwrap();
            let expected = render_view(&photo, cam, shape, options);
            let got = decode_rgb(&png);
            assert_eq!(got.dimensions(), (w, h));
            assert!(
                got.as_raw() == &rgb_of(&expected.rgba),
                "{w}×{h} {options:?}"
            );
            assert_eq!(saved.hot_box, expected.hot_box, "{w}×{h} {options:?}");
            assert_eq!(saved.normalized, expected.normalized, "{w}×{h} {options:?}");
        }
    }
}

#[test]
fn the_saved_16_bit_map_is_the_exported_one() {
    for (cam, shape, size) in [
        (blobs(), (12, 16), (451, 300)),
        (MAP.to_vec(), (3, 4), (1, 1)),
        (vec![0.5; 4], (2, 2), (5, 3)),
        (MAP.to_vec(), (3, 4), (0, 7)),
    ] {
        let mut png = Vec::new();
        write_map_png16(&mut png, &cam, shape, size).unwrap();
        let ours = image::load_from_memory(&png).unwrap();
        let theirs = image::load_from_memory(&map_png16(&cam, shape, size)).unwrap();
        assert_eq!(ours.color(), image::ColorType::L16);
        assert_eq!(ours.to_luma16(), theirs.to_luma16(), "{size:?}");
    }
}

#[test]
fn a_map_that_does_not_fit_its_shape_is_refused() {
    let photo = photo(4, 4);
    let err =
        write_overlay_png(Vec::new(), &photo, &MAP, (2, 2), &ViewOptions::default()).unwrap_err();
    assert!(err.to_string().contains("12 values"), "{err}");
    assert!(write_map_png16(Vec::new(), &[], (0, 0), (3, 3)).is_err());
    let empty = write_overlay_png(
        Vec::new(),
        &RgbImage::new(0, 5),
        &MAP,
        (3, 4),
        &ViewOptions::default(),
    );
    assert!(empty.unwrap_err().to_string().contains("no pixels"));
}

// ---- memory on a 100-megapixel photo ----

#[test]
fn a_100_megapixel_photo_is_drawn_and_saved_in_bounded_memory() {
    let (w, h) = (10_000u32, 10_000u32);
    let photo = RgbImage::from_fn(w, h, |x, y| Rgb([(x % 251) as u8, (y % 241) as u8, 90]));
    let cam = blobs();
    let threshold = ViewOptions {
        threshold: Some(0.5),
        ..ViewOptions::default()
    };
    let mut photos = DisplayPhotos::default();
    let (shown, drawing) =
        peak_during(|| render_display(&mut photos, &photo, &cam, (12, 16), &threshold, boxed(864)));
    assert_eq!(shown.fit.display, (864, 864));
    // The display copy (2.2 MB, kept) and one picture's map, mask and RGBA: ≈ 10 MB.
    println!(
        "10000×10000 drawn at 864×864: peak {:.1} MB",
        drawing as f64 / 1e6
    );
    assert!(drawing < 16_000_000, "drawing held {drawing} bytes");
    let (_, redrawing) = peak_during(|| {
        render_display(
            &mut photos,
            &photo,
            &cam,
            (12, 16),
            &ViewOptions::default(),
            boxed(864),
        )
    });
    println!(
        "redraw from the cached copy: peak {:.1} MB",
        redrawing as f64 / 1e6
    );
    assert!(redrawing < 8_000_000, "redrawing held {redrawing} bytes");
    for options in [ViewOptions::default(), threshold] {
        let (saved, saving) = peak_during(|| {
            write_overlay_png(std::io::sink(), &photo, &cam, (12, 16), &options).unwrap()
        });
        println!(
            "10000×10000 saved at full resolution (threshold {:?}): peak {:.1} MB",
            options.threshold,
            saving as f64 / 1e6
        );
        assert_eq!((saved.width, saved.height), (w, h));
        assert!(saving < 24_000_000, "saving held {saving} bytes");
    }
    let (_, map16) =
        peak_during(|| write_map_png16(std::io::sink(), &cam, (12, 16), (w, h)).unwrap());
    println!("10000×10000 16-bit map: peak {:.1} MB", map16 as f64 / 1e6);
    assert!(map16 < 8_000_000, "the 16-bit map held {map16} bytes");
}
