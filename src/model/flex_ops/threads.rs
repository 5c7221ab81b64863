//! rayon's threads where the build has them (natively, and in the page's threaded build),
//! and the same calls one after the other where it does not: the only place that knows.

use core::ops::Range;

#[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
mod pool {
    use core::ops::Range;

    use rayon::prelude::*;

    pub(super) fn count() -> usize {
        rayon::current_num_threads()
    }

    pub(super) fn gemm_threads() -> gemm::Parallelism {
        gemm::Parallelism::Rayon(0)
    }

    pub(super) fn for_each_chunk<T: Send>(
        data: &mut [T],
        len: usize,
        f: impl Fn((usize, &mut [T])) + Send + Sync,
    ) {
        data.par_chunks_exact_mut(len).enumerate().for_each(f);
    }

    pub(super) fn for_each_range(ranges: &[Range<usize>], f: impl Fn(Range<usize>) + Send + Sync) {
        ranges.par_iter().cloned().for_each(f);
    }
}

#[cfg(not(any(not(target_arch = "wasm32"), feature = "threads")))]
mod pool {
    use core::ops::Range;

    pub(super) fn count() -> usize {
        1
    }

    pub(super) fn gemm_threads() -> gemm::Parallelism {
        gemm::Parallelism::None
    }

    pub(super) fn for_each_chunk<T: Send>(
        data: &mut [T],
        len: usize,
        f: impl Fn((usize, &mut [T])) + Send + Sync,
    ) {
        data.chunks_exact_mut(len).enumerate().for_each(f);
    }

    pub(super) fn for_each_range(ranges: &[Range<usize>], f: impl Fn(Range<usize>) + Send + Sync) {
        ranges.iter().cloned().for_each(f);
    }
}

/// The number of threads work is shared among (1 in a build without threads).
pub(super) fn count() -> usize {
    pool::count()
}

/// gemm's own threads for a product worth sharing, none otherwise.
pub(super) fn gemm_parallelism(share: bool) -> gemm::Parallelism {
    if share {
        pool::gemm_threads()
    } else {
        gemm::Parallelism::None
    }
}

/// `f((index, chunk))` for each `len`-long chunk of `data`, on the threads.
pub(super) fn for_each_chunk<T: Send>(
    data: &mut [T],
    len: usize,
    f: impl Fn((usize, &mut [T])) + Send + Sync,
) {
    pool::for_each_chunk(data, len, f);
}

/// `f(range)` for each range (bands of rows, blocks of channels), on the threads.
pub(super) fn for_each_range(ranges: &[Range<usize>], f: impl Fn(Range<usize>) + Send + Sync) {
    pool::for_each_range(ranges, f);
}

/// `0..len` cut into one block per thread, each a multiple of `multiple` long (the last one
/// shorter), or `None` when there is one thread or too little for `multiple` per thread.
pub(super) fn blocks(len: usize, multiple: usize) -> Option<Vec<Range<usize>>> {
    let threads = count();
    if threads < 2 || len < multiple * threads {
        return None;
    }
    let per = len.div_ceil(threads).next_multiple_of(multiple);
    Some(
        (0..len)
            .step_by(per)
            .map(|c| c..(c + per).min(len))
            .collect(),
    )
}
