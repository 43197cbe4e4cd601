//! A real AWS SDK for the API tests: boto3 (installed by `scripts/test.sh`, named by
//! `IVS_RECORDER_AWS_PYTHON`) driven through `tests/sdk/ivs_sdk.py`, one JSON line per call, and
//! raw HTTP for what no SDK sends (malformed JSON, unsigned requests).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

/// An IVS error as the SDK parsed it.
#[derive(Debug, Clone)]
pub struct SdkError {
    /// e.g. `ConflictException`.
    pub code: String,
    /// The error's message.
    pub message: String,
    /// The HTTP status.
    pub status: u16,
}

/// A boto3 IVS client against a server's API.
pub struct Sdk {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Sdk {
    /// A client of the API on `port`, signing with a throwaway key.
    pub fn new(port: u16) -> Self {
        Self::with_credentials(port, "AKIDTEST", "test-secret")
    }

    /// A client of the API on `port`, signing with `access_key` and `secret`.
    pub fn with_credentials(port: u16, access_key: &str, secret: &str) -> Self {
        let python = std::env::var("IVS_RECORDER_AWS_PYTHON").unwrap_or_else(|_| {
            panic!(
                "missing prerequisite: no AWS SDK (IVS_RECORDER_AWS_PYTHON unset); run the suite \
                 with scripts/test.sh, which installs boto3"
            )
        });
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/ivs_sdk.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg(format!("http://127.0.0.1:{port}"))
            .args([access_key, secret])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python with boto3 runs");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Self {
            child,
            stdin,
            stdout,
        }
    }

    /// Calls `operation` with `params`.
    pub fn call(&mut self, operation: &str, params: Value) -> Result<Value, SdkError> {
        let request = json!({"op": operation, "params": params});
        writeln!(self.stdin, "{request}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let answer: Value = serde_json::from_str(&line)
            .unwrap_or_else(|err| panic!("the SDK driver answered {line:?}: {err}"));
        match answer.get("ok") {
            Some(ok) => Ok(ok.clone()),
            None => {
                let error = &answer["error"];
                Err(SdkError {
                    code: error["code"].as_str().unwrap_or_default().to_owned(),
                    message: error["message"].as_str().unwrap_or_default().to_owned(),
                    status: u16::try_from(error["status"].as_u64().unwrap_or(0)).unwrap_or(0),
                })
            }
        }
    }

    /// Calls `operation`, which must succeed.
    pub fn ok(&mut self, operation: &str, params: Value) -> Value {
        self.call(operation, params)
            .unwrap_or_else(|err| panic!("{operation} failed: {err:?}"))
    }

    /// Calls `operation`, which must fail with `code` and `status`; returns the message.
    pub fn fails(&mut self, operation: &str, params: Value, code: &str, status: u16) -> String {
        match self.call(operation, params) {
            Ok(answer) => panic!("{operation} succeeded, expected {code}: {answer}"),
            Err(err) => {
                assert_eq!(
                    (err.code.as_str(), err.status),
                    (code, status),
                    "{operation}: {err:?}"
                );
                assert!(!err.message.is_empty(), "{operation}: an empty message");
                err.message
            }
        }
    }
}

impl Drop for Sdk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends one raw HTTP/1.1 request to the API on `port`; returns the status, the headers (lower
/// case) and the body.
pub fn raw_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_owned())
}

/// A syntactically valid SigV4 `Authorization` header (any key is accepted by default).
pub const SOME_SIGNATURE: &str = "AWS4-HMAC-SHA256 Credential=AKIDTEST/20261202/us-west-2/ivs/aws4_request, SignedHeaders=host, Signature=0000000000000000000000000000000000000000000000000000000000000000";
