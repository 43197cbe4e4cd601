//! RTMPS: the TLS acceptor (rustls) built from a PEM certificate chain and private key, as IVS
//! ingests over `rtmps://<host>:443/app/<streamKey>`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

/// Why the certificate or key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file holds no usable certificate.
    #[error("cannot read a PEM certificate chain from {}: {why}", path.display())]
    Certificate {
        /// The file given.
        path: PathBuf,
        /// What was wrong.
        why: String,
    },
    /// The key file holds no usable private key.
    #[error("cannot read a PEM private key from {}: {why}", path.display())]
    Key {
        /// The file given.
        path: PathBuf,
        /// What was wrong.
        why: String,
    },
    /// rustls refused the pair.
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Config(String),
}

/// A TLS acceptor for `cert` (PEM chain) and `key` (PEM private key).
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|err| TlsError::Certificate {
            path: cert.to_owned(),
            why: err.to_string(),
        })?;
    if certificates.is_empty() {
        return Err(TlsError::Certificate {
            path: cert.to_owned(),
            why: "no CERTIFICATE block".to_owned(),
        });
    }
    let private_key = PrivateKeyDer::from_pem_file(key).map_err(|err| TlsError::Key {
        path: key.to_owned(),
        why: err.to_string(),
    })?;
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certificates, private_key)
        .map_err(|err| TlsError::Config(err.to_string()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_empty_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let Err(err) = acceptor(&empty, &empty) else {
            panic!("an empty file is not a certificate");
        };
        assert!(
            err.to_string().starts_with(&format!(
                "cannot read a PEM certificate chain from {}",
                empty.display()
            )),
            "{err}"
        );
        let missing = dir.path().join("missing.pem");
        assert!(matches!(
            acceptor(&missing, &empty),
            Err(TlsError::Certificate { .. })
        ));
    }
}
