//! Baton's engine: a deterministic state machine that turns commands into records.
//!
//! Architecture Invariant: this crate does no I/O, reads no clock, spawns no threads and knows
//! no async runtime. Time, keys and requests come in with each command; what must happen outside
//! (answers, waking workers) comes back as data in [`Output`]. The `invariants` test checks the
//! dependency side of this from `cargo metadata`.

mod bpmn;
mod engine;
mod processors;
pub mod record;
pub mod render;
pub mod snapshot;
pub mod state;

pub use engine::{Command, Engine, FOLLOW_UP_COMMANDS_MAX, Output, Response, SideEffect};
pub use processors::JOBS_PER_BATCH_MAX;
pub use record::*;
pub use state::{LifecycleState, State};
