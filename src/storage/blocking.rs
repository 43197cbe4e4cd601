//! The boundary between the recording threads and the async storage side: waiting for a future
//! or blocking on a queue from synchronous code, wherever that code runs.
//!
//! Media work is synchronous (libav* calls on plain threads); storage runs as tasks on a Tokio
//! runtime. Blocking is fine on a plain thread; on a worker of a multi-thread runtime it must
//! happen inside `block_in_place`, or Tokio panics. This module is the one place that knows.

use std::future::Future;

use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `blocking` (which may block the thread) wherever the caller is: directly on a plain
/// thread, inside `block_in_place` on a multi-thread runtime's worker, and on a scoped thread of
/// its own on a current-thread runtime (which cannot block in place).
pub fn outside_async<T: Send>(blocking: impl FnOnce() -> T + Send) -> T {
    match Handle::try_current().map(|current| current.runtime_flavor()) {
        Err(_) => blocking(),
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(blocking),
        Ok(_) => std::thread::scope(|scope| match scope.spawn(blocking).join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
    }
}

/// Waits for `future` on `runtime` from synchronous code (see [`outside_async`]).
pub fn wait<F>(runtime: &Handle, future: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    outside_async(|| runtime.block_on(future))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_from_a_plain_thread_and_from_async_tasks() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        assert_eq!(wait(runtime.handle(), async { 1 }), 1);
        let handle = runtime.handle().clone();
        let from_task = runtime.block_on(async move {
            tokio::spawn(async move { wait(&handle, async { 2 }) })
                .await
                .unwrap()
        });
        assert_eq!(from_task, 2);
        let other = runtime.handle().clone();
        let current = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(
            current.block_on(async move { wait(&other, async { 3 }) }),
            3
        );
    }
}
