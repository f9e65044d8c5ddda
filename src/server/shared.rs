//! What the event loop shares with other threads: the waker, the stop
//! flag and the inbox of work handed to the loop.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::proto::Limits;
use crate::server::options::ServerOptions;
use crate::server::slab::Key;

thread_local! {
    /// The server whose loop runs on this thread, if any.
    static LOOP: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
}

/// The send queue's high-water mark of connections with `limits`.
pub(crate) fn queue_limit(limits: &Limits) -> usize {
    usize::try_from(limits.send_queue_bytes).unwrap_or(usize::MAX)
}

/// Work for the loop.
#[derive(Default)]
pub(crate) struct Inbox {
    /// Connections with output queued by other threads, or closed or freed.
    pub(crate) dirty: Vec<Key>,
}

impl Inbox {
    pub(crate) fn is_empty(&self) -> bool {
        self.dirty.is_empty()
    }
}

/// The part of a server every thread may touch.
pub(crate) struct Shared {
    pub(crate) waker: mio::Waker,
    pub(crate) stop: AtomicBool,
    pub(crate) running: AtomicBool,
    pub(crate) inbox: Mutex<Inbox>,
    pub(crate) options: ServerOptions,
}

/// Locks a mutex, ignoring poisoning: every critical section of the server
/// leaves its data consistent at each step.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// Whether the calling thread runs this server's loop.
    pub(crate) fn on_loop_thread(&self) -> bool {
        LOOP.with(|l| std::ptr::eq(l.get(), self))
    }

    /// Marks this thread as running the loop of `shared` (until `leave`).
    pub(crate) fn enter(shared: &Shared) {
        LOOP.with(|l| l.set(shared));
    }

    pub(crate) fn leave() {
        LOOP.with(|l| l.set(std::ptr::null()));
    }

    /// Hands work to the loop and wakes it unless the caller is the loop.
    pub(crate) fn post(&self, f: impl FnOnce(&mut Inbox)) {
        f(&mut lock(&self.inbox));
        if !self.on_loop_thread() {
            self.wake();
        }
    }

    /// Wakes the loop. Only a write to an eventfd or pipe: safe from a
    /// signal handler.
    pub(crate) fn wake(&self) {
        let _ = self.waker.wake();
    }

    /// Asks the loop to stop (from any thread or a signal handler).
    pub(crate) fn request_stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.wake();
    }
}
