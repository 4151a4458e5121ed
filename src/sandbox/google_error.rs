//! Errors in the shape Google's APIs send them:
//! `{"error": {"code", "message", "status", "errors": [{"reason", "message", "domain"}]}}`.

/// One Google API error, ready to be sent as a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GoogleErrorBody {
    /// The HTTP status, repeated as `error.code`.
    pub(crate) code: u16,
    /// `error.message`.
    pub(crate) message: String,
    /// `error.status`, the canonical gRPC status name such as `NOT_FOUND`.
    pub(crate) status: &'static str,
    /// `error.errors[0].reason`, such as `notFound`.
    pub(crate) reason: &'static str,
}

impl GoogleErrorBody {
    /// 400 `INVALID_ARGUMENT` / `invalid`.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self {
            code: 400,
            message: message.into(),
            status: "INVALID_ARGUMENT",
            reason: "invalid",
        }
    }

    /// 401 `UNAUTHENTICATED` / `authError`, with Google's wording.
    pub(crate) fn unauthorized() -> Self {
        Self {
            code: 401,
            message: "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.".to_owned(),
            status: "UNAUTHENTICATED",
            reason: "authError",
        }
    }

    /// 403 `PERMISSION_DENIED` / `forbidden`, as Google sends for a `userId` other than the
    /// token's own account.
    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self {
            code: 403,
            message: message.into(),
            status: "PERMISSION_DENIED",
            reason: "forbidden",
        }
    }

    /// 404 `NOT_FOUND` / `notFound`.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self {
            code: 404,
            message: message.into(),
            status: "NOT_FOUND",
            reason: "notFound",
        }
    }

    /// 405 for a known path with a method the sandbox does not serve.
    pub(crate) fn method_not_allowed() -> Self {
        Self {
            code: 405,
            message: "Method not allowed: the sandbox does not serve this method on this path."
                .to_owned(),
            status: "INVALID_ARGUMENT",
            reason: "methodNotAllowed",
        }
    }

    /// 409 `ALREADY_EXISTS` / `duplicate`, as Calendar answers an insert whose id is taken
    /// and Gmail a label name in use.
    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self {
            code: 409,
            message: message.into(),
            status: "ALREADY_EXISTS",
            reason: "duplicate",
        }
    }

    /// 410 / `deleted`, as Calendar answers a delete of an event already deleted.
    pub(crate) fn gone(message: impl Into<String>) -> Self {
        Self {
            code: 410,
            message: message.into(),
            status: "NOT_FOUND",
            reason: "deleted",
        }
    }

    /// The JSON body.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "status": self.status,
                "errors": [{ "message": self.message, "domain": "global", "reason": self.reason }],
            }
        })
    }
}

impl axum::response::IntoResponse for GoogleErrorBody {
    fn into_response(self) -> axum::response::Response {
        let status = axum::http::StatusCode::from_u16(self.code)
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(self.to_json())).into_response();

        // Google names the scheme in the challenge of every 401, and clients may look for it.
        if status == axum::http::StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static(
                    "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"",
                ),
            );
        }
        response
    }
}
