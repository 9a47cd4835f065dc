//! Service-to-service identity for internal gRPC calls.
//!
//! Each call carries `x-chatflow-service: <name>.<unix-ms>.<sig>`, where
//! `sig` is base64url(HMAC-SHA256(internal secret, `"chatflow-service-v1." +
//! name + "." + unix-ms`)). The callee recomputes the MAC, compares in
//! constant time and refuses assertions more than 60 s from its clock, then
//! knows which service is calling.
//!
//! Why: there is no internal PKI yet, and every service already shares the
//! config-delivered internal secret. Limits: anyone holding the secret can
//! claim any name, and an assertion can be replayed within its minute (the
//! network must stay private). Upgrade path: mTLS with per-service
//! certificates (e.g. a private CA or a service mesh), the name taken from
//! the certificate SAN; the interceptors keep their shape, so callers and
//! handlers do not change.

use std::time::Duration;

use chatflow_runtime::clock::now_ms;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chatflow_runtime::Secret;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tonic::Status;
use tonic::metadata::MetadataValue;

use crate::AuthnError;

/// The metadata key carrying the assertion.
pub const SERVICE_IDENTITY_HEADER: &str = "x-chatflow-service";
/// How far an assertion's timestamp may be from the callee's clock.
pub const MAX_IDENTITY_AGE: Duration = Duration::from_secs(60);
/// Shortest internal secret accepted (256 bits of key material).
pub const MIN_SECRET_BYTES: usize = 32;
/// Longest assertion parsed: name (≤ 64) + timestamp + signature, with room.
const MAX_ASSERTION_BYTES: usize = 256;
/// Separates these MACs from any other use of the same secret.
const DOMAIN: &[u8] = b"chatflow-service-v1.";

/// This service's name and the internal secret: signs and checks assertions.
#[derive(Clone)]
pub struct ServiceIdentity {
    name: String,
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for ServiceIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceIdentity")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl ServiceIdentity {
    /// `name` is the service's `[a-z0-9-]{1,64}` name (e.g. `message-router`);
    /// `secret` must be at least [`MIN_SECRET_BYTES`] bytes.
    pub fn new(name: &str, secret: &Secret<String>) -> Result<Self, AuthnError> {
        if !valid_name(name) {
            return Err(AuthnError::InvalidConfig(format!(
                "service name {name:?} must be 1-64 of [a-z0-9-]"
            )));
        }
        if secret.expose().len() < MIN_SECRET_BYTES {
            return Err(AuthnError::InvalidConfig(format!(
                "internal secret must be at least {MIN_SECRET_BYTES} bytes"
            )));
        }
        let mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
            .map_err(|e| AuthnError::InvalidConfig(e.to_string()))?;
        Ok(Self {
            name: name.to_owned(),
            mac,
        })
    }

    /// This service's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// An assertion for a call made now.
    pub fn assertion(&self) -> String {
        self.assertion_at(now_ms())
    }

    /// An assertion stamped `unix_ms` (tests use it to forge old ones).
    pub fn assertion_at(&self, unix_ms: i64) -> String {
        let signature =
            URL_SAFE_NO_PAD.encode(self.keyed(&self.name, unix_ms).finalize().into_bytes());
        format!("{}.{unix_ms}.{signature}", self.name)
    }

    /// The calling service's name if `assertion` is authentic and fresh.
    pub fn verify(&self, assertion: &str) -> Result<String, AuthnError> {
        self.verify_at(assertion, now_ms())
    }

    /// [`Self::verify`] against a given clock reading.
    pub fn verify_at(&self, assertion: &str, now_unix_ms: i64) -> Result<String, AuthnError> {
        let invalid = |why: &str| AuthnError::InvalidServiceIdentity(why.to_owned());
        if assertion.len() > MAX_ASSERTION_BYTES {
            return Err(invalid("assertion is too long"));
        }
        let mut parts = assertion.split('.');
        let (Some(name), Some(stamp), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid("expected <name>.<unix-ms>.<signature>"));
        };
        let stamp_ok =
            !stamp.is_empty() && stamp.len() <= 15 && stamp.bytes().all(|b| b.is_ascii_digit());
        let unix_ms: i64 = match stamp.parse() {
            Ok(ms) if stamp_ok && valid_name(name) => ms,
            _ => return Err(invalid("expected <name>.<unix-ms>.<signature>")),
        };
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| invalid("signature is not base64url"))?;
        // `verify_slice` compares in constant time.
        self.keyed(name, unix_ms)
            .verify_slice(&signature)
            .map_err(|_| invalid("bad signature"))?;
        let max_age_ms = u64::try_from(MAX_IDENTITY_AGE.as_millis()).unwrap_or(u64::MAX);
        if now_unix_ms.abs_diff(unix_ms) > max_age_ms {
            return Err(invalid("assertion is stale or from the future"));
        }
        Ok(name.to_owned())
    }

    /// A tonic client interceptor adding this service's assertion to each call.
    pub fn client_interceptor(&self) -> ServiceIdentityInterceptor {
        ServiceIdentityInterceptor(self.clone())
    }

    /// A tonic server interceptor that admits only calls with a valid
    /// assertion and records the caller as [`CallingService`].
    pub fn server_interceptor(&self) -> RequireServiceIdentity {
        RequireServiceIdentity(self.clone())
    }

    /// The MAC state after absorbing what an assertion for `name` at `unix_ms` signs.
    fn keyed(&self, name: &str, unix_ms: i64) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(DOMAIN);
        mac.update(format!("{name}.{unix_ms}").as_bytes());
        mac
    }
}

/// The service that made an internal call, in the request extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallingService(pub String);

/// Client side: adds `x-chatflow-service` to every outgoing call.
#[derive(Debug, Clone)]
pub struct ServiceIdentityInterceptor(ServiceIdentity);

impl tonic::service::Interceptor for ServiceIdentityInterceptor {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        let value = MetadataValue::try_from(self.0.assertion())
            .map_err(|_| Status::internal("service assertion is not valid metadata"))?;
        request
            .metadata_mut()
            .insert(SERVICE_IDENTITY_HEADER, value);
        Ok(request)
    }
}

/// Server side: rejects calls without a valid assertion (`UNAUTHENTICATED`)
/// and inserts [`CallingService`] into the request extensions.
#[derive(Debug, Clone)]
pub struct RequireServiceIdentity(ServiceIdentity);

impl RequireServiceIdentity {
    /// The calling service of `request`, checked now.
    pub fn check<T>(&self, request: &tonic::Request<T>) -> Result<CallingService, AuthnError> {
        let assertion = request
            .metadata()
            .get(SERVICE_IDENTITY_HEADER)
            .ok_or_else(|| {
                AuthnError::InvalidServiceIdentity(format!("missing {SERVICE_IDENTITY_HEADER}"))
            })?
            .to_str()
            .map_err(|_| AuthnError::InvalidServiceIdentity("assertion is not ASCII".into()))?;
        self.0.verify(assertion).map(CallingService)
    }
}

impl tonic::service::Interceptor for RequireServiceIdentity {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        match self.check(&request) {
            Ok(caller) => {
                request.extensions_mut().insert(caller);
                Ok(request)
            }
            Err(err) => Err(chatflow_runtime::grpc::to_status(
                &crate::metrics::rejected(err),
            )),
        }
    }
}

/// The caller recorded by [`RequireServiceIdentity`], if any.
pub fn calling_service<T>(request: &tonic::Request<T>) -> Option<&CallingService> {
    request.extensions().get::<CallingService>()
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
