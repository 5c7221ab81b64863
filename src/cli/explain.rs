//! `gradcam explain`: top-5 and a CAM overlay for each photo (or a preprocessed tensor).

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::{Device, Tensor, TensorData};
use clap::Args;
use image::RgbImage;
use serde_json::json;

use super::device::{DeviceChoice, select};
use super::inputs::{collect_photos, load_explainer};
use crate::cam::{CamRequest, Method, SmoothGradOptions, Target};
use crate::display::{DisplayBox, DisplayPhotos, render_display};
use crate::engine::{Explainer, Explanation};
use crate::imageio::{DecodeError, decode_photo, read_npy_f32, write_npy_f32};
use crate::model::Layer;
use crate::render::{Colormap, DEFAULT_PHOTO_WEIGHT, Scale, ViewOptions, render_view};

/// Options of `gradcam explain`.
#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// Photos or folders of photos (JPEG, PNG, GIF, WebP, BMP, TIFF).
    photos: Vec<PathBuf>,
    /// Model preset (`resnet101`, `efficientnet-lite0`, …; default: the built-in
    /// `efficientnet-lite0`): its weights are looked up in the weights folders (`weights/`
    /// here, next to the binary, `~/.local/share/gradcam-web/weights`; `$GRADCAM_WEIGHTS_DIR`
    /// first) when `--weights` is absent, and must match the weights file when both are given.
    #[arg(long)]
    model: Option<String>,
    /// Burnpack weights file.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// CAM method: gradcam, hirescam, gradcam++, xgradcam, layercam, eigencam, eigengradcam,
    /// scorecam, ablationcam, saliency, smoothgrad.
    #[arg(long, default_value = "gradcam")]
    method: Method,
    /// Layer(s), comma-separated to fuse several: `layer4`, `layer3.22`, `layer3,layer4`.
    #[arg(long, default_value = "layer4", value_delimiter = ',')]
    layer: Vec<Layer>,
    /// Class index to explain (default: the top-1 class).
    #[arg(long, conflicts_with = "contrast")]
    target: Option<usize>,
    /// "Why A rather than B": explain logit_A − logit_B.
    #[arg(long, value_delimiter = ',', num_args = 1, value_names = ["A,B"])]
    contrast: Option<Vec<usize>>,
    /// Average over horizontal flips × brightness 0.9/1.0/1.1.
    #[arg(long)]
    aug_smooth: bool,
    /// First principal component of the contributions instead of their sum.
    #[arg(long)]
    eigen_smooth: bool,
    /// SmoothGrad: number of noisy samples.
    #[arg(long, default_value_t = SmoothGradOptions::default().samples)]
    smoothgrad_samples: usize,
    /// Overlay PNG (one photo), or a folder for one `<name>.png` per photo.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The raw map (before upsampling and normalisation) as float32 `.npy` (one photo), or a
    /// folder for one `<name>.npy` per photo.
    #[arg(long)]
    cam_out: Option<PathBuf>,
    /// A preprocessed float32 `.npy` input `[1, 3, H, W]`, used instead of a photo.
    #[arg(long, conflicts_with = "photos")]
    input_tensor: Option<PathBuf>,
    /// Share of the photo in the blend (0 = heatmap only, 1 = photo only).
    #[arg(long, default_value_t = DEFAULT_PHOTO_WEIGHT)]
    photo_weight: f32,
    /// Colour map of the overlay: jet (OpenCV's, default), turbo, viridis, inferno, grey.
    #[arg(long, default_value = "jet")]
    colormap: Colormap,
    /// Colour only the hot region (values at or above this share of the range, 0–1), outline
    /// it and box its largest part.
    #[arg(long)]
    threshold: Option<f32>,
    /// Colour raw map values on a fixed 0–MAX scale instead of stretching each map.
    #[arg(long)]
    absolute_max: Option<f32>,
    /// Draw the overlay as the page shows it in a box of WIDTH[xHEIGHT] device pixels (the
    /// largest size that fits, never above the photo's), instead of at full resolution.
    #[arg(long, value_name = "WIDTH[xHEIGHT]")]
    display_box: Option<DisplayBox>,
    /// Print one JSON object per photo on stdout.
    #[arg(long)]
    json: bool,
    /// Where the network runs: a GPU if one is found (auto), the CPU, or force the GPU.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    device: DeviceChoice,
}

