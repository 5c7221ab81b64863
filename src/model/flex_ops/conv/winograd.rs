//! Winograd's F(2×2, 3×3) for 3×3, stride-1 convolutions (ResNet's bottleneck `conv2`, both
//! convolutions of a basic block): 2.25× fewer multiplications than im2col.
//!
//! Each 2×2 block of output pixels (a tile) is computed from the 4×4 input patch around it:
//! the patch `d` becomes `V = Bᵀ d B`, the kernel `g` becomes `U = G g Gᵀ` (both 4×4), the
//! output tile is `Aᵀ (U ⊙ V) A`. Over channels, `U ⊙ V` summed is, for each of the 16
//! positions ξ, a matrix product `M[ξ] = U[ξ] · V[ξ]` of `[O, C] · [C, tiles]`: 16 products of
//! `O·C·tiles` instead of one of `9·O·C·4·tiles`. The transforms are exact up to rounding
//! (their factors are 0, ±½ and ±1).
//!
//! The transformed kernels (16/9 of the weights' size) are computed on first use and kept
//! while the weights they came from live (see [`kernel`]).

use std::sync::{Arc, Mutex, PoisonError};

use burn::backend::flex::FlexTensor;
use burn::tensor::Bytes;

use super::{Epilogue, Geometry};
use crate::model::flex_ops::{scratch, threads};

/// Positions in a transformed 4×4 tile.
const POSITIONS: usize = 16;

/// Fewest tiles (over the batch) worth this path. A transformed kernel is 16/9 the size of
/// its weights, made once and read once per call. In ResNet-101 at batch 1 (BENCHMARKS.md),
/// layer3 (14×14: 49 tiles) ran ≈ 5 % faster with it, but its 23 kernels took 97 MB and
/// ≈ 135 ms more on the first forward; layer4 (7×7: 16 tiles) ran slower; layer1 (784 tiles)
/// and layer2 (196) gain. Batches (aug_smooth, Score-CAM) reach it sooner.
const MIN_TILES: usize = 64;

/// Whether the convolution is one this path computes (it also needs `groups = 1` and no
/// dilation, as every plan does).
pub(super) fn applies(g: &Geometry) -> bool {
    g.kernel == [3, 3] && g.stride == [1, 1] && Tiles::of(g).count() >= MIN_TILES
}

/// Transformed kernels, each with the weight buffer it came from. Holding that buffer keeps
/// flex from changing it in place (a shared buffer is copied before it is written), so a
/// buffer found here still holds the weights its kernel was made from. An entry whose buffer
/// nothing else holds (its network was dropped) goes at the next convolution of either path,
/// so switching to a network without such convolutions frees it too.
static KERNELS: Mutex<Vec<Cached>> = Mutex::new(Vec::new());

struct Cached {
    weights: Arc<Bytes>,
    shape: [usize; 2],
    transformed: Arc<[f32]>,
}

/// The transformed kernel `U[ξ][c][o]` of `weight` (`[O, C, 3, 3]`), from the cache or made
/// now; `None` when the convolution is not one for this path, or the weights are a view
/// (not their buffer's contiguous start). Called for every planned convolution: it also
/// drops the entries of networks gone. The cache is not locked while a kernel is made (on
/// the threads): a thread waiting for its share of that work may run a convolution of
/// another pass meanwhile, which locks the cache too.
pub(super) fn kernel(weight: &FlexTensor, g: &Geometry) -> Option<Arc<[f32]>> {
    let cache = || KERNELS.lock().unwrap_or_else(PoisonError::into_inner);
    let shape = [g.channels_out, g.channels_in];
    let source = weight.data_arc();
    let cached = |entries: &[Cached]| {
        entries
            .iter()
            .find(|entry| Arc::ptr_eq(&entry.weights, &source) && entry.shape == shape)
            .map(|entry| Arc::clone(&entry.transformed))
    };
    {
        let mut entries = cache();
        entries.retain(|entry| Arc::strong_count(&entry.weights) > 1);
        if !applies(g) || !weight.is_contiguous() || weight.layout().start_offset() != 0 {
            return None;
        }
        if let Some(hit) = cached(&entries) {
            return Some(hit);
        }
    }
    let values = &weight.storage::<f32>()[..g.channels_out * g.channels_in * 9];
    let transformed: Arc<[f32]> = transform_kernels(values, shape).into();
    let mut entries = cache();
    // Another pass may have made the same kernel meanwhile: one entry per weights.
    if let Some(hit) = cached(&entries) {
        return Some(hit);
    }
    entries.push(Cached {
        weights: source,
        shape,
        transformed: Arc::clone(&transformed),
    });
    Some(transformed)
}

