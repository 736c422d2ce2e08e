//! TLS to PostgreSQL, with libpq's `sslmode` meanings:
//!
//! - `disable`: plain TCP;
//! - `prefer` (the default) and `require`: encrypted if the server offers
//!   TLS (`require`: or refuse), the certificate *not* checked — as libpq,
//!   this protects against eavesdropping only;
//! - `verify-ca` and `verify-full`: encrypted, and the server's certificate
//!   must chain to `sslrootcert` (a PEM file) or, without it, to the
//!   system's trusted roots, and name the host (rustls always checks the
//!   name, so `verify-ca` is as strict as `verify-full`).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::{Error, Result};

/// How the server's certificate is checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Verify {
    /// Encrypt only (`prefer`, `require`).
    #[default]
    None,
    /// Check the chain and host name (`verify-ca`, `verify-full`), against
    /// this PEM file or the system's roots.
    Full { root_cert: Option<PathBuf> },
}

/// The TLS connector for connections that verify as `verify` says.
pub fn connector(verify: &Verify) -> Result<MakeRustlsConnect> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Storage(format!("TLS set-up failed: {e}")))?;
    let config = match verify {
        Verify::None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
            .with_no_client_auth(),
        Verify::Full { root_cert } => {
            let mut roots = rustls::RootCertStore::empty();
            match root_cert {
                Some(path) => {
                    let pem = std::fs::read(path).map_err(|e| {
                        Error::Storage(format!("cannot read sslrootcert {}: {e}", path.display()))
                    })?;
                    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                        let cert = cert.map_err(|e| {
                            Error::Storage(format!(
                                "sslrootcert {} is not PEM certificates: {e}",
                                path.display()
                            ))
                        })?;
                        roots.add(cert).map_err(|e| {
                            Error::Storage(format!(
                                "sslrootcert {} holds a certificate rustls refuses: {e}",
                                path.display()
                            ))
                        })?;
                    }
                }
                None => {
                    let found = rustls_native_certs::load_native_certs();
                    for cert in found.certs {
                        let _ = roots.add(cert);
                    }
                }
            }
            if roots.is_empty() {
                return Err(Error::Storage(
                    "sslmode=verify-full needs trusted roots: give sslrootcert=FILE.pem in the URL"
                        .into(),
                ));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    Ok(MakeRustlsConnect::new(config))
}

/// Accepts any certificate but still checks the handshake's signatures:
/// libpq's `sslmode=require`.
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