impl ExplainArgs {
    fn request(&self) -> Result<CamRequest> {
        let target = match (&self.contrast, self.target) {
            (Some(pair), _) => match pair.as_slice() {
                [class, other] => Target::Contrast {
                    class: *class,
                    other: *other,
                },
                _ => bail!("--contrast takes two classes: A,B"),
            },
            (None, Some(class)) => Target::Class(class),
            (None, None) => Target::TopClass,
        };
        let mut request = CamRequest::new(self.method, self.layer[0], target);
        request.layers = self.layer.clone();
        request.aug_smooth = self.aug_smooth;
        request.eigen_smooth = self.eigen_smooth;
        request.smooth_grad.samples = self.smoothgrad_samples;
        Ok(request)
    }
}

/// Runs `gradcam explain`: every photo in turn; a photo that fails is reported and skipped.
pub(super) fn run(args: &ExplainArgs, verbose: bool) -> Result<()> {
    let (device, device_name) = select(args.device)?;
    let explainer = load_explainer(args.weights.as_deref(), args.model.as_deref(), &device)?;
    let model = explainer.info().arch.name();
    let mut context = ReportContext {
        model: &model,
        device: device_name,
        shared_stems: HashSet::new(),
    };
    let request = args.request()?;
    if let Some(tensor) = &args.input_tensor {
        let input = read_input_tensor(tensor, &device)?;
        let [_, _, h, w] = input.dims();
        let explanation = pollster::block_on(explainer.explain_tensor(input, request, 0.0))?;
        let blank = RgbImage::new(w as u32, h as u32);
        return report(args, &context, tensor, &blank, &explanation, Single);
    }
    let photos = collect_photos(&args.photos)?;
    context.shared_stems = shared_stems(&photos);
    let many = if photos.len() > 1 { Many } else { Single };
    let mut failed = 0;
    for (i, path) in photos.iter().enumerate() {
        if many == Many {
            eprint!("[{}/{}] {} … ", i + 1, photos.len(), path.display());
        }
        let result = explain_photo(&explainer, path, request.clone())
            .and_then(|(photo, e)| report(args, &context, path, &photo, &e, many).map(|()| e));
        match result {
            Ok(e) if many == Many => eprintln!("ok ({:.0} ms)", e.timings.cam_ms),
            Ok(_) => {}
            Err(e) => {
                failed += 1;
                if many == Many {
                    eprintln!("failed");
                }
                eprintln!("error: {}: {e:#}", path.display());
                if let Some(detail) = verbose.then(|| decoder_detail(&e)).flatten() {
                    eprintln!("  decoder: {}", detail.escape_debug());
                }
                if args.json {
                    println!("{}", json!({"photo": path, "error": format!("{e:#}")}));
                }
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} photos could not be explained", photos.len());
    }
    Ok(())
}

/// The decoder's own report behind a photo that could not be decoded (for `--verbose`).
fn decoder_detail(error: &anyhow::Error) -> Option<&str> {
    error.downcast_ref::<DecodeError>()?.detail()
}

/// Whether outputs name a file (one photo) or a folder (several).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outputs {
    Single,
    Many,
}
use Outputs::{Many, Single};

fn explain_photo(
    explainer: &Explainer,
    path: &Path,
    request: CamRequest,
) -> Result<(RgbImage, Explanation)> {
    let file = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let photo = decode_photo(&file)?;
    let explanation = pollster::block_on(explainer.explain_with(&photo, request))?;
    Ok((photo.rgb, explanation))
}

/// A preprocessed `[1, 3, H, W]` float32 `.npy` as a tensor on `device`.
fn read_input_tensor(path: &Path, device: &Device) -> Result<Tensor<4>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let array = read_npy_f32(&bytes).with_context(|| format!("reading {}", path.display()))?;
    let shape = match array.shape.as_slice() {
        [1, 3, h, w] => [1, 3, *h, *w],
        other => bail!(
            "{} has shape {other:?}; expected [1, 3, H, W]",
            path.display()
        ),
    };
    Ok(Tensor::from_data(
        TensorData::new(array.data, shape),
        device,
    ))
}

