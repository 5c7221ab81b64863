//! What every network in the zoo offers the CAM methods: a forward pass split into the named
//! [`Stage`]s and a linear classifier after global average pooling.
//!
//! Rust has no forward hooks, so a CAM method gets a stage's activations by running
//! [`StagedClassifier::forward_until`] and the rest with [`StagedClassifier::forward_from`].

use burn::nn::Linear;
use burn::tensor::Tensor;

use super::stage::Stage;

/// A classifier whose forward pass is the stages of [`Stage::ALL`] in order.
pub trait StagedClassifier {
    /// Runs one stage on the previous stage's output (see each model for shapes).
    fn stage(&self, stage: Stage, x: Tensor<4>) -> Tensor<4>;

    /// The final linear layer (burn layout: weight `[features, classes]`), applied to the
    /// global average of `layer4`'s output.
    fn classifier(&self) -> &Linear;

    /// Runs the first stage through `last` inclusive and returns that stage's output.
    fn forward_until(&self, last: Stage, input: Tensor<4>) -> Tensor<4> {
        Stage::ALL
            .iter()
            .take_while(|s| **s <= last)
            .fold(input, |x, s| self.stage(*s, x))
    }

    /// Runs the stages after `done` up to the logits, starting from `done`'s output.
    ///
    /// # Shapes
    /// - `x`: output of stage `done`
    /// - output: logits `[b, classes]`
    fn forward_from(&self, done: Stage, x: Tensor<4>) -> Tensor<2> {
        let out = Stage::ALL
            .iter()
            .filter(|s| **s > done)
            .fold(x, |x, s| self.stage(*s, x));
        let [b, k, _, _] = out.dims();
        out.reshape([b, k])
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
}
