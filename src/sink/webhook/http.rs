//! The HTTP side of the webhook sink: the client (rustls with ring, always),
//! credentials, one POST, and what its answer means.
//!
//! **TLS.** reqwest is built without a TLS provider of its own and handed a
//! rustls `ClientConfig` made here with ring explicitly, so the process
//! default provider (kev installs ring at start, for kube) is never
//! consulted and two providers can never meet. Verification is on by
//! default against the system's roots plus `tls.caFile`; with
//! `insecureSkipVerify` any certificate is accepted (signatures are still
//! checked) and a warning says so.
//!
//! **Secrets.** Tokens and passwords come from an environment variable or a
//! file, never from the command line or the config text. They are held in
//! [`Secret`] (whose `Debug` prints `<redacted>`), sent in headers marked
//! sensitive, and never logged; neither is the URL past its host, since a
//! Slack or Teams webhook URL is itself a credential. A token file is
//! re-read when it changes (projected service-account tokens rotate).
//!
//! **Answers.** 2xx is delivered; connection errors, timeouts, 408, 429 and
//! 5xx are worth retrying (with the server's `Retry-After`, seconds or an
//! HTTP date); 413 is too large (the caller splits the batch); any other
//! status is permanent. Redirects are not followed: reqwest would turn a
//! POST into a GET on 301/302, so a redirect is reported as permanent.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// A credential; its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap `value`.
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The value, for building a header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where a credential comes from.
#[derive(Debug)]
pub(crate) enum SecretSource {
    /// Read once from an environment variable.
    Env(Secret),
    /// Read from a file, again whenever the file changes.
    File {
        path: PathBuf,
        cached: Mutex<(Option<SystemTime>, Secret)>,
    },
}

impl SecretSource {
    /// From the environment variable `var`: set and not empty.
    pub fn env(var: &str) -> Result<SecretSource, String> {
        match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(SecretSource::Env(Secret(v.trim().to_string()))),
            Ok(_) => Err(format!("environment variable {var} is empty")),
            Err(_) => Err(format!("environment variable {var} is not set")),
        }
    }

    /// From `path`: readable and not empty.
    pub fn file(path: &Path) -> Result<SecretSource, String> {
        let (mtime, secret) = read_secret_file(path)?;
        Ok(SecretSource::File {
            path: path.to_path_buf(),
            cached: Mutex::new((mtime, secret)),
        })
    }

    /// The current value.
    pub fn get(&self) -> Secret {
        match self {
            SecretSource::Env(s) => s.clone(),
            SecretSource::File { path, cached } => {
                let mut cached = cached.lock().unwrap_or_else(|p| p.into_inner());
                let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
                if mtime.is_some() && mtime != cached.0 {
                    match read_secret_file(path) {
                        Ok(fresh) => *cached = fresh,
                        // Keep the last good value; the next request tries again.
                        Err(e) => tracing::warn!(error = %e, "cannot re-read a credential file"),
                    }
                }
                cached.1.clone()
            }
        }
    }
}

fn read_secret_file(path: &Path) -> Result<(Option<SystemTime>, Secret), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value = text.trim();
    if value.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    Ok((mtime, Secret(value.to_string())))
}

/// How requests authenticate.
#[derive(Debug)]
pub(crate) enum Auth {
    /// `Authorization: <scheme> <token>` (`Bearer`, `Splunk`, `ApiKey`).
    Token { scheme: String, token: SecretSource },
    /// `Authorization: Basic base64(user:password)`.
    Basic {
        username: String,
        password: SecretSource,
    },
}

impl Auth {
    fn header(&self) -> Option<HeaderValue> {
        let text = match self {
            Auth::Token { scheme, token } => format!("{scheme} {}", token.get().expose()),
            Auth::Basic { username, password } => {
                let raw = format!("{username}:{}", password.get().expose());
                format!("Basic {}", base64(raw.as_bytes()))
            }
        };
        let mut v = HeaderValue::from_str(&text).ok()?;
        v.set_sensitive(true);
        Some(v)
    }
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ABC[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The URL as logs may show it: scheme, host and port only.
pub(crate) fn url_for_logs(url: &reqwest::Url) -> String {
    let mut s = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        s.push_str(&format!(":{port}"));
    }
    if url.path() != "/" || url.query().is_some() {
        s.push_str("/…");
    }
    s
}

/// The rustls client configuration: ring, verification per `tls`.
pub(crate) fn tls_config(
    ca_file: Option<&Path>,
    insecure_skip_verify: bool,
    https: bool,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let mut config = if insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        // Plain http needs no roots; reqwest still wants a TLS configuration.
        if https {
            let native = rustls_native_certs::load_native_certs();
            for e in &native.errors {
                tracing::debug!(error = %e, "a system CA certificate was not loaded");
            }
            let (_added, _ignored) = roots.add_parsable_certificates(native.certs);
        }
        if let Some(path) = ca_file {
            for cert in read_ca_file(path)? {
                roots
                    .add(cert)
                    .map_err(|e| format!("tls.caFile {}: {e}", path.display()))?;
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The certificates of a PEM file (at least one).
pub(crate) fn read_ca_file(
    path: &Path,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let bytes = std::fs::read(path).map_err(|e| format!("tls.caFile {}: {e}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("tls.caFile {}: not PEM certificates: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "tls.caFile {}: no PEM certificate in it",
            path.display()
        ));
    }
    Ok(certs)
}

/// `insecureSkipVerify`: any certificate for any name, signatures still
/// checked so the handshake itself is sound.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
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
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The HTTP client for one sink.
pub(crate) fn client(
    tls: rustls::ClientConfig,
    timeout: Duration,
) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("kev/", env!("CARGO_PKG_VERSION")))
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(50))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {}", one_line(&e)))
}

