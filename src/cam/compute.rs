//! Any CAM method, at one or several layers, with pytorch-grad-cam's `aug_smooth` and
//! `eigen_smooth` options: the one entry point the engine, the page and the CLI use.

use burn::tensor::Tensor;

use super::eigen::first_component_projection;
use super::gradient_rules::contributions;
use super::method::{GradientRule, Method};
use super::perturbation::{ablation_cam_weights, score_cam_weights};
use super::pixel::{SmoothGradOptions, saliency, smooth_grad};
use super::target::{ResolvedTarget, Target};
use super::{CamError, CamOutput, read_f32};
use crate::model::{Layer, Stage, StagedClassifier};
use crate::render::resize_bilinear;
pub use crate::render::scale_like_pytorch_grad_cam;

/// What to compute.
#[derive(Debug, Clone, PartialEq)]
pub struct CamRequest {
    /// The method.
    pub method: Method,
    /// One layer, or several to fuse (ignored by pixel-space methods).
    pub layers: Vec<Layer>,
    /// The explained score.
    pub target: Target,
    /// Average over horizontal flips × brightness 0.9/1.0/1.1 (pytorch-grad-cam's ttach set).
    pub aug_smooth: bool,
    /// Replace the channel sum by the first principal component of the contributions.
    pub eigen_smooth: bool,
    /// SmoothGrad's sample count and noise.
    pub smooth_grad: SmoothGradOptions,
}

impl CamRequest {
    /// `method` at one layer for `target`, no smoothing.
    pub fn new(method: Method, layer: impl Into<Layer>, target: Target) -> Self {
        Self {
            method,
            layers: vec![layer.into()],
            target,
            aug_smooth: false,
            eigen_smooth: false,
            smooth_grad: SmoothGradOptions::default(),
        }
    }
}

/// A step of a computation, reported as it starts (for progress displays).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Running the network up to the logits.
    Forward,
    /// Back-propagating the score to the layer (or the input).
    Backward,
    /// Scoring perturbed inputs (Score-CAM, Ablation-CAM).
    Perturb,
    /// Combining activations into the map and reading it back.
    Map,
}

impl Phase {
    /// Lower-case name for the page and JSON reports.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Forward => "forward",
            Phase::Backward => "backward",
            Phase::Perturb => "perturb",
            Phase::Map => "map",
        }
    }
}

/// A layer's activations for the same input, kept from an earlier explanation: the forward
/// pass up to that layer is skipped when a request reads the same layer.
#[derive(Debug, Clone)]
pub struct CachedActivations {
    /// Where they were read.
    pub layer: Layer,
    /// `[1, C, h, w]`, no autodiff.
    pub activations: Tensor<4>,
}

/// Computes the map. A single layer without `aug_smooth` gives the raw map at the layer's
/// resolution (ReLU applied, not normalised). Several layers, `aug_smooth` and the
/// pixel-space methods give a map at input resolution, built as pytorch-grad-cam does: each
/// layer's map min-max normalised and resized (bilinear, half-pixel), the mean over layers
/// normalised again; `aug_smooth` averages those maps over the augmentations.
///
/// # Shapes
/// - `input`: `[1, 3, H, W]`
pub async fn compute_cam<M: StagedClassifier + ?Sized>(
    model: &M,
    input: Tensor<4>,
    request: &CamRequest,
) -> Result<CamOutput, CamError> {
    compute_cam_reusing(model, input, request, None, &|_| {}).await
}

/// [`compute_cam`], calling `progress` as each [`Phase`] starts, and starting from `cached`
/// activations where a layer of the request is theirs (the un-augmented pass only:
/// augmentations change the input).
pub async fn compute_cam_reusing<M: StagedClassifier + ?Sized>(
    model: &M,
    input: Tensor<4>,
    request: &CamRequest,
    cached: Option<&CachedActivations>,
    progress: &dyn Fn(Phase),
) -> Result<CamOutput, CamError> {
    if request.layers.is_empty() && !request.method.is_pixel_space() {
        return Err(CamError::NoLayer);
    }
    for layer in &request.layers {
        if !layer.is_spatial() {
            return Err(CamError::NotSpatial(*layer));
        }
        if !model.has_layer(*layer) {
            return Err(CamError::NoSuchLayer(*layer));
        }
    }
    let input = input.without_autodiff();
    if !request.aug_smooth {
        let at_input = request.layers.len() > 1;
        return compute_once(model, input, request, None, at_input, cached, progress).await;
    }
    if let Some(rule) = batchable_rule(request) {
        return aug_smooth_batched(model, input, request, rule, progress).await;
    }
    // The plain pass fixes the target; each augmentation explains that same target.
    let mut plain =
        compute_once(model, input.clone(), request, None, true, cached, progress).await?;
    let resolved = Some(plain.target());
    let width = plain.width;
    let mut sum: Vec<f64> = plain.map.iter().map(|&v| f64::from(v)).collect();
    for &(flip, factor) in &AUGMENTATIONS[1..] {
        let x = augmented(&input, flip, factor);
        let mut cam = compute_once(model, x, request, resolved, true, None, progress).await?;
        if flip {
            flip_rows(&mut cam.map, width);
        }
        plain.deviation = plain.deviation.or(cam.deviation);
        accumulate(&mut sum, &cam.map);
    }
    plain.map = sum
        .into_iter()
        .map(|s| (s / AUGMENTATIONS.len() as f64) as f32)
        .collect();
    Ok(plain)
}

