//! `gmail_send_message` and `gmail_send_draft`, the tools that only send. Only builds
//! with the `gmail-send` feature have them.

use async_trait::async_trait;

use super::compose::{MailOutcome, MailResult, MessageArgs, build, check_recipients, invalid_id};
use super::drafts::DraftIdArgs;
use crate::domain::access::{GmailAccess, RequiredAccess};
use crate::domain::mail_compose::{Composition, EmailAddress, split_address_list};
use crate::domain::mail_content::decode_header;
use crate::domain::models::DraftId;
use crate::domain::models::gmail::{Message, MessageFormat};
use crate::domain::tools::{Tool, ToolAnnotations, ToolContext, ToolError};

pub(crate) struct SendMessage;

#[async_trait]
impl Tool for SendMessage {
    type Args = MessageArgs;
    type Output = MailResult;

    const NAME: &'static str = "gmail_send_message";
    const TITLE: &'static str = "Send an email";
    const DESCRIPTION: &'static str = "Send a new email at once from the user's Gmail. For a reviewable draft use gmail_create_draft.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::DESTRUCTIVE;
    const ACCESS: RequiredAccess = RequiredAccess::Gmail(GmailAccess::Send);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let mut composition = args.compose(Self::NAME, context.settings()).await?;
        check_recipients(Self::NAME, context.settings(), &composition)?;
        let outgoing = build(context, Self::NAME, &mut composition, None).await?;

        let gmail = &context.gmail;
        let outgoing = &outgoing;
        let message = context
            .with_google(|credentials| async move {
                gmail
                    .send_message(&credentials.access_token, outgoing)
                    .await
            })
            .await?;
        tracing::info!(message_id = %message.id, "sent a message");

        Ok(MailResult::new(
            MailOutcome::Sent,
            &message,
            None,
            &composition,
        ))
    }
}

pub(crate) struct SendDraft;

#[async_trait]
impl Tool for SendDraft {
    type Args = DraftIdArgs;
    type Output = MailResult;

    const NAME: &'static str = "gmail_send_draft";
    const TITLE: &'static str = "Send a draft";
    const DESCRIPTION: &'static str =
        "Send an existing Gmail draft as it is; the sent message keeps the draft's thread.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::DESTRUCTIVE;
    const ACCESS: RequiredAccess = RequiredAccess::Gmail(GmailAccess::Send);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let draft_id = DraftId::new(args.draft_id)
            .map_err(|error| invalid_id(Self::NAME, "draft_id", error))?;

        // The recipients are read back from the draft, because the allowlist applies to
        // what Gmail will send, whoever wrote the draft.
        let gmail = &context.gmail;
        let id = &draft_id;
        let draft = context
            .with_google(|credentials| async move {
                gmail
                    .get_draft(
                        &credentials.access_token,
                        id,
                        &MessageFormat::Metadata(Vec::new()),
                    )
                    .await
            })
            .await
            .map_err(|error| {
                error.explain_not_found(|| {
                    format!("draft {draft_id} (find ids with gmail_list_drafts)")
                })
            })?;
        let stored = draft.message.unwrap_or_default();
        let composition = draft_recipients(context, &stored)?;
        check_recipients(Self::NAME, context.settings(), &composition)?;

        let message = context
            .with_google(|credentials| async move {
                gmail.send_draft(&credentials.access_token, id).await
            })
            .await?;
        tracing::info!(draft_id = %draft_id, message_id = %message.id, "sent a draft");

        Ok(MailResult::new(
            MailOutcome::Sent,
            &message,
            None,
            &composition,
        ))
    }
}

/// Reads a draft's recipients and subject from its headers. With an allowlist set, an
/// entry that is not a plain address cannot be checked and is rejected.
fn draft_recipients(context: &ToolContext, message: &Message) -> Result<Composition, ToolError> {
    let restricted = context.settings().recipients.is_restricted();
    let mut composition = Composition {
        subject: message
            .header("Subject")
            .map(|subject| decode_header(subject).into_owned())
            .unwrap_or_default(),
        ..Composition::default()
    };
    for (name, field) in [("To", "to"), ("Cc", "cc"), ("Bcc", "bcc")] {
        let Some(value) = message.header(name) else {
            continue;
        };
        let value = decode_header(value);
        let mut list = Vec::new();
        for entry in split_address_list(&value) {
            match EmailAddress::parse(field, entry) {
                Ok(address) => list.push(address),
                Err(error) if restricted => {
                    return Err(ToolError::NotPermitted(format!(
                        "the draft's {name} header has an entry the recipient allowlist cannot check ({error}); fix the draft with gmail_update_draft"
                    )));
                }
                Err(_) => {}
            }
        }
        match field {
            "to" => composition.to = list,
            "cc" => composition.cc = list,
            _ => composition.bcc = list,
        }
    }
    Ok(composition)
}
