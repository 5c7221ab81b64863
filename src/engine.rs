//! The whole explanation for one photo: preprocessing, forward, Grad-CAM, top-5 and
//! the overlay. Backend-agnostic: the same code runs on `flex` (CPU) and WebGPU.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use burn::tensor::{Device, Tensor, TensorData};
use serde::Serialize;
use web_time::Instant;

use crate::cam::{
    CachedActivations, CamError, CamOutput, CamRequest, Phase, Target, compute_cam_reusing,
    grad_cam_for_class_on_host, read_f32,
};
use crate::imageio::{INPUT_SIZE, Photo, preprocess};
use crate::model::labels::{Labels, LabelsError};
use crate::model::weights::{WeightsError, WeightsInfo, load_network};
use crate::model::{Layer, Network, Stage, StagedClassifier};

/// One class of the top-5.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Prediction {
    /// Class index.
    pub class: usize,
    /// Class name.
    pub label: String,
    /// Softmax probability.
    pub prob: f32,
}

/// Below this probability of its top class the network is guessing, and a map of that class
/// explains a guess: the page and the CLI say so.
pub const LOW_CONFIDENCE: f32 = 0.2;

/// Words for a network that is unsure of `top5` (most likely first): its top class below
/// [`LOW_CONFIDENCE`]; `None` when it is sure enough.
pub fn doubt(top5: &[Prediction]) -> Option<String> {
    let top = top5.first()?;
    (top.prob < LOW_CONFIDENCE).then(|| {
        format!(
            "The network is unsure: its top class, “{}”, has only {:.0} % probability, so the map explains a guess.",
            top.label,
            100.0 * top.prob
        )
    })
}

/// Milliseconds spent in each step.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Resize and normalise.
    pub preprocess_ms: f64,
    /// Forward, backward and the map, including read-back.
    pub cam_ms: f64,
    /// `cam_ms` split by [`Phase`] name (`forward`, `backward`, `perturb`, `map`), summed
    /// over repeats (augmentations, fused layers).
    pub phases_ms: BTreeMap<String, f64>,
}

/// Records how long each [`Phase`] lasted, passing each start on to `forward_to`.
struct PhaseClock<'a> {
    current: RefCell<Option<(Phase, Instant)>>,
    totals: RefCell<BTreeMap<String, f64>>,
    forward_to: &'a dyn Fn(Phase),
}

impl<'a> PhaseClock<'a> {
    fn new(forward_to: &'a dyn Fn(Phase)) -> Self {
        Self {
            current: RefCell::new(None),
            totals: RefCell::default(),
            forward_to,
        }
    }

    fn enter(&self, phase: Phase) {
        self.close();
        *self.current.borrow_mut() = Some((phase, Instant::now()));
        (self.forward_to)(phase);
    }

    fn close(&self) {
        if let Some((phase, start)) = self.current.borrow_mut().take() {
            *self
                .totals
                .borrow_mut()
                .entry(phase.name().to_owned())
                .or_default() += elapsed_ms(start);
        }
    }

    fn finish(self) -> BTreeMap<String, f64> {
        self.close();
        self.totals.into_inner()
    }
}

/// Everything the page or the CLI shows for one photo.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The Grad-CAM map at feature resolution and the logits.
    pub cam: CamOutput,
    /// Five most likely classes, most likely first.
    pub top5: Vec<Prediction>,
    /// Time per step.
    pub timings: Timings,
    /// What was asked for.
    pub request: CamRequest,
    /// The activations copied to the host on the first class switch (shared by clones), so
    /// later switches need no device work.
    host_activations: Arc<OnceLock<Vec<f32>>>,
}

impl Explanation {
    /// The layer(s) as reports name them: the request's, comma-separated (the map's own
    /// layer where the request names none).
    pub fn layer_label(&self) -> String {
        if self.request.layers.is_empty() {
            return self.cam.layer.to_string();
        }
        let layers: Vec<String> = self
            .request
            .layers
            .iter()
            .map(ToString::to_string)
            .collect();
        layers.join(",")
    }

    /// The layer baselines scored beside this map read (RandomCAM): the first requested.
    pub fn baseline_layer(&self) -> Layer {
        self.request
            .layers
            .first()
            .copied()
            .unwrap_or(self.cam.layer)
    }

