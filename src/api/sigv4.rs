//! AWS Signature Version 4, checked the way the service checks it: the request's canonical form
//! (method, doubly encoded path, sorted query, the signed headers, the body's SHA-256) is signed
//! again with the secret of the access key it names, and the signatures must match. Without
//! configured credentials only the form of the `Authorization` header is checked, so any access
//! key works, as in local AWS emulators. Pure; secrets never reach a message.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use ring::{digest, hmac};
use serde::Deserialize;

/// The credentials signatures are verified with.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Credentials {
    /// The access key id clients sign with.
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// What a request is signed over.
#[derive(Debug)]
pub struct SignedRequest<'a> {
    /// e.g. `POST`.
    pub method: &'a str,
    /// The path as sent (percent-encoded).
    pub path: &'a str,
    /// The query string as sent, without `?`.
    pub query: &'a str,
    /// Every header: (lowercase name, value).
    pub headers: &'a [(String, String)],
    /// The body.
    pub body: &'a [u8],
}

/// Why a request's signature is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `Authorization` header.
    #[error(
        "the request is not signed: an Authorization header (AWS Signature Version 4) is required"
    )]
    Missing,
    /// An `Authorization` header that is not SigV4.
    #[error(
        "the Authorization header is not AWS4-HMAC-SHA256 with Credential, SignedHeaders and Signature: {0}"
    )]
    Malformed(&'static str),
    /// An access key other than the configured one.
    #[error("the access key {0} is not known to this server")]
    UnknownKey(String),
    /// The signature does not match.
    #[error(
        "the request signature we calculated does not match the signature you provided; check your secret access key and signing method"
    )]
    Mismatch,
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Debug, PartialEq, Eq)]
struct Authorization<'a> {
    access_key: &'a str,
    /// `date/region/service/aws4_request`.
    scope: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(header: &str) -> Result<Authorization<'_>, SignatureError> {
    let rest = header
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or(SignatureError::Malformed("not AWS4-HMAC-SHA256"))?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("Credential", value)) => credential = Some(value),
            Some(("SignedHeaders", value)) => signed = Some(value),
            Some(("Signature", value)) => signature = Some(value),
            _ => {}
        }
    }
    let credential = credential.ok_or(SignatureError::Malformed("no Credential"))?;
    let (access_key, scope) = credential
        .split_once('/')
        .ok_or(SignatureError::Malformed("Credential is not key/scope"))?;
    if scope.split('/').count() != 4 || !scope.ends_with("/aws4_request") {
        return Err(SignatureError::Malformed(
            "the credential scope is not date/region/service/aws4_request",
        ));
    }
    let signature = signature.ok_or(SignatureError::Malformed("no Signature"))?;
    if signature.len() != 64 || !signature.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(SignatureError::Malformed(
            "the Signature is not 64 hex digits",
        ));
    }
    Ok(Authorization {
        access_key,
        scope,
        signed_headers: signed
            .ok_or(SignatureError::Malformed("no SignedHeaders"))?
            .split(';')
            .collect(),
        signature,
    })
}

/// The characters SigV4 leaves unencoded: `A-Z a-z 0-9 - _ . ~`.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// The same, keeping `/` (paths).
const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, bytes).as_ref())
}

fn header<'a>(request: &'a SignedRequest<'_>, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The canonical request (the SDKs encode the already-encoded path once more for every service
/// but S3).
fn canonical_request(request: &SignedRequest<'_>, signed_headers: &[&str]) -> String {
    let path = if request.path.is_empty() {
        "/".to_owned()
    } else {
        utf8_percent_encode(request.path, PATH).to_string()
    };
    let mut query: Vec<(String, String)> = request
        .query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let encode = |part: &str| {
                let decoded = percent_decode_str(&part.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned();
                utf8_percent_encode(&decoded, UNRESERVED).to_string()
            };
            (encode(key), encode(value))
        })
        .collect();
    query.sort();
    let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let headers: String = signed_headers
        .iter()
        .map(|name| {
            let values: Vec<String> = request
                .headers
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect();
            format!("{name}:{}\n", values.join(","))
        })
        .collect();
    let payload = header(request, "x-amz-content-sha256")
        .map_or_else(|| sha256_hex(request.body), str::to_owned);
    format!(
        "{}\n{path}\n{}\n{headers}\n{}\n{payload}",
        request.method,
        query.join("&"),
        signed_headers.join(";")
    )
}

