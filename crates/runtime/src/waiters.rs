//! Long-polling workers wait here, per job type, until a partition reports that jobs of their
//! type became activatable.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// One [`Notify`] per job type that someone waits for. Entries live only while a waiter holds
/// them, so the map is bounded by the number of waiting requests, not by every type ever seen.
#[derive(Default)]
pub(crate) struct JobWaiters {
    by_type: Mutex<HashMap<Arc<str>, Arc<Notify>>>,
}

impl JobWaiters {
    /// Registers interest in `job_type`; the returned guard deregisters when dropped.
    pub fn wait_for(self: &Arc<Self>, job_type: &str) -> WaiterGuard {
        let mut by_type = self.lock();
        let notify = by_type.entry(Arc::from(job_type)).or_insert_with(|| Arc::new(Notify::new())).clone();
        WaiterGuard { waiters: self.clone(), job_type: Arc::from(job_type), notify: Some(notify) }
    }

    /// Wakes every request waiting for `job_type`.
    pub fn notify(&self, job_type: &str) {
        if let Some(notify) = self.lock().get(job_type) {
            notify.notify_waiters();
        }
    }

    /// Wakes every waiting request (the broker is closing).
    pub fn notify_all(&self) {
        for notify in self.lock().values() {
            notify.notify_waiters();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Arc<Notify>>> {
        // The map is only ever left consistent (single inserts and removes), so a panic
        // elsewhere while holding the lock cannot have broken it.
        self.by_type.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

pub(crate) struct WaiterGuard {
    waiters: Arc<JobWaiters>,
    job_type: Arc<str>,
    notify: Option<Arc<Notify>>,
}

impl WaiterGuard {
    pub fn notify(&self) -> &Notify {
        self.notify.as_deref().expect("a waiter guard lost its Notify before being dropped. This is a bug.")
    }
}

impl Drop for WaiterGuard {
    fn drop(&mut self) {
        let mut by_type = self.waiters.lock();
        self.notify.take();
        if by_type.get(&self.job_type).is_some_and(|notify| Arc::strong_count(notify) == 1) {
            by_type.remove(&self.job_type);
        }
    }
}