/// `aug_smooth`'s inputs (pytorch-grad-cam's ttach set): (flipped left-right, brightness
/// factor), the plain input first.
pub const AUGMENTATIONS: [(bool, f32); 6] = [
    (false, 1.0),
    (false, 0.9),
    (false, 1.1),
    (true, 0.9),
    (true, 1.0),
    (true, 1.1),
];

fn augmented(input: &Tensor<4>, flip: bool, factor: f32) -> Tensor<4> {
    let x = input.clone().mul_scalar(factor);
    if flip { x.flip([3]) } else { x }
}

/// Adds `map` to the running sum of `aug_smooth`'s maps (in f64, as pytorch-grad-cam's mean).
fn accumulate(sum: &mut [f64], map: &[f32]) {
    sum.iter_mut()
        .zip(map)
        .for_each(|(s, &v)| *s += f64::from(v));
}

fn flip_rows(map: &mut [f32], width: usize) {
    map.chunks_mut(width).for_each(<[f32]>::reverse);
}

/// The gradient rule when `request`'s `aug_smooth` can run as one batch: a gradient method
/// whose map is the channel sum (the principal component is taken per map, the perturbation
/// methods batch their own masks).
fn batchable_rule(request: &CamRequest) -> Option<GradientRule> {
    let projected =
        request.eigen_smooth || matches!(request.method, Method::EigenCam | Method::EigenGradCam);
    request.method.gradient_rule().filter(|_| !projected)
}

/// `aug_smooth` for a gradient method as one batch of the six inputs: one forward and one
/// backward pass per layer instead of six. The plain input (row 0) fixes the target; each
/// row's layer maps are normalised, resized and fused as [`compute_once`] does, flipped back,
/// and averaged.
async fn aug_smooth_batched<M: StagedClassifier + ?Sized>(
    model: &M,
    input: Tensor<4>,
    request: &CamRequest,
    rule: GradientRule,
    progress: &dyn Fn(Phase),
) -> Result<CamOutput, CamError> {
    let [_, _, in_h, in_w] = input.dims();
    let rows = AUGMENTATIONS.len();
    let batch = Tensor::cat(
        AUGMENTATIONS
            .iter()
            .map(|&(flip, factor)| augmented(&input, flip, factor))
            .collect(),
        0,
    );
    let mut fused = vec![vec![0f32; in_h * in_w]; rows];
    let mut plain: Option<CamOutput> = None;
    for &layer in &request.layers {
        progress(Phase::Forward);
        let activations = model.forward_until(layer, batch.clone());
        let [_, _, height, width] = activations.dims();
        let leaf = activations.clone().autodiff().require_grad();
        let logits_t = model.forward_from(layer, leaf.clone());
        let logits = read_f32(logits_t.clone().without_autodiff()).await?;
        let classes = logits.len() / rows;
        let target = resolve(
            plain.as_ref().map(CamOutput::target),
            request.target,
            &logits[..classes],
        )?;
        progress(Phase::Backward);
        let gradients = target.gradient(logits_t, &leaf, "the target layer")?;
        progress(Phase::Map);
        let maps = read_f32(contributions(rule, activations.clone(), gradients).sum_dim(1)).await?;
        let plane = height * width;
        for (sum, map) in fused.iter_mut().zip(maps.chunks(plane)) {
            let map: Vec<f32> = map.iter().map(|v| v.max(0.0)).collect();
            add_scaled(sum, &map, (height, width), (in_h, in_w));
        }
        if plain.is_none() {
            let first = activations.narrow(0, 0, 1);
            plain = Some(CamOutput::new(
                Vec::new(),
                (in_h, in_w),
                target,
                logits[..classes].to_vec(),
                layer,
                Some(first),
                request.method,
            ));
        }
    }
    let mut sum = vec![0f64; in_h * in_w];
    for (map, &(flip, _)) in fused.iter_mut().zip(&AUGMENTATIONS) {
        finish_fused(map, request.layers.len());
        if flip {
            flip_rows(map, in_w);
        }
        accumulate(&mut sum, map);
    }
    let mut out = plain.ok_or(CamError::NoLayer)?;
    out.map = sum.into_iter().map(|s| (s / rows as f64) as f32).collect();
    Ok(out)
}