/// The signing key of `secret` for `scope`, and the string `request` is signed over.
fn signing_input(
    request: &SignedRequest<'_>,
    signed_headers: &[&str],
    secret: &str,
    scope: &str,
    amz_date: &str,
) -> (hmac::Key, String) {
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request(request, signed_headers).as_bytes())
    );
    let mut key = format!("AWS4{secret}").into_bytes();
    for part in scope.split('/') {
        key = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), part.as_bytes())
            .as_ref()
            .to_vec();
    }
    (hmac::Key::new(hmac::HMAC_SHA256, &key), string_to_sign)
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .filter_map(|at| u8::from_str_radix(text.get(at * 2..at * 2 + 2)?, 16).ok())
        .collect()
}

/// Checks `request`'s signature: its form always, its value when `credentials` are given.
pub fn verify(
    request: &SignedRequest<'_>,
    credentials: Option<&Credentials>,
) -> Result<(), SignatureError> {
    let authorization =
        parse_authorization(header(request, "authorization").ok_or(SignatureError::Missing)?)?;
    let Some(credentials) = credentials else {
        return Ok(());
    };
    if authorization.access_key != credentials.access_key_id {
        return Err(SignatureError::UnknownKey(
            authorization.access_key.to_owned(),
        ));
    }
    let amz_date =
        header(request, "x-amz-date").ok_or(SignatureError::Malformed("no X-Amz-Date header"))?;
    let (key, string_to_sign) = signing_input(
        request,
        &authorization.signed_headers,
        &credentials.secret_access_key,
        authorization.scope,
        amz_date,
    );
    // Compared in constant time.
    hmac::verify(
        &key,
        string_to_sign.as_bytes(),
        &unhex(authorization.signature),
    )
    .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published SigV4 example ("get-vanilla" of the SigV4 test suite).
    #[test]
    fn verifies_the_aws_test_suite_example() {
        let headers = vec![
            ("host".to_owned(), "example.amazonaws.com".to_owned()),
            ("x-amz-date".to_owned(), "20150830T123600Z".to_owned()),
            (
                "authorization".to_owned(),
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31".to_owned(),
            ),
        ];
        let request = SignedRequest {
            method: "GET",
            path: "/",
            query: "",
            headers: &headers,
            body: b"",
        };
        let credentials = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        };
        assert_eq!(verify(&request, Some(&credentials)), Ok(()));
        let wrong = Credentials {
            secret_access_key: "not-the-secret".into(),
            ..credentials.clone()
        };
        assert_eq!(
            verify(&request, Some(&wrong)),
            Err(SignatureError::Mismatch)
        );
        let other = Credentials {
            access_key_id: "AKIDOTHER".into(),
            ..credentials
        };
        assert_eq!(
            verify(&request, Some(&other)),
            Err(SignatureError::UnknownKey("AKIDEXAMPLE".into()))
        );
        assert_eq!(verify(&request, None), Ok(()));
    }

    #[test]
    fn unsigned_and_malformed_requests_are_refused() {
        let request = SignedRequest {
            method: "POST",
            path: "/GetChannel",
            query: "",
            headers: &[],
            body: b"{}",
        };
        assert_eq!(verify(&request, None), Err(SignatureError::Missing));
        let headers = vec![("authorization".to_owned(), "Basic abc".to_owned())];
        let request = SignedRequest {
            headers: &headers,
            ..request
        };
        assert!(matches!(
            verify(&request, None),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let credentials = Credentials {
            access_key_id: "AKID".into(),
            secret_access_key: "very-secret".into(),
        };
        assert!(!format!("{credentials:?}").contains("very-secret"));
    }
}
