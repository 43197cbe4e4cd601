//! The IVS control plane (issue 11, under way): the API model and the checks of requests
//! against it. The HTTP server, the operations and their state come next.
//!
//! - [`model`]: the IVS 2020-07-14 model (botocore's), every operation and shape.
//! - [`validate`]: pure; a request checked against its operation's input shape.
//! - [`error`]: pure; the error shapes, their statuses and wire form (spec 6.2).

pub mod error;
pub mod model;
pub mod validate;