/// Stems that several photos share (`cat.jpg`, `cat.png`): their outputs keep the whole
/// file name (`cat.jpg.png`) so that none overwrites another.
fn shared_stems(photos: &[PathBuf]) -> HashSet<OsString> {
    let mut seen = HashSet::new();
    photos
        .iter()
        .filter_map(|p| p.file_stem())
        .filter(|stem| !seen.insert(stem.to_os_string()))
        .map(OsStr::to_os_string)
        .collect()
}

/// Where an output for `source` goes: the path itself for one photo, `dir/<stem>.<ext>` for
/// several (`dir/<file name>.<ext>` where the stem is shared).
fn output_path(
    base: &Path,
    source: &Path,
    ext: &str,
    outputs: Outputs,
    shared_stems: &HashSet<OsString>,
) -> Result<PathBuf> {
    if outputs == Single {
        return Ok(base.to_owned());
    }
    std::fs::create_dir_all(base).with_context(|| format!("creating {}", base.display()))?;
    let stem = source.file_stem().unwrap_or_default();
    let name = if shared_stems.contains(stem) {
        source.file_name().unwrap_or_default()
    } else {
        stem
    };
    Ok(base.join(format!("{}.{ext}", name.to_string_lossy())))
}

/// What every report names besides the photo.
struct ReportContext<'a> {
    model: &'a str,
    device: &'static str,
    shared_stems: HashSet<OsString>,
}

fn report(
    args: &ExplainArgs,
    context: &ReportContext<'_>,
    source: &Path,
    photo: &RgbImage,
    explanation: &Explanation,
    outputs: Outputs,
) -> Result<()> {
    let cam = &explanation.cam;
    if let Some(out) = &args.out {
        let path = output_path(out, source, "png", outputs, &context.shared_stems)?;
        let options = ViewOptions {
            colormap: args.colormap,
            photo_weight: args.photo_weight,
            scale: args
                .absolute_max
                .map_or(Scale::MinMax, |max| Scale::Absolute { max }),
            threshold: args.threshold,
            ..ViewOptions::default()
        };
        let shape = (cam.height, cam.width);
        let overlay = match args.display_box {
            Some(target) => {
                let mut photos = DisplayPhotos::default();
                render_display(&mut photos, photo, &cam.map, shape, &options, target).view
            }
            None => render_view(photo, &cam.map, shape, &options),
        };
        image::save_buffer(
            &path,
            &overlay.rgba,
            overlay.width,
            overlay.height,
            image::ExtendedColorType::Rgba8,
        )
        .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(out) = &args.cam_out {
        let path = output_path(out, source, "npy", outputs, &context.shared_stems)?;
        std::fs::write(&path, write_npy_f32(&[cam.height, cam.width], &cam.map))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let layers: Vec<String> = explanation
        .request
        .layers
        .iter()
        .map(ToString::to_string)
        .collect();
    if args.json {
        let target = match cam.other {
            Some(other) => json!({"class": cam.class, "rather_than": other}),
            None => json!(cam.class),
        };
        println!(
            "{}",
            json!({
                "photo": source,
                "model": context.model,
                "device": context.device,
                "method": cam.method.name(),
                "layer": layers.join(","),
                "target": target,
                "top5": explanation.top5,
                "cam_shape": [cam.height, cam.width],
                "timings_ms": explanation.timings,
                "note": cam.deviation.map(|d| d.to_string()),
            })
        );
    } else {
        if outputs == Many {
            println!("{}:", source.display());
        }
        for p in &explanation.top5 {
            println!("{:>4}  {:6.2}%  {}", p.class, p.prob * 100.0, p.label);
        }
    }
    if let Some(deviation) = cam.deviation {
        eprintln!("{}: {deviation}", source.display());
    }
    if cam.map.iter().all(|v| *v <= 0.0) {
        eprintln!(
            "{}: no positive evidence for class {}: the overlay shows the plain photo",
            source.display(),
            cam.class
        );
    }
    Ok(())
}
