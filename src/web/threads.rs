//! The CPU backend's thread pool in the page (the threaded build only): rayon's workers run
//! in Web Workers that instantiate this module on its shared memory.
//!
//! Order matters: each worker calls [`run_thread`] first (it waits for a thread to run), then
//! the engine calls [`start_thread_pool`], which hands one rayon thread to each waiting worker
//! and returns once all of them have started.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Mutex, OnceLock};
use wasm_bindgen::prelude::*;

type Handoff = (
    Mutex<Sender<rayon::ThreadBuilder>>,
    Mutex<Receiver<rayon::ThreadBuilder>>,
);

/// The channel that carries rayon's threads from the pool's builder to the waiting workers.
fn handoff() -> &'static Handoff {
    static HANDOFF: OnceLock<Handoff> = OnceLock::new();
    HANDOFF.get_or_init(|| {
        let (tx, rx) = channel();
        (Mutex::new(tx), Mutex::new(rx))
    })
}

/// The module and memory a thread worker instantiates itself with.
#[wasm_bindgen(js_name = threadShare)]
pub fn thread_share() -> js_sys::Array {
    js_sys::Array::of2(&wasm_bindgen::module(), &wasm_bindgen::memory())
}

/// Starts rayon's global pool with `n` threads; `n` workers must already be in [`run_thread`].
#[wasm_bindgen(js_name = startThreadPool)]
pub fn start_thread_pool(n: usize) -> Result<(), JsError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .spawn_handler(|thread| {
            let tx = handoff().0.lock().expect("handoff sender");
            tx.send(thread)
                .map_err(|e| std::io::Error::other(e.to_string()))
        })
        .build_global()
        .map_err(|e| JsError::new(&e.to_string()))
}

/// Waits for one of the pool's threads and runs it (blocks the calling worker for good).
#[wasm_bindgen(js_name = runThread)]
pub fn run_thread() {
    let thread = handoff().1.lock().expect("handoff receiver").recv();
    if let Ok(thread) = thread {
        thread.run();
    }
}

/// The number of threads the CPU backend computes on.
#[wasm_bindgen(js_name = threadCount)]
pub fn thread_count() -> usize {
    rayon::current_num_threads()
}
