//! Working memory kept per thread between convolutions (im2col, Winograd's transformed tiles).
//!
//! A fresh multi-megabyte buffer per call costs a page fault per 4 KiB page on first touch,
//! which took longer than the transforms that fill it; this buffer grows to the largest size
//! asked for on its thread and stays allocated. Its contents are left from the last use:
//! callers write every element before reading it.

use std::cell::RefCell;

thread_local! {
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `f` on `len` elements of this thread's buffer (a fresh one when the buffer is in use
/// further up this thread's stack, as when rayon runs another job while this one waits).
pub(super) fn with<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let mut buffer = SCRATCH.with(RefCell::take);
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    let result = f(&mut buffer[..len]);
    SCRATCH.with(|cell| {
        if cell.borrow().len() < buffer.len() {
            cell.replace(buffer);
        }
    });
    result
}