    /// The activations this explanation read (none for pixel-space methods), for reuse by
    /// another request on the same photo.
    pub fn cached_activations(&self) -> Option<CachedActivations> {
        Some(CachedActivations {
            layer: self.cam.layer,
            activations: self.cam.activations.clone()?,
        })
    }

    /// Whether another target of this photo can be explained from this result alone (one
    /// product with the classifier weights: Grad-CAM or HiResCAM at `layer4`, no smoothing).
    pub fn retargets_cheaply(&self) -> bool {
        let request = &self.request;
        request.layers == [Layer::from(Stage::Layer4)]
            && request.method.retargets_from_classifier()
            && !request.aug_smooth
            && !request.eigen_smooth
    }
}

/// What [`Explainer::explain`] starts from.
enum Input<'a> {
    /// A photo, resized and normalised for the model.
    Photo(&'a Photo),
    /// An input `[1, 3, H, W]` already preprocessed (e.g. from a `.npy` file), and the time
    /// that took.
    Tensor {
        input: Box<Tensor<4>>,
        preprocess_ms: f64,
    },
}

/// One explanation to compute: the input, the request, and optionally activations of the
/// same input from an earlier explanation (the forward pass up to their layer is skipped when
/// the request reads it) and a callback told as each [`Phase`] starts.
pub struct ExplainJob<'a> {
    input: Input<'a>,
    request: CamRequest,
    cached: Option<&'a CachedActivations>,
    progress: &'a dyn Fn(Phase),
}

impl<'a> ExplainJob<'a> {
    /// `request` on a photo.
    pub fn photo(photo: &'a Photo, request: CamRequest) -> Self {
        Self::new(Input::Photo(photo), request)
    }

    /// `request` on a preprocessed input.
    pub fn tensor(input: Tensor<4>, preprocess_ms: f64, request: CamRequest) -> Self {
        Self::new(
            Input::Tensor {
                input: Box::new(input),
                preprocess_ms,
            },
            request,
        )
    }

    fn new(input: Input<'a>, request: CamRequest) -> Self {
        ExplainJob {
            input,
            request,
            cached: None,
            progress: &|_| {},
        }
    }

    /// Starts from `cached` activations where they are of the request's layer.
    pub fn reusing(mut self, cached: Option<&'a CachedActivations>) -> Self {
        self.cached = cached;
        self
    }

    /// Calls `progress` as each phase starts.
    pub fn reporting(mut self, progress: &'a dyn Fn(Phase)) -> Self {
        self.progress = progress;
        self
    }
}

/// A loaded model on a device, ready to explain photos.
#[derive(Debug)]
pub struct Explainer {
    model: Network,
    info: WeightsInfo,
    device: Device,
    /// The classifier weights on the host, read back on the first class switch.
    host_classifier: OnceLock<Vec<f32>>,
    /// Names of the classifier's classes.
    labels: Labels,
}

impl Explainer {
    /// Loads burnpack weights onto `device`.
    pub fn from_burnpack(bytes: Vec<u8>, device: &Device) -> Result<Self, WeightsError> {
        let (model, info) = load_network(bytes, device)?;
        Ok(Self::new(model, info, device))
    }

    /// Wraps an already built model (in inference mode).
    pub fn new(model: Network, info: WeightsInfo, device: &Device) -> Self {
        let labels = match &info.labels {
            Some(names) => Labels::Named(names.clone()),
            None => Labels::for_classes(info.arch.num_classes()),
        };
        Self {
            model,
            info,
            device: device.clone(),
            host_classifier: OnceLock::new(),
            labels,
        }
    }

    /// Names the classes with `labels` (from `file`, named in the error), which must name
    /// exactly as many classes as the classifier has.
    pub fn set_labels(&mut self, labels: Labels, file: &str) -> Result<(), LabelsError> {
        labels.check_count(file, self.info.arch.num_classes())?;
        self.labels = labels;
        Ok(())
    }

    /// The names of the classes.
    pub fn labels(&self) -> &Labels {
        &self.labels
    }

    /// What the weights file said about itself.
    pub fn info(&self) -> &WeightsInfo {
        &self.info
    }

    /// The network.
    pub fn model(&self) -> &Network {
        &self.model
    }

    /// The device inputs go to.
    pub fn input_device(&self) -> Device {
        self.device.clone()
    }

