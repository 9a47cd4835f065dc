//! Who may use the admin API: users whose access token (checked by the
//! shared verifier) carries the `operator` role, or the break-glass operator
//! token. Each request learns its [`Actor`], which the audit trail records.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chatflow_authn::{AuthnError, Operator, OperatorToken, Role, TokenVerifier};

/// Both ways into the admin API.
#[derive(Clone, Debug)]
pub struct AdminAuth {
    token: OperatorToken,
    verifier: Option<TokenVerifier>,
}

impl AdminAuth {
    /// The operator token, and the verifier for operators' access tokens if any.
    pub fn new(token: OperatorToken, verifier: Option<TokenVerifier>) -> Self {
        Self { token, verifier }
    }
}

/// Who made an admin request, as the audit trail names them: `operator`
/// for the operator token, `user:<id>` for an operator's access token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor(pub String);

/// The audit name of requests made with the operator token.
pub const TOKEN_ACTOR: &str = "operator";

/// Admits the operator token or an access token with the `operator` role.
pub async fn require_operator(
    State(auth): State<AdminAuth>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = match request.headers().get(http::header::AUTHORIZATION) {
        None => return deny(AuthnError::MissingToken),
        Some(value) => match value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) {
            Some(token) => token.trim().to_owned(),
            None => {
                return deny(AuthnError::Malformed(
                    "expected `Authorization: Bearer <token>`".into(),
                ));
            }
        },
    };
    let actor = if auth.token.matches(&presented) {
        TOKEN_ACTOR.to_owned()
    } else {
        let Some(verifier) = &auth.verifier else {
            return deny(AuthnError::Malformed(
                "not the operator token (access tokens are not accepted here)".into(),
            ));
        };
        match verifier.verify(&presented).await {
            Ok(user) => match user.require_role(Operator::NAME) {
                Ok(()) => format!("user:{}", user.user_id),
                Err(err) => return deny(err),
            },
            Err(err) => return deny(err),
        }
    };
    request.extensions_mut().insert(Actor(actor));
    next.run(request).await
}

/// The shared error body and `WWW-Authenticate` challenge, counted.
fn deny(err: AuthnError) -> Response {
    metrics::counter!(crate::metrics::AUTH_FAILURES).increment(1);
    err.into_response()
}
