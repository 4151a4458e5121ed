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

    /// 404 `NOT_FOUND` / `notFound`.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self {
            code: 404,
            message: message.into(),
            status: "NOT_FOUND",
            reason: "notFound",
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
