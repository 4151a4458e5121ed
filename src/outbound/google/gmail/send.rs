//! The calls that send mail, compiled only with the `gmail-send` feature.
//!
//! Neither call is repeated after a timeout or a 5xx ([`Resend::OnlyUnsent`]): the request
//! may have reached Google and the mail gone out, and a second attempt would send it twice.
//!
//! NOTE: the client's 30 s limit per request also bounds the upload of the message. On a
//! slow link a message near Gmail's 25 MB limit may time out and, being a send, is then
//! reported as failed although Google may still deliver it.

use reqwest::Method;

use super::{DraftBody, GmailClient, ME, RawMessage, WriteRequest};
use crate::domain::errors::GoogleApiError;
use crate::domain::models::gmail::{Message, OutgoingMessage};
use crate::domain::models::{AccessToken, DraftId};
use crate::outbound::google::endpoints::id_segment;
use crate::outbound::google::transport::Resend;

/// `users.messages.send` with the message as `raw` in the JSON body.
pub(super) async fn send_message(
    client: &GmailClient,
    token: &AccessToken,
    message: &OutgoingMessage,
) -> Result<Message, GoogleApiError> {
    let segments = ["users", ME, "messages", "send"];
    let mut request = WriteRequest::new("gmail.users.messages.send", Method::POST, &segments)
        .json(&RawMessage::of(message))?;
    request.resend = Resend::OnlyUnsent;
    client.write(request, token).await
}

/// `users.drafts.send` with the draft's id in the JSON body.
pub(super) async fn send_draft(
    client: &GmailClient,
    token: &AccessToken,
    id: &DraftId,
) -> Result<Message, GoogleApiError> {
    let id = id_segment("draft", id.as_str())?;
    let body = DraftBody {
        id: Some(id),
        message: None,
    };
    let segments = ["users", ME, "drafts", "send"];
    let mut request =
        WriteRequest::new("gmail.users.drafts.send", Method::POST, &segments).json(&body)?;
    request.resend = Resend::OnlyUnsent;
    client.write(request, token).await
}
