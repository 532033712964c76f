//! BPMN 2.0 models (Zeebe dialect): parsing, validation, and the immutable executable graph.
//!
//! XML is read once, at deploy. A model that cannot run is rejected with every problem listed,
//! each naming the element id. The engine sees only [`graph`] types, never XML.

pub mod graph;
mod parse;
pub mod timer;

pub use graph::*;
pub use parse::{Error, Limits, Problem, parse, parse_with};
pub use timer::{CronSchedule, Period, Schedule, TimerKind};
