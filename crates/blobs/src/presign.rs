//! URLs that ChatFlow signs and serves itself for the `file://` backend.
//!
//! A URL is `{base}/blobs/{token}?method=…&expires=…[&content-type=…][&content-length=…]&sig=…`
//! where `token` is the key in base64url and `sig` is the hex HMAC-SHA256,
//! under the store's secret, of the method, the full key (key prefix
//! included), the expiry and the constraints. Changing any of them, or using
//! the URL with another store prefix or secret, breaks the signature.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use http::{Method, StatusCode};
use sha2::Sha256;

use crate::key::{KeySpace, is_unreserved, percent_encode};
use crate::{BlobError, PresignConstraints, PresignedRequest};

type HmacSha256 = Hmac<Sha256>;

/// Signs and verifies the presigned URLs of a `file://` store; built by
/// [`connect`](crate::connect) and used by [`presigned_router`](crate::presigned_router).
pub struct UrlSigner {
    secret: Vec<u8>,
    base_url: Option<String>,
    keys: KeySpace,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlSigner")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// A request whose URL verified: what it may do.
#[derive(Debug)]
pub(crate) struct Authorized {
    /// The caller's key (without the store prefix).
    pub key: String,
    /// The signed upload constraints.
    pub constraints: PresignConstraints,
}

/// Why a presigned request is refused, as the router answers it.
#[derive(Debug)]
pub(crate) struct Rejection {
    /// 400 for a malformed URL, 403 for a forged, expired or misused one.
    pub status: StatusCode,
    /// A sentence for the client.
    pub message: String,
}

impl UrlSigner {
    /// A signer for `base_url` with `secret`, or a random secret when `None`.
    pub(crate) fn new(
        secret: Option<&str>,
        base_url: Option<&str>,
        keys: KeySpace,
    ) -> Result<Self, BlobError> {
        let secret = match secret {
            Some(s) if s.len() < 16 => {
                return Err(BlobError::InvalidConfig(
                    "presign_secret must be at least 16 bytes".into(),
                ));
            }
            Some(s) => s.as_bytes().to_vec(),
            None => rand::random::<[u8; 32]>().to_vec(),
        };
        let base_url = base_url.map(|b| b.trim_end_matches('/').to_owned());
        if let Some(base) = &base_url
            && !(base.starts_with("http://") || base.starts_with("https://"))
        {
            return Err(BlobError::InvalidConfig(format!(
                "presign_base_url {base:?} must be an http(s) URL"
            )));
        }
        Ok(Self {
            secret,
            base_url,
            keys,
        })
    }

    /// A URL for `method` on `key`, valid for `expires_in`.
    pub(crate) fn sign(
        &self,
        method: Method,
        key: &str,
        expires_in: Duration,
        constraints: PresignConstraints,
    ) -> Result<PresignedRequest, BlobError> {
        let full = self.keys.full(key)?;
        crate::key::validate_expiry(expires_in)?;
        crate::key::validate_constraints(&constraints)?;
        let Some(base) = &self.base_url else {
            return Err(BlobError::InvalidConfig(
                "presign_base_url is required to presign file:// urls".into(),
            ));
        };
        let expires_at = SystemTime::now() + expires_in;
        let expires = unix_seconds(expires_at).saturating_add(1);
        let sig = self.signature(&method, &full, expires, &constraints);
        let mut url = format!(
            "{base}/blobs/{}?method={method}&expires={expires}",
            URL_SAFE_NO_PAD.encode(key)
        );
        let mut headers = BTreeMap::new();
        if let Some(content_type) = &constraints.content_type {
            let encoded = percent_encode(content_type, |_, b| is_unreserved(b));
            url.push_str(&format!("&content-type={encoded}"));
            headers.insert("content-type".to_owned(), content_type.clone());
        }
        if let Some(length) = constraints.content_length {
            url.push_str(&format!("&content-length={length}"));
            headers.insert("content-length".to_owned(), length.to_string());
        }
        url.push_str(&format!("&sig={sig}"));
        Ok(PresignedRequest {
            method,
            url,
            headers,
            expires_at: UNIX_EPOCH + Duration::from_secs(expires),
        })
    }

    /// Checks a request for `token` with the decoded `query`, made with `method`.
    pub(crate) fn verify(
        &self,
        method: &Method,
        token: &str,
        query: &HashMap<String, String>,
    ) -> Result<Authorized, Rejection> {
        let param = |name: &str| query.get(name).map(String::as_str);
        let (Some(signed_method), Some(expires), Some(sig)) =
            (param("method"), param("expires"), param("sig"))
        else {
            return Err(reject(
                StatusCode::BAD_REQUEST,
                "malformed presigned url: method, expires and sig are required",
            ));
        };
        let expires: u64 = expires.parse().map_err(|_| {
            reject(
                StatusCode::BAD_REQUEST,
                "malformed presigned url: bad expires",
            )
        })?;
        let constraints = PresignConstraints {
            content_type: param("content-type").map(str::to_owned),
            content_length: match param("content-length") {
                None => None,
                Some(n) => Some(n.parse().map_err(|_| {
                    reject(
                        StatusCode::BAD_REQUEST,
                        "malformed presigned url: bad content-length",
                    )
                })?),
            },
        };
        let forged = || reject(StatusCode::FORBIDDEN, "signature does not match this url");
        let key = URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(forged)?;
        let full = self.keys.full(&key).map_err(|_| forged())?;
        let signed_method = Method::from_bytes(signed_method.as_bytes()).map_err(|_| forged())?;
        let sig = hex::decode(sig).map_err(|_| forged())?;
        let mac = self.mac(&signed_method, &full, expires, &constraints);
        // `verify_slice` compares in constant time.
        mac.verify_slice(&sig).map_err(|_| forged())?;
        if signed_method != method {
            return Err(reject(
                StatusCode::FORBIDDEN,
                &format!("this url is signed for {signed_method}, not {method}"),
            ));
        }
        if unix_seconds(SystemTime::now()) >= expires {
            return Err(reject(StatusCode::FORBIDDEN, "this url has expired"));
        }
        Ok(Authorized { key, constraints })
    }