/// `U[ξ][c][o] = (G g[o][c] Gᵀ)[ξ]` for weights `[O, C, 3, 3]`: each `U[ξ]` contiguous and
/// column-major (`o` contiguous), which gemm reads in place. An input channel per thread,
/// each writing its column of every `U[ξ]`.
fn transform_kernels(weights: &[f32], [outs, ins]: [usize; 2]) -> Vec<f32> {
    let mut transformed = vec![0.0f32; POSITIONS * ins * outs];
    let mut columns: Vec<Vec<&mut [f32]>> =
        (0..ins).map(|_| Vec::with_capacity(POSITIONS)).collect();
    for position in transformed.chunks_exact_mut(ins * outs) {
        for (channel, column) in position.chunks_exact_mut(outs).enumerate() {
            columns[channel].push(column);
        }
    }
    threads::for_each_chunk(&mut columns, 1, |(channel, columns)| {
        let columns = &mut columns[0];
        for out in 0..outs {
            let g = &weights[(out * ins + channel) * 9..][..9];
            for (column, value) in columns.iter_mut().zip(kernel_tile(g)) {
                column[out] = value;
            }
        }
    });
    transformed
}

/// `output = conv(x)` with `epilogue`: `x` is `[N, C, H, W]`, `kernel` from [`kernel`],
/// `output` `[N, O, OH, OW]`.
pub(super) fn convolve(
    x: &[f32],
    kernel: &[f32],
    g: &Geometry,
    epilogue: Epilogue<'_>,
    output: &mut [f32],
) {
    let tiles = Tiles::of(g);
    let count = tiles.count();
    let patches_len = g.channels_in * POSITIONS * count;
    scratch::with(
        patches_len + POSITIONS * g.channels_out * count,
        |scratch| {
            let (patches, products) = scratch.split_at_mut(patches_len);
            threads::for_each_chunk(patches, POSITIONS * count, |(channel, dst)| {
                transform_input(x, g, &tiles, channel, dst);
            });
            multiply(
                kernel,
                patches,
                [g.channels_out, g.channels_in, count],
                products,
            );
            let plane = g.out_pixels();
            for (image, out) in output.chunks_exact_mut(g.channels_out * plane).enumerate() {
                let epilogue = epilogue.for_image(image, g.channels_out * plane);
                threads::for_each_chunk(out, plane, |(channel, dst)| {
                    let rows: [&[f32]; POSITIONS] = core::array::from_fn(|position| {
                        let start = (position * g.channels_out + channel) * count;
                        &products[start + tiles.index(image, 0)..][..tiles.per_image()]
                    });
                    transform_output(&tiles, &rows, (&epilogue, channel), dst);
                });
            }
        },
    );
}

