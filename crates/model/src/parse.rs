//! BPMN XML → [`Definitions`]. (Placeholder: being written.)

use crate::graph::Definitions;

/// Bounds on what the reader accepts, so a hostile document cannot exhaust memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub bytes_max: usize,
    pub depth_max: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { bytes_max: 16 * 1024 * 1024, depth_max: 128 }
    }
}

/// One reason a model cannot run, naming the element it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub element_id: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.element_id {
            Some(id) => write!(f, "element '{id}': {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The bytes are not a well-formed, acceptable XML document.
    #[error("invalid XML: {0}")]
    Xml(String),
    /// The document is a BPMN model, but it cannot run; every problem found is listed.
    #[error("invalid BPMN model: {}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Problem>),
}

pub fn parse(xml: &[u8]) -> Result<Definitions, Error> {
    parse_with(xml, Limits::default())
}

pub fn parse_with(_xml: &[u8], _limits: Limits) -> Result<Definitions, Error> {
    Err(Error::Xml("not implemented".into()))
}