async fn compute_once<M: StagedClassifier + ?Sized>(
    model: &M,
    input: Tensor<4>,
    request: &CamRequest,
    resolved: Option<ResolvedTarget>,
    at_input_resolution: bool,
    cached: Option<&CachedActivations>,
    progress: &dyn Fn(Phase),
) -> Result<CamOutput, CamError> {
    let [_, _, in_h, in_w] = input.dims();
    if request.method.is_pixel_space() {
        progress(Phase::Forward);
        let logits = read_f32(model.forward(input.clone())).await?;
        let target = resolve(resolved, request.target, &logits)?;
        progress(Phase::Backward);
        let map = match request.method {
            Method::SmoothGrad => smooth_grad(model, &input, &target, request.smooth_grad).await?,
            _ => saliency(model, &input, &target).await?,
        };
        return Ok(CamOutput::new(
            map,
            (in_h, in_w),
            target,
            logits,
            Stage::Head.into(),
            None,
            request.method,
        ));
    }
    let mut first = layer_map(
        model,
        input.clone(),
        request.layers[0],
        request,
        resolved,
        cached,
        progress,
    )
    .await?;
    if !at_input_resolution {
        return Ok(first);
    }
    // Every layer explains the target the first one resolved.
    let target = Some(first.target());
    let mut fused = vec![0f32; in_h * in_w];
    add_scaled(
        &mut fused,
        &first.map,
        (first.height, first.width),
        (in_h, in_w),
    );
    for layer in &request.layers[1..] {
        let cam = layer_map(
            model,
            input.clone(),
            *layer,
            request,
            target,
            cached,
            progress,
        )
        .await?;
        first.deviation = first.deviation.or(cam.deviation);
        add_scaled(&mut fused, &cam.map, (cam.height, cam.width), (in_h, in_w));
    }
    finish_fused(&mut fused, request.layers.len());
    first.map = fused;
    first.height = in_h;
    first.width = in_w;
    Ok(first)
}

/// The mean of `layers` maps summed by [`add_scaled`], normalised again.
fn finish_fused(sum: &mut [f32], layers: usize) {
    sum.iter_mut().for_each(|v| *v /= layers as f32);
    scale_like_pytorch_grad_cam(sum);
}

/// Adds a layer's map, normalised and resized to the input, to the running sum.
fn add_scaled(sum: &mut [f32], map: &[f32], size: (usize, usize), input: (usize, usize)) {
    let mut scaled = map.to_vec();
    scale_like_pytorch_grad_cam(&mut scaled);
    let resized = resize_bilinear(&scaled, size, input);
    sum.iter_mut()
        .zip(resized)
        .for_each(|(s, v)| *s += v.max(0.0));
}

fn resolve(
    resolved: Option<ResolvedTarget>,
    target: Target,
    logits: &[f32],
) -> Result<ResolvedTarget, CamError> {
    match resolved {
        Some(r) => Ok(r),
        None => target.resolve(logits),
    }
}

/// One layer's map at its own resolution, ReLU applied.
async fn layer_map<M: StagedClassifier + ?Sized>(
    model: &M,
    input: Tensor<4>,
    layer: Layer,
    request: &CamRequest,
    resolved: Option<ResolvedTarget>,
    cached: Option<&CachedActivations>,
    progress: &dyn Fn(Phase),
) -> Result<CamOutput, CamError> {
    let method = request.method;
    progress(Phase::Forward);
    let activations = match cached.filter(|c| c.layer == layer) {
        Some(c) => c.activations.clone(),
        None => model.forward_until(layer, input.clone()),
    };
    let [_, channels, height, width] = activations.dims();
    let mut deviation = None;
    let (logits, target, contribution) = if let Some(rule) = method.gradient_rule() {
        let leaf = activations.clone().autodiff().require_grad();
        let logits_t = model.forward_from(layer, leaf.clone());
        let logits = read_f32(logits_t.clone().without_autodiff()).await?;
        let target = resolve(resolved, request.target, &logits)?;
        progress(Phase::Backward);
        let gradients = target.gradient(logits_t, &leaf, "the target layer")?;
        let c = contributions(rule, activations.clone(), gradients);
        (logits, target, c)
    } else {
        let logits = read_f32(model.forward_from(layer, activations.clone())).await?;
        let target = resolve(resolved, request.target, &logits)?;
        if matches!(method, Method::ScoreCam | Method::AblationCam) {
            progress(Phase::Perturb);
        }
        let c = match method {
            Method::ScoreCam => {
                let w = score_cam_weights(model, &input, &activations, &target).await?;
                activations.clone() * w
            }
            Method::AblationCam => {
                let (w, d) =
                    ablation_cam_weights(model, layer, &activations, &logits, &target).await?;
                deviation = d;
                activations.clone() * w
            }
            _ => activations.clone(),
        };
        (logits, target, c)
    };
    progress(Phase::Map);
    let project = request.eigen_smooth || matches!(method, Method::EigenCam | Method::EigenGradCam);
    let mut map = if project {
        first_component_projection(&read_f32(contribution).await?, channels)
    } else {
        read_f32(contribution.sum_dim(1)).await?
    };
    map.iter_mut().for_each(|v| *v = v.max(0.0));
    let mut out = CamOutput::new(
        map,
        (height, width),
        target,
        logits,
        layer,
        Some(activations),
        method,
    );
    out.deviation = deviation;
    Ok(out)
}