/// Where and how a sink posts.
pub(crate) struct Endpoint {
    pub client: reqwest::Client,
    pub url: reqwest::Url,
    /// `url_for_logs(url)`.
    pub log_url: String,
    /// The configured headers (`Content-Type` among them if set).
    pub headers: HeaderMap,
    pub auth: Option<Auth>,
}

impl std::fmt::Debug for Endpoint {
    /// The URL past its host and header values may be credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<&str> = self.headers.keys().map(|k| k.as_str()).collect();
        f.debug_struct("Endpoint")
            .field("url", &self.log_url)
            .field("headers", &headers)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// What a POST came to.
#[derive(Debug)]
pub(crate) enum Answer {
    /// 2xx, with the response body (read for `_bulk`).
    Delivered { body: Vec<u8> },
    /// Worth trying again: after `after` if the server said.
    Retry {
        why: String,
        after: Option<Duration>,
    },
    /// 413: the body is too large for the server.
    TooLarge { why: String },
    /// Refused for good.
    Permanent { status: u16, why: String },
}

/// How much of an error response a message quotes.
const BODY_IN_MESSAGE: usize = 300;

impl Endpoint {
    /// POST `body`, with `Content-Type: content_type` (unless the
    /// configured headers set one) and `Idempotency-Key`.
    pub async fn post(
        &self,
        body: Vec<u8>,
        content_type: &'static str,
        idempotency_key: &str,
        read_body: bool,
    ) -> Answer {
        let mut headers = self.headers.clone();
        if !headers.contains_key(reqwest::header::CONTENT_TYPE) {
            headers.insert(
                reqwest::header::CONTENT_TYPE,
                HeaderValue::from_static(content_type),
            );
        }
        // Keys are percent-encoded or hex: always a valid header value.
        if let Ok(v) = HeaderValue::from_str(idempotency_key) {
            headers.insert(HeaderName::from_static("idempotency-key"), v);
        }
        if let Some(v) = self.auth.as_ref().and_then(Auth::header) {
            headers.insert(reqwest::header::AUTHORIZATION, v);
        }
        match self
            .client
            .post(self.url.clone())
            .headers(headers)
            .body(body)
            .build()
        {
            Ok(req) => self.execute(req, read_body).await,
            Err(e) => Answer::Permanent {
                status: 0,
                why: format!("cannot build the request: {}", one_line(&e.without_url())),
            },
        }
    }

    async fn execute(&self, req: reqwest::Request, read_body: bool) -> Answer {
        let res = match self.client.execute(req).await {
            Ok(res) => res,
            Err(e) => {
                let kind = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "cannot connect"
                } else {
                    "request failed"
                };
                return Answer::Retry {
                    why: format!("{kind}: {}", one_line(&e.without_url())),
                    after: None,
                };
            }
        };
        let status = res.status().as_u16();
        let retry_after = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let success = res.status().is_success();
        let body = if success && !read_body {
            Vec::new()
        } else {
            match res.bytes().await {
                Ok(b) => b.to_vec(),
                Err(e) if success => {
                    // Delivered, but the per-item results are unknown: the
                    // same as a failure for `_bulk`, harmless otherwise.
                    return Answer::Retry {
                        why: format!(
                            "{status}, but the response was cut: {}",
                            one_line(&e.without_url())
                        ),
                        after: None,
                    };
                }
                Err(_) => Vec::new(),
            }
        };
        if success {
            return Answer::Delivered { body };
        }
        let why = format!("{status}{}", excerpt(&body));
        match status {
            408 | 429 | 500..=599 => Answer::Retry {
                why,
                after: retry_after,
            },
            413 => Answer::TooLarge { why },
            300..=399 => Answer::Permanent {
                status,
                why: format!("{why} (redirects are not followed: set url to where it points)"),
            },
            _ => Answer::Permanent { status, why },
        }
    }
}

/// `: <the start of the body>`, on one line, or nothing.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let mut short: String = text
        .chars()
        .take(BODY_IN_MESSAGE)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if short.len() < text.len() {
        short.push('…');
    }
    format!(": {short}")
}

/// `Retry-After`: delay-seconds or an HTTP date (RFC 9110), as a wait from now.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let wait = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// An error and its causes on one line.
pub(crate) fn one_line(err: &dyn std::error::Error) -> String {
    crate::client::one_line(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        let later = (chrono::Utc::now() + chrono::TimeDelta::seconds(30))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let wait = parse_retry_after(&later).unwrap();
        assert!(
            wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO),
            "a date in the past is no wait"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn base64_as_rfc4648() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("Aladdin:open sesame", "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let s = Secret::new("hunter2".into());
        assert_eq!(format!("{s:?}"), "<redacted>");
        let auth = Auth::Token {
            scheme: "Bearer".into(),
            token: SecretSource::Env(Secret::new("hunter2".into())),
        };
        assert!(!format!("{auth:?}").contains("hunter2"));
    }

    #[test]
    fn urls_in_logs_stop_at_the_host() {
        let url: reqwest::Url = "https://hooks.slack.com/services/T000/B000/XXXX?x=1"
            .parse()
            .unwrap();
        assert_eq!(url_for_logs(&url), "https://hooks.slack.com/…");
        let url: reqwest::Url = "http://user:pw@127.0.0.1:9200/".parse().unwrap();
        assert_eq!(url_for_logs(&url), "http://127.0.0.1:9200");
    }
}
