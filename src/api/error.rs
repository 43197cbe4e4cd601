//! The errors the API answers with (spec 6.2), pure: each IVS error shape, its HTTP status, and
//! its wire form (`x-amzn-ErrorType: <Name>`, body `{"exceptionMessage": …}`), which the AWS SDKs
//! and CLI parse into their typed exceptions.

use std::fmt;

/// An IVS error shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// 400: the input breaks a constraint of the model.
    Validation,
    /// 403: a wrong or missing signature.
    AccessDenied,
    /// 403: the account is pending verification.
    PendingVerification,
    /// 404: no such resource.
    ResourceNotFound,
    /// 404: the channel is not live.
    ChannelNotBroadcasting,
    /// 409: the change would make state inconsistent (e.g. deleting a live channel).
    Conflict,
    /// 402: a quota would be exceeded (e.g. a second stream key).
    ServiceQuotaExceeded,
    /// 429: too many requests (e.g. PutMetadata over 5 per second).
    Throttling,
    /// 500: a fault of ours.
    InternalServer,
    /// 503: the service is unavailable.
    ServiceUnavailable,
    /// 503: the stream is unavailable.
    StreamUnavailable,
    /// 404: no such operation (not a shape of the model; what AWS answers for an unknown path).
    UnknownOperation,
}

impl ErrorKind {
    /// Every kind the model has, in the order of spec 6.2.
    pub const ALL: [Self; 11] = [
        Self::Validation,
        Self::AccessDenied,
        Self::PendingVerification,
        Self::ResourceNotFound,
        Self::ChannelNotBroadcasting,
        Self::Conflict,
        Self::ServiceQuotaExceeded,
        Self::Throttling,
        Self::InternalServer,
        Self::ServiceUnavailable,
        Self::StreamUnavailable,
    ];

    /// The shape's name: `x-amzn-ErrorType`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Validation => "ValidationException",
            Self::AccessDenied => "AccessDeniedException",
            Self::PendingVerification => "PendingVerification",
            Self::ResourceNotFound => "ResourceNotFoundException",
            Self::ChannelNotBroadcasting => "ChannelNotBroadcasting",
            Self::Conflict => "ConflictException",
            Self::ServiceQuotaExceeded => "ServiceQuotaExceededException",
            Self::Throttling => "ThrottlingException",
            Self::InternalServer => "InternalServerException",
            Self::ServiceUnavailable => "ServiceUnavailable",
            Self::StreamUnavailable => "StreamUnavailable",
            Self::UnknownOperation => "UnknownOperationException",
        }
    }

    /// The HTTP status the model gives it.
    pub fn status(self) -> u16 {
        match self {
            Self::Validation => 400,
            Self::AccessDenied | Self::PendingVerification => 403,
            Self::ResourceNotFound | Self::ChannelNotBroadcasting | Self::UnknownOperation => 404,
            Self::Conflict => 409,
            Self::ServiceQuotaExceeded => 402,
            Self::Throttling => 429,
            Self::InternalServer => 500,
            Self::ServiceUnavailable | Self::StreamUnavailable => 503,
        }
    }
}

/// An error answer: its kind and what exactly went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The error shape.
    pub kind: ErrorKind,
    /// `exceptionMessage`.
    pub message: String,
}

impl ApiError {
    /// An error of `kind` saying `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The body: `{"exceptionMessage": …}`, the model's member, and the same text as `message`,
    /// which the SDKs' generic error parsers (botocore's among them) read.
    pub fn body(&self) -> String {
        serde_json::json!({ "exceptionMessage": self.message, "message": self.message }).to_string()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.message)
    }
}

impl From<super::validate::InputError> for ApiError {
    fn from(err: super::validate::InputError) -> Self {
        Self::new(ErrorKind::Validation, err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::ServiceModel;

    #[test]
    fn names_and_statuses_are_the_models() {
        let model = ServiceModel::ivs();
        let modelled: Vec<(&String, u16)> = model
            .shapes
            .iter()
            .filter_map(|(name, shape)| shape.error.as_ref().map(|e| (name, e.status)))
            .collect();
        assert_eq!(modelled.len(), ErrorKind::ALL.len());
        for kind in ErrorKind::ALL {
            let shape = model
                .shape(kind.name())
                .expect("an error shape of the model");
            assert_eq!(
                shape.error.as_ref().unwrap().status,
                kind.status(),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn validation_errors_carry_the_member_and_rule() {
        let err: ApiError = crate::api::validate::InputError {
            member: "maxResults".into(),
            rule: "must be at most 100, got 101".into(),
        }
        .into();
        assert_eq!(err.kind.status(), 400);
        assert_eq!(
            err.body(),
            r#"{"exceptionMessage":"maxResults: must be at most 100, got 101","message":"maxResults: must be at most 100, got 101"}"#
        );
    }
}