    /// The network input for a photo: `[1, 3, 224, 224]`.
    pub fn input_tensor(&self, photo: &Photo) -> Tensor<4> {
        let size = INPUT_SIZE as usize;
        let data = TensorData::new(
            preprocess(&photo.rgb, INPUT_SIZE, &self.info.normalization),
            [1, 3, size, size],
        );
        Tensor::from_data(data, &self.device)
    }

    /// Explains `job`'s photo (or input) as its request asks, plus the top-5.
    pub async fn explain(&self, job: ExplainJob<'_>) -> Result<Explanation, CamError> {
        let ExplainJob {
            input,
            request,
            cached,
            progress,
        } = job;
        let (input, preprocess_ms) = match input {
            Input::Photo(photo) => {
                let start = Instant::now();
                let input = self.input_tensor(photo);
                (input, elapsed_ms(start))
            }
            Input::Tensor {
                input,
                preprocess_ms,
            } => (*input, preprocess_ms),
        };
        let start = Instant::now();
        let clock = PhaseClock::new(progress);
        let cam =
            compute_cam_reusing(&self.model, input, &request, cached, &|p| clock.enter(p)).await?;
        // The last phase closes here, before the whole is read: the phases lie inside `cam_ms`.
        let phases_ms = clock.finish();
        let cam_ms = elapsed_ms(start);
        let top5 = top_k_named(&cam.logits, 5, &self.labels);
        Ok(Explanation {
            cam,
            top5,
            timings: Timings {
                preprocess_ms,
                cam_ms,
                phases_ms,
            },
            request,
            host_activations: Arc::default(),
        })
    }

    /// Explains another target of an already explained photo. For Grad-CAM at `layer4` this
    /// reuses the cached activations and logits (one product with the classifier weights, on
    /// the host, no forward or backward pass); otherwise it runs the same request again.
    pub async fn explain_other_target(
        &self,
        photo: &Photo,
        previous: &Explanation,
        target: Target,
    ) -> Result<Explanation, CamError> {
        let mut request = previous.request.clone();
        request.target = target;
        if !previous.retargets_cheaply() {
            return self.explain(ExplainJob::photo(photo, request)).await;
        }
        let start = Instant::now();
        let cam = match self.retarget_on_host(previous, target).await {
            Err(CamError::NotLastStage(_)) => {
                return self.explain(ExplainJob::photo(photo, request)).await;
            }
            other => other?,
        };
        let cam_ms = elapsed_ms(start);
        Ok(Explanation {
            top5: previous.top5.clone(),
            cam,
            timings: Timings {
                preprocess_ms: 0.0,
                cam_ms,
                phases_ms: BTreeMap::from([(Phase::Map.name().to_owned(), cam_ms)]),
            },
            request,
            host_activations: previous.host_activations.clone(),
        })
    }

    /// The class switch of [`grad_cam_for_class_on_host`], copying the classifier weights
    /// (once per model) and the activations (once per explanation) to the host first.
    async fn retarget_on_host(
        &self,
        previous: &Explanation,
        target: Target,
    ) -> Result<CamOutput, CamError> {
        let Some(activations) = &previous.cam.activations else {
            return Err(CamError::NotLastStage(previous.cam.layer));
        };
        let classifier = match self.host_classifier.get() {
            Some(weights) => weights,
            None => {
                let weights = read_f32(self.model.classifier().weight.val()).await?;
                self.host_classifier.get_or_init(|| weights)
            }
        };
        let values = match previous.host_activations.get() {
            Some(values) => values,
            None => {
                let values = read_f32(activations.clone()).await?;
                previous.host_activations.get_or_init(|| values)
            }
        };
        grad_cam_for_class_on_host(classifier, values, &previous.cam, target)
    }
}

/// Milliseconds since `start`.
pub(crate) fn elapsed_ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

/// The `k` most probable classes under softmax, most probable first, with the default names
/// for that many classes (see [`Labels::for_classes`]).
pub fn top_k(logits: &[f32], k: usize) -> Vec<Prediction> {
    top_k_named(logits, k, &Labels::for_classes(logits.len()))
}

/// [`top_k`] with the classes named by `labels`.
pub fn top_k_named(logits: &[f32], k: usize, labels: &Labels) -> Vec<Prediction> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f64> = logits.iter().map(|&l| f64::from(l - max).exp()).collect();
    let total: f64 = exps.iter().sum();
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    order
        .into_iter()
        .take(k)
        .map(|class| Prediction {
            class,
            label: labels.name(class),
            prob: (exps[class] / total) as f32,
        })
        .collect()
}
