//! Sending one DynamoDB request: retries with backoff, the op timeout, and the
//! classification of what came back.
//!
//! Throttling is always retried (the request was refused, so nothing happened).
//! Transport failures are retried only for idempotent requests: a conditional
//! write or an increment whose response was lost may have been applied.

use std::error::Error as StdError;
use std::time::Duration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use rand::Rng;

use super::DynamoBackend;
use crate::KvError;
use crate::store::TableRef;

/// Error codes that mean "refused, try again later".
const THROTTLING: [&str; 6] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "TransactionConflictException",
    "TransactionInProgressException",
];
/// Error codes of server-side transient failures.
const TRANSIENT: [&str; 2] = ["InternalServerError", "ServiceUnavailable"];

/// Whether a request may be retried after a transport failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Idempotent {
    /// Repeating it changes nothing (reads, blind writes, token-guarded transactions).
    Yes,
    /// Repeating it after an unknown outcome could apply it twice.
    No,
}

/// A failed request: a modelled service error for the caller to interpret, or a final error.
pub(super) enum Failure<E> {
    /// The service answered with this error (not throttling, not transient).
    Service(E),
    /// Retries ran out, the transport failed, or the timeout passed.
    Kv(KvError),
}

/// Exponential backoff with full jitter: 25 ms doubling up to 1 s.
#[derive(Debug, Default)]
pub(super) struct Backoff {
    /// Retries taken so far.
    pub attempts: u32,
}

impl Backoff {
    /// Waits before the next retry.
    pub(super) async fn wait(&mut self) {
        let cap = Duration::from_millis(25)
            .saturating_mul(1 << self.attempts.min(6))
            .min(Duration::from_secs(1));
        self.attempts += 1;
        let jittered = rand::rng().random_range(Duration::ZERO..=cap);
        tokio::time::sleep(jittered).await;
    }
}

impl DynamoBackend {
    /// Sends a request built by `attempt`, retrying and bounding it by the op timeout.
    ///
    /// `also_retry` marks further service errors as throttling (e.g. a transaction
    /// cancelled only because of throttling).
    pub(super) async fn send<T, E, F, Fut>(
        &self,
        idempotent: Idempotent,
        also_retry: fn(&E) -> bool,
        mut attempt: F,
    ) -> Result<T, Failure<E>>
    where
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T, SdkError<E>>> + Send,
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
        T: Send,
    {
        let run = async {
            let mut backoff = Backoff::default();
            loop {
                let err = match attempt().await {
                    Ok(value) => return Ok(value),
                    Err(err) => err,
                };
                let (retry, failure) = classify(err, idempotent, also_retry);
                if !retry || backoff.attempts >= self.max_retries {
                    return Err(failure);
                }
                tracing::debug!(attempt = backoff.attempts, "retrying dynamodb request");
                backoff.wait().await;
            }
        };
        tokio::time::timeout(self.op_timeout, run)
            .await
            .unwrap_or(Err(Failure::Kv(KvError::Timeout(self.op_timeout))))
    }
}

/// Decides whether to retry and what the error is if not.
fn classify<E>(
    err: SdkError<E>,
    idempotent: Idempotent,
    also_retry: fn(&E) -> bool,
) -> (bool, Failure<E>)
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let text = DisplayErrorContext(&err).to_string();
    match err {
        SdkError::ServiceError(ctx) => {
            let code = ctx.err().code().unwrap_or_default();
            if THROTTLING.contains(&code) || also_retry(ctx.err()) {
                (true, Failure::Kv(KvError::Throttled(text)))
            } else if TRANSIENT.contains(&code) || ctx.raw().status().is_server_error() {
                (
                    idempotent == Idempotent::Yes,
                    Failure::Kv(KvError::Unavailable(text)),
                )
            } else {
                (false, Failure::Service(ctx.into_err()))
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => (
            idempotent == Idempotent::Yes,
            Failure::Kv(KvError::Unavailable(text)),
        ),
        _ => (false, Failure::Kv(KvError::Internal(text))),
    }
}

/// Never retries more than the defaults.
pub(super) fn no_extra<E>(_: &E) -> bool {
    false
}

/// Maps a service error no operation handled specially.
pub(super) fn service_error<E: ProvideErrorMetadata>(err: &E, table: Option<&TableRef>) -> KvError {
    let code = err.code().unwrap_or("Unknown");
    let message = err.message().unwrap_or_default().to_owned();
    match code {
        "ResourceNotFoundException" => match table {
            Some(t) => KvError::TableNotFound(t.name.clone()),
            None => KvError::invalid(message),
        },
        "ValidationException" | "SerializationException" => KvError::InvalidArgument(message),
        "AccessDeniedException"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "MissingAuthenticationTokenException"
        | "ExpiredTokenException" => KvError::AccessDenied(format!("{code}: {message}")),
        "ItemCollectionSizeLimitExceededException" | "LimitExceededException" => {
            KvError::Throttled(format!("{code}: {message}"))
        }
        _ => KvError::Internal(format!("{code}: {message}")),
    }
}

impl<E: ProvideErrorMetadata> Failure<E> {
    /// The final error, mapping service errors generically.
    pub(super) fn into_kv(self, table: Option<&TableRef>) -> KvError {
        match self {
            Self::Service(err) => service_error(&err, table),
            Self::Kv(err) => err,
        }
    }
}
