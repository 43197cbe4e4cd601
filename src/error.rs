//! What every layer shares about failures: an error's causes on one line, and the typed failure
//! of a recording (what broke, for `recording_status_reason`, `recording-failed.json` and logs).

use std::fmt;

/// An error and its causes on one line (`what: why: root cause`).
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        // Many errors (object_store's, reqwest's) already print their cause: say it once.
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

/// What part of a recording broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The input broke: truncated, corrupt, no keyframe, a publisher's stream that cannot be read.
    Input,
    /// The store refused objects or stayed unreachable past the writer's deadline.
    Store,
    /// Decoding, encoding or muxing failed on input that read fine.
    Processing,
    /// A bug: a recorder thread panicked.
    Internal,
}

impl FailureKind {
    /// The IVS exception name that stands for this kind in `recording_status_reason` and
    /// `recording_status_message`: `ValidationException` for input IVS could not record,
    /// `InternalServerException` (IVS's documented reason) for everything on our side.
    pub fn exception_name(self) -> &'static str {
        match self {
            Self::Input => "ValidationException",
            Self::Store | Self::Processing | Self::Internal => "InternalServerException",
        }
    }

    /// A short name for logs and outcomes: `input`, `store`, `processing`, `internal`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Input => "input",
            Self::Store => "store",
            Self::Processing => "processing",
            Self::Internal => "internal",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a recording failed: the kind of failure and what exactly happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What part broke.
    pub kind: FailureKind,
    /// What happened, for people.
    pub message: String,
}

impl Failure {
    /// A failure of `kind` saying `message`.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// A failure of `kind` whose message is `err` with its causes.
    pub fn from_error(kind: FailureKind, err: &dyn std::error::Error) -> Self {
        Self::new(kind, error_chain(err))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failure: {}", self.kind, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn chains_every_cause() {
        let err = Outer(std::io::Error::other("inner"));
        assert_eq!(error_chain(&err), "outer: inner");
        let failure = Failure::from_error(FailureKind::Store, &err);
        assert_eq!(failure.to_string(), "store failure: outer: inner");
    }

    #[derive(Debug, thiserror::Error)]
    #[error("cannot use the bucket: {0}")]
    struct Repeating(#[source] Outer);

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let err = Repeating(Outer(std::io::Error::other("inner")));
        assert_eq!(error_chain(&err), "cannot use the bucket: outer: inner");
    }

    #[test]
    fn input_and_store_failures_have_different_reasons() {
        assert_eq!(FailureKind::Input.exception_name(), "ValidationException");
        assert_eq!(
            FailureKind::Store.exception_name(),
            "InternalServerException"
        );
    }
}