    fn signature(
        &self,
        method: &Method,
        full_key: &str,
        expires: u64,
        constraints: &PresignConstraints,
    ) -> String {
        hex::encode(
            self.mac(method, full_key, expires, constraints)
                .finalize()
                .into_bytes(),
        )
    }

    /// The MAC over the canonical string; keys and content types hold no
    /// control characters, so newlines separate the fields unambiguously.
    fn mac(
        &self,
        method: &Method,
        full_key: &str,
        expires: u64,
        constraints: &PresignConstraints,
    ) -> HmacSha256 {
        let canonical = format!(
            "chatflow-blobs-v1\n{method}\n{full_key}\n{expires}\n{}\n{}",
            constraints.content_type.as_deref().unwrap_or_default(),
            constraints
                .content_length
                .map(|n| n.to_string())
                .unwrap_or_default(),
        );
        let mut mac =
            HmacSha256::new_from_slice(&self.secret).expect("HMAC accepts keys of any length");
        mac.update(canonical.as_bytes());
        mac
    }
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn reject(status: StatusCode, message: &str) -> Rejection {
    Rejection {
        status,
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> UrlSigner {
        let keys = KeySpace::new(Some("p/")).unwrap();
        UrlSigner::new(Some("unit-test-secret-0123"), Some("http://h/"), keys).unwrap()
    }

    /// The token and decoded query of a presigned URL.
    fn parts(url: &str) -> (String, HashMap<String, String>) {
        let (path, query) = url.split_once('?').unwrap();
        let token = path.rsplit('/').next().unwrap().to_owned();
        let query = query
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap();
                (k.to_owned(), v.replace("%2F", "/"))
            })
            .collect();
        (token, query)
    }

    #[test]
    fn signed_urls_verify_and_carry_their_constraints() {
        let constraints = PresignConstraints {
            content_type: Some("image/png".into()),
            content_length: Some(42),
        };
        let signed = signer()
            .sign(
                Method::PUT,
                "a/b c",
                Duration::from_secs(60),
                constraints.clone(),
            )
            .unwrap();
        assert!(signed.url.starts_with("http://h/blobs/"), "{}", signed.url);
        let (token, query) = parts(&signed.url);
        let call = signer().verify(&Method::PUT, &token, &query).unwrap();
        assert_eq!(
            (call.key.as_str(), call.constraints),
            ("a/b c", constraints)
        );
    }

    #[test]
    fn changing_any_signed_field_is_forbidden() {
        let constraints = PresignConstraints {
            content_type: Some("image/png".into()),
            content_length: Some(42),
        };
        let signed = signer()
            .sign(Method::PUT, "k", Duration::from_secs(60), constraints)
            .unwrap();
        let (token, query) = parts(&signed.url);
        for (field, value) in [
            ("method", "GET"),
            ("expires", "99999999999"),
            ("content-type", "text/html"),
            ("content-length", "43"),
        ] {
            let mut forged = query.clone();
            forged.insert(field.to_owned(), value.to_owned());
            let rejection = signer().verify(&Method::PUT, &token, &forged).unwrap_err();
            assert_eq!(rejection.status, StatusCode::FORBIDDEN, "{field}");
        }
        let other_key = URL_SAFE_NO_PAD.encode("j");
        let rejection = signer()
            .verify(&Method::PUT, &other_key, &query)
            .unwrap_err();
        assert_eq!(rejection.status, StatusCode::FORBIDDEN);
    }

    #[test]
    fn expired_urls_are_forbidden() {
        let signer = signer();
        let expires = unix_seconds(SystemTime::now()) - 1;
        let constraints = PresignConstraints::default();
        let sig = signer.signature(&Method::GET, "p/k", expires, &constraints);
        let query = HashMap::from([
            ("method".to_owned(), "GET".to_owned()),
            ("expires".to_owned(), expires.to_string()),
            ("sig".to_owned(), sig),
        ]);
        let token = URL_SAFE_NO_PAD.encode("k");
        let rejection = signer.verify(&Method::GET, &token, &query).unwrap_err();
        assert_eq!(rejection.status, StatusCode::FORBIDDEN);
        assert!(rejection.message.contains("expired"));
    }
}
