//! Job streams: workers that keep a stream open get new jobs pushed in the batch that created
//! them, as Zeebe's job push does, instead of a later activation batch of their own (one sync
//! fewer per job on the durable path, and no activation round trip).
//!
//! A partition that made jobs of a type activatable activates them, before the batch is
//! written, for one of the streams open for that type (in turn), so the activation is durable
//! with the jobs; once the batch is synced the jobs go into the stream's channel. A stream that
//! is full or gone gets nothing: its jobs are given back (failed with their retries untouched),
//! like jobs of a worker who hung up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::mpsc::{self, OwnedPermit};

use crate::ActivatedJob;

/// Jobs pushed to one stream at most per batch and partition.
pub(crate) const PUSH_MAX: usize = 32;

/// What a partition needs to activate jobs for a stream.
#[derive(Clone)]
pub(crate) struct StreamTarget {
    pub worker: String,
    pub timeout_ms: i64,
    pub fetch_variables: Vec<String>,
    pub sender: mpsc::Sender<ActivatedJob>,
}

/// Open streams by job type, each with its id.
type ByType = HashMap<Arc<str>, Vec<(u64, StreamTarget)>>;

#[derive(Default)]
pub(crate) struct JobStreams {
    by_type: Mutex<ByType>,
    next_id: AtomicU64,
    /// Rotates the stream chosen per push.
    turn: AtomicU64,
}

impl JobStreams {
    pub fn open(self: &Arc<Self>, job_type: &str, target: StreamTarget) -> StreamGuard {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let job_type: Arc<str> = Arc::from(job_type);
        self.lock().entry(job_type.clone()).or_default().push((id, target));
        StreamGuard { streams: self.clone(), job_type, id }
    }

    /// A stream of `job_type` with room, taken in turn, and the room reserved in it for `jobs`
    /// jobs (at most [`PUSH_MAX`]): reserved at once, so that batches still syncing count against
    /// it. No more than the jobs at hand: room held for jobs that do not exist would leave the
    /// next batch's jobs without a stream until this batch is durable.
    pub fn reserve(&self, job_type: &str, jobs: usize) -> Option<(StreamTarget, Vec<OwnedPermit<ActivatedJob>>)> {
        let streams = self.lock();
        let open = streams.get(job_type)?;
        let turn = self.turn.fetch_add(1, Ordering::Relaxed) as usize;
        (0..open.len()).map(|i| &open[(turn + i) % open.len()].1).find_map(|target| {
            let permits: Vec<_> =
                (0..jobs.min(PUSH_MAX)).map_while(|_| target.sender.clone().try_reserve_owned().ok()).collect();
            (!permits.is_empty()).then(|| (target.clone(), permits))
        })
    }

    fn lock(&self) -> MutexGuard<'_, ByType> {
        // Only single pushes and removals happen under the lock: a panic elsewhere cannot have
        // left the map half-changed.
        self.by_type.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Closes the stream when dropped.
pub struct StreamGuard {
    streams: Arc<JobStreams>,
    job_type: Arc<str>,
    id: u64,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let mut streams = self.streams.lock();
        if let Some(open) = streams.get_mut(&self.job_type) {
            open.retain(|(id, _)| *id != self.id);
            if open.is_empty() {
                streams.remove(&self.job_type);
            }
        }
    }
}
