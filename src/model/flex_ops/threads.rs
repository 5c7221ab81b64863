//! rayon's threads where the build has them (natively, and in the page's threaded build),
//! and the same calls one after the other where it does not: the only place that knows.

use core::ops::Range;

#[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
mod pool {
    use core::ops::Range;
    use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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

    /// Threads of the pool spinning for work inside [`awake`] right now.
    pub(super) static SPINNING: AtomicUsize = AtomicUsize::new(0);

    pub(super) fn awake<R: Send>(f: impl FnOnce() -> R + Send) -> R {
        let others = rayon::current_num_threads() - 1;
        if others == 0 || rayon::current_thread_index().is_some() {
            return f();
        }
        let done = &AtomicBool::new(false);
        rayon::scope(|scope| {
            let owner = rayon::current_thread_index();
            for _ in 0..others {
                scope.spawn(move |_| take_work_until(done, owner));
            }
            let _done = SetOnDrop(done);
            f()
        })
    }

    /// Runs the pool's jobs as they come, spinning between them, until `done`; at once on
    /// `owner`'s thread (which runs `f`, and may pick this job up while it waits for a job
    /// of its own).
    fn take_work_until(done: &AtomicBool, owner: Option<usize>) {
        if rayon::current_thread_index() == owner {
            return;
        }
        SPINNING.fetch_add(1, Ordering::Relaxed);
        while !done.load(Ordering::Acquire) {
            if rayon::yield_now() != Some(rayon::Yield::Executed) {
                core::hint::spin_loop();
            }
        }
        SPINNING.fetch_sub(1, Ordering::Relaxed);
    }

    /// Sets its flag when dropped: when `f` returns or panics.
    struct SetOnDrop<'a>(&'a AtomicBool);

    impl Drop for SetOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Release);
        }
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

    pub(super) fn awake<R>(f: impl FnOnce() -> R) -> R {
        f()
    }
}

/// `f()` on one of the pool's threads, the pool's other threads running its parallel work
/// and spinning between the parts instead of going to sleep (as OpenMP's threads do for a
/// while). Waking a sleeping thread can take as long as a whole convolution of ResNet's
/// layer3 (in a 2-core VM, two halves of a product on two threads: 0.84 ms after a pause,
/// 0.37 ms back to back, 0.33 ms for one half alone), and a caller outside the pool sleeps
/// while the pool works, then waits to be woken as well.
/// The other threads stay busy until `f` returns (or panics), so `f` should be a whole
/// network pass, not a step of one. Called from inside the pool (or with one thread, or in
/// a build without threads) it is just `f()`.
pub(super) fn awake<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    pool::awake(f)
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

#[cfg(test)]
mod tests {
    use core::sync::atomic::Ordering;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use super::{awake, count, pool::SPINNING};

    /// `f()` on a thread of its own, or a failure after `limit` (a hang fails, not stalls).
    fn within<R: Send + 'static>(limit: Duration, f: impl FnOnce() -> R + Send + 'static) -> R {
        let (send, receive) = mpsc::channel();
        std::thread::spawn(move || send.send(f()));
        receive.recv_timeout(limit).expect("it finished in time")
    }

    #[test]
    fn awake_runs_on_the_pool_while_the_other_threads_spin_for_work() {
        let (on_pool, spinning) = within(Duration::from_secs(30), || {
            awake(|| {
                let others = count() - 1;
                let start = Instant::now();
                while SPINNING.load(Ordering::Relaxed) < others
                    && start.elapsed() < Duration::from_secs(10)
                {
                    std::thread::yield_now();
                }
                let spinning = SPINNING.load(Ordering::Relaxed) >= others;
                (
                    rayon::current_thread_index().is_some() || others == 0,
                    spinning,
                )
            })
        });
        assert!(on_pool, "a pass runs on one of the pool's threads");
        assert!(spinning, "the pool's other threads spin while it runs");
        // Nested: already on the pool, just the call.
        assert_eq!(within(Duration::from_secs(30), || awake(|| awake(|| 7))), 7);
    }

    #[test]
    fn a_panic_inside_awake_reaches_the_caller_and_lets_the_threads_go() {
        let caught = within(Duration::from_secs(30), || {
            std::panic::catch_unwind(|| awake(|| panic!("a failing pass"))).is_err()
        });
        assert!(caught);
        assert_eq!(within(Duration::from_secs(30), || awake(|| 3)), 3);
    }
}
