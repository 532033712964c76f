//! The client's error type.

use std::path::PathBuf;

use tonic::Code;

/// Everything a [`Client`](crate::Client) call or a [`Worker`](crate::Worker) can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The gateway answered with a gRPC status other than OK (a rejection, NOT_FOUND,
    /// UNIMPLEMENTED, a deadline, …). Code and message are kept as the server sent them.
    #[error("gateway answered {code:?}: {message}")]
    Status { code: Code, message: String },
    /// Variables could not be turned into JSON text, or the JSON the gateway sent did not fit the
    /// requested type.
    #[error("variables are not valid JSON for this type: {0}")]
    Json(#[from] serde_json::Error),
    /// The connection to the gateway could not be established or broke down.
    #[error("cannot reach the gateway: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// A file to deploy could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// A request that the client refuses before sending it (a bad address, a worker without a
    /// handler, …).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Self {
        Error::Status { code: status.code(), message: status.message().to_string() }
    }
}

impl Error {
    /// The gRPC code of a [`Error::Status`]; `None` for every other kind of error.
    pub fn code(&self) -> Option<Code> {
        match self {
            Error::Status { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The entity (job, instance, incident, process, …) does not exist (any more).
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(Code::NotFound)
    }

    /// The request was malformed or named something invalid.
    pub fn is_invalid_argument(&self) -> bool {
        self.code() == Some(Code::InvalidArgument)
    }

    /// The entity is in a state the command does not apply to.
    pub fn is_failed_precondition(&self) -> bool {
        self.code() == Some(Code::FailedPrecondition)
    }

    /// The entity exists already (e.g. a message with the same id).
    pub fn is_already_exists(&self) -> bool {
        self.code() == Some(Code::AlreadyExists)
    }

    /// The gateway does not support this call.
    pub fn is_unimplemented(&self) -> bool {
        self.code() == Some(Code::Unimplemented)
    }

    /// The call did not finish in time (e.g. `create_instance_with_result`).
    pub fn is_deadline_exceeded(&self) -> bool {
        self.code() == Some(Code::DeadlineExceeded)
    }

    /// The broker is overloaded (back-pressure); retrying later may succeed.
    pub fn is_resource_exhausted(&self) -> bool {
        self.code() == Some(Code::ResourceExhausted)
    }

    /// The gateway is unavailable (shutting down, not reachable).
    pub fn is_unavailable(&self) -> bool {
        self.code() == Some(Code::Unavailable) || matches!(self, Error::Transport(_))
    }
}
