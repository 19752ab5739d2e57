//! TLS to PostgreSQL, with libpq's names and meanings, over rustls (ring): `sslmode` in the URL
//! is `disable`, `prefer` (the default: encrypted when the server offers it, the certificate
//! not checked), `require` (encrypted or no connection; the certificate checked against
//! `sslrootcert` when one is given, as libpq does), `verify-ca` (the chain checked) or
//! `verify-full` (the chain and the host name). The roots are the PEM file `sslrootcert`
//! names, or the system's (`sslrootcert=system`, or none given with `verify-*`).
//!
//! tokio-postgres knows only `disable`, `prefer` and `require` and no `sslrootcert`, so both
//! are taken out of the URL here and become the connector's verifier.

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// What `sslmode` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl TlsMode {
    fn parse(value: &str) -> Result<Self, String> {
        Ok(match value {
            "disable" => TlsMode::Disable,
            "allow" | "prefer" => TlsMode::Prefer,
            "require" => TlsMode::Require,
            "verify-ca" => TlsMode::VerifyCa,
            "verify-full" => TlsMode::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode={other} is not one of disable, prefer, require, verify-ca, verify-full"
                ));
            }
        })
    }
}

/// How connections are made: tokio-postgres's settings and the TLS connector.
pub struct Connection {
    pub config: tokio_postgres::Config,
    pub tls: MakeRustlsConnect,
}

/// Reads `url` (a `postgres://` URL, or libpq's `key=value` form, which keeps tokio-postgres's
/// own `sslmode` values); the error says what is wrong without the password.
pub fn connection(url: &str) -> Result<Connection, String> {
    let (url, mode, root) = take_tls_parameters(url)?;
    let mut config: tokio_postgres::Config = url.parse().map_err(|error| format!("{error}"))?;
    config.ssl_mode(match mode {
        TlsMode::Disable => SslMode::Disable,
        TlsMode::Prefer => SslMode::Prefer,
        TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
    });
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = verifier(mode, root.as_deref(), provider.clone())?;
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("TLS: {error}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Connection {
        config,
        tls: MakeRustlsConnect::new(client),
    })
}

/// `url` without `sslmode` and `sslrootcert`, and what they said.
fn take_tls_parameters(url: &str) -> Result<(String, TlsMode, Option<String>), String> {
    let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
    if !is_url {
        // libpq's `key=value` form: tokio-postgres reads `sslmode` (disable/prefer/require).
        let mode = url
            .split_whitespace()
            .find_map(|pair| pair.strip_prefix("sslmode="))
            .map_or(Ok(TlsMode::Prefer), TlsMode::parse)?;
        if matches!(mode, TlsMode::VerifyCa | TlsMode::VerifyFull) {
            return Err("sslmode=verify-* needs the postgres:// URL form".into());
        }
        return Ok((url.to_string(), mode, None));
    }
    let mut parsed = url::Url::parse(url).map_err(|error| format!("{error}"))?;
    let mut mode = TlsMode::Prefer;
    let mut root = None;
    let mut kept = Vec::new();
    for (key, value) in parsed.query_pairs() {
        match key.as_ref() {
            "sslmode" => mode = TlsMode::parse(&value)?,
            "sslrootcert" => root = Some(value.into_owned()),
            _ => kept.push((key.into_owned(), value.into_owned())),
        }
    }
    if kept.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(kept);
    }
    Ok((parsed.to_string(), mode, root))
}

/// The certificate check of `mode`, with the roots of `root` (a PEM file, or `system`).
fn verifier(
    mode: TlsMode,
    root: Option<&str>,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, String> {
    let algorithms = provider.signature_verification_algorithms;
    let checked_chain: Arc<dyn ServerCertVerifier> = match root {
        Some(path) if path != "system" => {
            let mut roots = RootCertStore::empty();
            let certificates = CertificateDer::pem_file_iter(path)
                .map_err(|error| format!("sslrootcert={path}: {error}"))?;
            for certificate in certificates {
                let certificate =
                    certificate.map_err(|error| format!("sslrootcert={path}: {error}"))?;
                roots
                    .add(certificate)
                    .map_err(|error| format!("sslrootcert={path}: {error}"))?;
            }
            if roots.is_empty() {
                return Err(format!("sslrootcert={path} holds no certificate"));
            }
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|error| format!("sslrootcert={path}: {error}"))?
        }
        _ => Arc::new(
            rustls_platform_verifier::Verifier::new(provider)
                .map_err(|error| format!("the system's root certificates: {error}"))?,
        ),
    };
    Ok(match (mode, root) {
        // libpq checks nothing for these unless a root file is given to `require`.
        (TlsMode::Disable | TlsMode::Prefer, _) | (TlsMode::Require, None) => {
            Arc::new(EncryptedOnly { algorithms })
        }
        (TlsMode::Require | TlsMode::VerifyCa, _) => Arc::new(AnyName {
            inner: checked_chain,
        }),
        (TlsMode::VerifyFull, _) => checked_chain,
    })
}

/// Encrypts without checking who the server is (libpq's `prefer` and `require`): the
/// handshake's signatures are still checked, so the session key is the certificate's.
#[derive(Debug)]
struct EncryptedOnly {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for EncryptedOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain is checked, the host name is not.
#[derive(Debug)]
struct AnyName {
    inner: Arc<dyn ServerCertVerifier>,
}

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
