//! What every network in the zoo offers the CAM methods: a forward pass split into the named
//! [`Stage`]s, each made of an entry step, a list of blocks and an exit step, and a linear
//! classifier after global average pooling.
//!
//! Rust has no forward hooks, so a CAM method gets a layer's activations by running
//! [`StagedClassifier::forward_until`] and the rest with [`StagedClassifier::forward_from`].

use burn::nn::Linear;
use burn::tensor::Tensor;

use super::flex_ops::with_threads_awake;
use super::layer::Layer;
use super::stage::Stage;

/// A classifier whose forward pass is the stages of [`Stage::ALL`] in order. Each pass
/// (a stage, the network up to a layer, the rest of it) runs with the CPU backend's threads
/// kept awake throughout (`Sync`: a pass may run on one of those threads).
pub trait StagedClassifier: Sync {
    /// Number of blocks in `stage` (0 where the stage is a single step).
    fn block_count(&self, stage: Stage) -> usize;

    /// What `stage` does before its blocks (a ResNet's stem convolution and pool, say).
    fn enter(&self, stage: Stage, x: Tensor<4>) -> Tensor<4>;

    /// Block `index` of `stage`.
    fn block(&self, stage: Stage, index: usize, x: Tensor<4>) -> Tensor<4>;

    /// What `stage` does after its blocks (EfficientNet's head convolution; the head's pool
    /// and classifier, which return logits as `[b, classes, 1, 1]`).
    fn exit(&self, stage: Stage, x: Tensor<4>) -> Tensor<4>;

    /// The final linear layer (burn layout: weight `[features, classes]`), applied to the
    /// global average of `layer4`'s output.
    fn classifier(&self) -> &Linear;

    /// Runs one whole stage on the previous stage's output.
    fn stage(&self, stage: Stage, x: Tensor<4>) -> Tensor<4> {
        with_threads_awake(&x.device(), || {
            let x = self.enter(stage, x);
            let x = (0..self.block_count(stage)).fold(x, |x, i| self.block(stage, i, x));
            self.exit(stage, x)
        })
    }

    /// Runs the network from the input up to `layer` inclusive and returns its output.
    fn forward_until(&self, layer: impl Into<Layer>, input: Tensor<4>) -> Tensor<4> {
        let layer = layer.into();
        with_threads_awake(&input.device(), || {
            let x = Stage::ALL
                .iter()
                .take_while(|s| **s < layer.stage)
                .fold(input, |x, s| self.stage(*s, x));
            match layer.block {
                None => self.stage(layer.stage, x),
                Some(last) => {
                    let x = self.enter(layer.stage, x);
                    (0..=last).fold(x, |x, i| self.block(layer.stage, i, x))
                }
            }
        })
    }

    /// Runs the rest of the network after `layer`, starting from its output.
    ///
    /// # Shapes
    /// - `x`: output of `layer`
    /// - output: logits `[b, classes]`
    fn forward_from(&self, layer: impl Into<Layer>, x: Tensor<4>) -> Tensor<2> {
        let layer = layer.into();
        with_threads_awake(&x.device(), || {
            let x = match layer.block {
                None => x,
                Some(done) => {
                    let x = (done + 1..self.block_count(layer.stage))
                        .fold(x, |x, i| self.block(layer.stage, i, x));
                    self.exit(layer.stage, x)
                }
            };
            let out = Stage::ALL
                .iter()
                .filter(|s| **s > layer.stage)
                .fold(x, |x, s| self.stage(*s, x));
            let [b, k, _, _] = out.dims();
            out.reshape([b, k])
        })
    }

    /// Full forward pass.
    ///
    /// # Shapes
    /// - `input`: `[b, 3, H, W]`, normalised as the model expects
    /// - output: logits `[b, classes]`
    fn forward(&self, input: Tensor<4>) -> Tensor<2> {
        let features = self.forward_until(Stage::Layer4, input);
        self.forward_from(Stage::Layer4, features)
    }

    /// Whether `layer` exists in this network (a block index within its stage).
    fn has_layer(&self, layer: Layer) -> bool {
        layer
            .block
            .is_none_or(|b| b < self.block_count(layer.stage))
    }
}

/// Global average pool + linear classifier, returning logits as `[b, classes, 1, 1]`.
pub(crate) fn pool_and_classify(classifier: &Linear, x: Tensor<4>) -> Tensor<4> {
    let pooled = x.mean_dim(3).mean_dim(2);
    let [b, c, _, _] = pooled.dims();
    let logits = classifier.forward(pooled.reshape([b, c]));
    let [_, k] = logits.dims();
    logits.reshape([b, k, 1, 1])
}