/// `M[ξ] = U[ξ] · V[ξ]` (`[O, C] · [C, tiles]`) for each position, one product per thread:
/// `kernel` is `U[ξ][c][o]`, `patches` `V[c][ξ][t]`, `products` `M[ξ][o][t]`.
fn multiply(kernel: &[f32], patches: &[f32], [outs, ins, count]: [usize; 3], products: &mut [f32]) {
    assert!(kernel.len() >= ins * POSITIONS * outs && patches.len() >= ins * POSITIONS * count);
    threads::for_each_chunk(products, outs * count, |(position, dst)| {
        // SAFETY: `dst` is `[O, tiles]` (row stride `tiles`); the lhs `[O, C]` starts at
        // `position·C·O` of `kernel` with column stride `O`, the rhs `[C, tiles]` at
        // `position·tiles` of `patches` with row stride `16·tiles`, both inside their
        // slices (asserted above); `dst` aliases neither.
        unsafe {
            gemm::gemm(
                outs,
                count,
                ins,
                dst.as_mut_ptr(),
                1,
                count as isize,
                false,
                kernel.as_ptr().add(position * ins * outs),
                outs as isize,
                1,
                patches.as_ptr().add(position * count),
                1,
                (POSITIONS * count) as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    });
}

/// The 2×2 output tiles covering each image's output.
struct Tiles {
    batch: usize,
    /// Tiles down and across one image.
    grid: [usize; 2],
    out_hw: [usize; 2],
}

impl Tiles {
    fn of(g: &Geometry) -> Self {
        let [h, w] = g.out_hw;
        Self {
            batch: g.batch,
            grid: [h.div_ceil(2), w.div_ceil(2)],
            out_hw: g.out_hw,
        }
    }

    fn per_image(&self) -> usize {
        self.grid[0] * self.grid[1]
    }

    fn count(&self) -> usize {
        self.batch * self.per_image()
    }

    /// Column of `tile` (row-major in its image) of `image` in `V` and `M`.
    fn index(&self, image: usize, tile: usize) -> usize {
        image * self.per_image() + tile
    }

    /// Rows and columns of the input the tiles read, padding included: `2·grid + 2`.
    fn padded_hw(&self) -> [usize; 2] {
        self.grid.map(|n| 2 * n + 2)
    }
}

/// `V[ξ][t]` of input channel `channel` for every tile of every image, into `dst`
/// (`[16, tiles]`). Per image, the plane goes into a zero border (every patch then lies
/// inside it), its even and odd columns apart; each row of tiles is transformed down its 4
/// input rows, then across, each step a run over the row's tiles.
fn transform_input(x: &[f32], g: &Geometry, tiles: &Tiles, channel: usize, dst: &mut [f32]) {
    let [h, w] = g.in_hw;
    let [padded_h, padded_w] = tiles.padded_hw();
    let [pad_top, pad_left] = g.pad;
    let [tile_rows, tile_cols] = tiles.grid;
    let half = padded_w / 2;
    let count = tiles.count();
    // Input rows and columns past the last tile's patch are never read.
    let (rows, cols) = (h.min(padded_h - pad_top), w.min(padded_w - pad_left));
    scratch::with(2 * padded_h * half + 8 * half, |buffer| {
        // columns[parity][row·half + k]: padded column 2k + parity; its border stays zero.
        let (columns, down) = buffer.split_at_mut(2 * padded_h * half);
        columns.fill(0.0);
        let (evens, odds) = columns.split_at_mut(padded_h * half);
        // down[parity][a][k]: (Bᵀ d) row `a` of the tile row's 4 input rows at that column.
        let (down_even, down_odd) = down.split_at_mut(4 * half);
        for image in 0..tiles.batch {
            let plane = &x[(image * g.channels_in + channel) * h * w..][..h * w];
            for (row, src) in plane.chunks_exact(w).take(rows).enumerate() {
                let start = (row + pad_top) * half;
                for (parity, plane) in [(0, &mut *evens), (1, &mut *odds)] {
                    // The first input column whose padded column has this parity.
                    let col = (parity + pad_left) % 2;
                    let at = start + (col + pad_left) / 2;
                    let values = src[..cols].iter().skip(col).step_by(2);
                    for (dst, &value) in plane[at..].iter_mut().zip(values) {
                        *dst = value;
                    }
                }
            }
            for tile_row in 0..tile_rows {
                for (plane, down) in [(&*evens, &mut *down_even), (&*odds, &mut *down_odd)] {
                    let r: [&[f32]; 4] =
                        core::array::from_fn(|i| &plane[(2 * tile_row + i) * half..][..half]);
                    let (d0, rest) = down.split_at_mut(half);
                    let (d1, rest) = rest.split_at_mut(half);
                    let (d2, d3) = rest.split_at_mut(half);
                    for k in 0..half {
                        let v = input_1d([r[0][k], r[1][k], r[2][k], r[3][k]]);
                        (d0[k], d1[k], d2[k], d3[k]) = (v[0], v[1], v[2], v[3]);
                    }
                }
                let first = tiles.index(image, tile_row * tile_cols);
                let pairs = down_even
                    .chunks_exact(half)
                    .zip(down_odd.chunks_exact(half));
                for (a, (even, odd)) in pairs.enumerate() {
                    let (even, odd) = (&even[..=tile_cols], &odd[..=tile_cols]);
                    let mut out = split_rows(dst, 4 * a, count, first, tile_cols);
                    for t in 0..tile_cols {
                        let v = input_1d([even[t], odd[t], even[t + 1], odd[t + 1]]);
                        for (row, value) in out.iter_mut().zip(v) {
                            row[t] = value;
                        }
                    }
                }
            }
        }
    });
}

/// Rows `first_row..first_row + 4` of the `[_, stride]` matrix `data`, each cut to the
/// `len` values from column `start`.
fn split_rows(
    data: &mut [f32],
    first_row: usize,
    stride: usize,
    start: usize,
    len: usize,
) -> [&mut [f32]; 4] {
    let (_, rest) = data.split_at_mut(first_row * stride);
    let mut rows = rest
        .chunks_exact_mut(stride)
        .map(|row| &mut row[start..][..len]);
    core::array::from_fn(|_| rows.next().expect("four rows"))
}

/// Writes output channel `channel`'s plane (`[OH, OW]`) of one image: each tile's 2×2 pixels
/// `Aᵀ M A`, where `rows[ξ][tile]` is `M`, a row of tiles at a time, added onto each output
/// row as the image's `epilogue` prefills it, which then finishes the row; pixels past the
/// plane's edge (odd sizes) are dropped.
fn transform_output(
    tiles: &Tiles,
    rows: &[&[f32]; POSITIONS],
    (epilogue, channel): (&Epilogue<'_>, usize),
    dst: &mut [f32],
) {
    let [h, w] = tiles.out_hw;
    let [tile_rows, tile_cols] = tiles.grid;
    scratch::with(12 * tile_cols, |buffer| {
        // across[2a + j][t]: (M A) row `a`, column `j`, of tile `t` of the row;
        // pixels[2i + j][t]: output pixel (i, j) of tile `t`.
        let (across, pixels) = buffer.split_at_mut(8 * tile_cols);
        for tile_row in 0..tile_rows {
            let m: [&[f32]; POSITIONS] =
                core::array::from_fn(|p| &rows[p][tile_row * tile_cols..][..tile_cols]);
            for (a, pair) in across.chunks_exact_mut(2 * tile_cols).enumerate() {
                let (left, right) = pair.split_at_mut(tile_cols);
                let [m0, m1, m2, m3] = [m[4 * a], m[4 * a + 1], m[4 * a + 2], m[4 * a + 3]];
                for t in 0..tile_cols {
                    [left[t], right[t]] = output_1d([m0[t], m1[t], m2[t], m3[t]]);
                }
            }
            for j in 0..2 {
                let by_row: [&[f32]; 4] =
                    core::array::from_fn(|a| &across[(2 * a + j) * tile_cols..][..tile_cols]);
                let (top, bottom) = pixels.split_at_mut(2 * tile_cols);
                let (top, bottom) = (&mut top[j * tile_cols..], &mut bottom[j * tile_cols..]);
                for t in 0..tile_cols {
                    let y = output_1d(by_row.map(|row| row[t]));
                    (top[t], bottom[t]) = (y[0], y[1]);
                }
            }
            for i in 0..2 {
                let oh = 2 * tile_row + i;
                if oh >= h {
                    break;
                }
                let (left, right) = pixels[2 * i * tile_cols..].split_at(tile_cols);
                let out = &mut dst[oh * w..][..w];
                epilogue.prefill(out, (channel * h + oh) * w, channel);
                for (ow, pixel) in out.iter_mut().enumerate() {
                    *pixel += if ow % 2 == 0 {
                        left[ow / 2]
                    } else {
                        right[ow / 2]
                    };
                }
                epilogue.finish(out);
            }
        }
    });
}

/// `Bᵀ d` along one axis: `[d0 − d2, d1 + d2, d2 − d1, d1 − d3]`.
fn input_1d([d0, d1, d2, d3]: [f32; 4]) -> [f32; 4] {
    [d0 - d2, d1 + d2, d2 - d1, d1 - d3]
}

/// `G g` along one axis: `[g0, (g0 + g1 + g2)/2, (g0 − g1 + g2)/2, g2]`.
fn kernel_1d([g0, g1, g2]: [f32; 3]) -> [f32; 4] {
    [g0, 0.5 * (g0 + g1 + g2), 0.5 * (g0 - g1 + g2), g2]
}

/// `Aᵀ m` along one axis: `[m0 + m1 + m2, m1 − m2 − m3]`.
fn output_1d([m0, m1, m2, m3]: [f32; 4]) -> [f32; 2] {
    [m0 + m1 + m2, m1 - m2 - m3]
}

/// `U = G g Gᵀ` of a row-major 3×3 kernel, row-major.
fn kernel_tile(g: &[f32]) -> [f32; POSITIONS] {
    let columns: [[f32; 4]; 3] = core::array::from_fn(|s| kernel_1d([g[s], g[3 + s], g[6 + s]]));
    let mut u = [0.0f32; POSITIONS];
    for (a, row) in u.chunks_exact_mut(4).enumerate() {
        row.copy_from_slice(&kernel_1d(columns.map(|column| column[a])));
    }
    u
}

#[cfg(test)]
mod tests {
    use burn::backend::Flex;
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::{Device, Distribution, Tensor};

    use super::super::{conv2d, plan};
    use super::*;

    /// `Y = Aᵀ M A` of a row-major 4×4 `M`: the 2×2 output tile.
    fn output_tile(m: &[f32; POSITIONS]) -> [[f32; 2]; 2] {
        let columns: [[f32; 2]; 4] =
            core::array::from_fn(|b| output_1d([m[b], m[4 + b], m[8 + b], m[12 + b]]));
        core::array::from_fn(|i| output_1d(columns.map(|column| column[i])))
    }

    /// `V = Bᵀ d B`, row-major.
    fn input_tile(d: &[[f32; 4]; 4]) -> [f32; POSITIONS] {
        let columns: [[f32; 4]; 4] = core::array::from_fn(|s| input_1d(d.map(|row| row[s])));
        let mut v = [0.0f32; POSITIONS];
        for (a, row) in v.chunks_exact_mut(4).enumerate() {
            row.copy_from_slice(&input_1d(columns.map(|column| column[a])));
        }
        v
    }

    /// One tile by the definition: `y[i][j] = Σ d[i+r][j+s]·g[r][s]`.
    #[test]
    fn one_tile_equals_the_direct_sum() {
        let d: [[f32; 4]; 4] =
            core::array::from_fn(|r| core::array::from_fn(|s| (r * 4 + s) as f32 * 0.37 - 2.0));
        let g: [f32; 9] = core::array::from_fn(|i| (i as f32 - 4.0) * 0.21);
        let (u, v) = (kernel_tile(&g), input_tile(&d));
        let m: [f32; POSITIONS] = core::array::from_fn(|p| u[p] * v[p]);
        let y = output_tile(&m);
        for (i, j) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            let direct: f32 = (0..9).map(|k| d[i + k / 3][j + k % 3] * g[k]).sum();
            assert!(
                (y[i][j] - direct).abs() < 1e-5,
                "({i}, {j}): {} vs {direct}",
                y[i][j]
            );
        }
    }

    fn weight_buffer(conv: &burn::nn::conv::Conv2d) -> Arc<Bytes> {
        conv.weight
            .val()
            .try_into_primitive::<Flex>()
            .unwrap()
            .data_arc()
    }

    fn cached(weights: &Arc<Bytes>) -> bool {
        let cache = KERNELS.lock().unwrap();
        cache
            .iter()
            .any(|entry| Arc::ptr_eq(&entry.weights, weights))
    }

    #[test]
    fn a_kernel_is_kept_while_its_weights_live_and_never_outlives_a_change() {
        let device = Device::flex();
        let mut conv = Conv2dConfig::new([6, 5], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(&device);
        let x = Tensor::<4>::random([1, 6, 16, 17], Distribution::Default, &device);
        let first = conv2d(&conv, x.clone());
        let buffer = weight_buffer(&conv);
        assert!(cached(&buffer), "the kernel was not kept");
        let again = conv2d(&conv, x.clone());
        assert!((first - again).abs().max().into_scalar::<f32>() == 0.0);

        // Weights changed (in place where flex could): the result follows them.
        conv.weight = conv.weight.map(|w| w * 2.0);
        let diff: f32 = (conv2d(&conv, x.clone()) - conv.forward(x.clone()))
            .abs()
            .max()
            .into_scalar();
        assert!(diff < 1e-5, "a stale kernel was used: max |Δ| {diff}");

        // Dropped weights leave the cache at the next convolution, even one of the other
        // path (a 1×1: a network without Winograd convolutions).
        let gone = Arc::downgrade(&buffer);
        drop((buffer, conv));
        let other = Conv2dConfig::new([6, 5], [1, 1]).init(&device);
        assert!(!applies(&plan(&other, &x).unwrap().geometry));
        let _ = conv2d(&other, x);
        assert!(
            gone.upgrade().is_none(),
            "the cache still holds dropped weights"
        );
    }
}
