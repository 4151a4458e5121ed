//! `gmail_update_draft`: changes the fields of a draft that the call gives and keeps the
//! others, so a model that fixes one typo does not wipe the recipients or the threading of
//! a reply.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use super::compose::{
    MailOutcome, MailResult, build, check_count, compose_error, invalid_id, parse_addresses,
    read_attachments,
};
use super::reply::original_attachments;
use crate::domain::access::{GmailAccess, RequiredAccess};
use crate::domain::mail_compose::{
    Composition, EmailAddress, message_id_value, split_address_list,
};
use crate::domain::mail_content;
use crate::domain::models::gmail::{Message, MessageFormat};
use crate::domain::models::{DraftId, ThreadId};
use crate::domain::tools::definition::Validate;
use crate::domain::tools::{Tool, ToolAnnotations, ToolContext, ToolError};

pub(crate) struct UpdateDraft;

// The arguments of `gmail_update_draft`. A field left out keeps the draft's value; an
// empty string or list clears it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateDraftArgs {
    /// The draft's id.
    draft_id: String,
    /// `a@x.org` or `Ann <a@x.org>`; [] clears.
    to: Option<Vec<String>>,
    /// Cc recipients.
    cc: Option<Vec<String>>,
    /// Bcc recipients.
    bcc: Option<Vec<String>>,
    /// Reply-To; "" clears.
    reply_to: Option<String>,
    /// Subject.
    subject: Option<String>,
    /// Plain text; replaces html_body too.
    body: Option<String>,
    /// HTML version of `body`.
    html_body: Option<String>,
    /// Files in HUB_UPLOAD_DIR; replace the draft's.
    attachments: Option<Vec<String>>,
}

impl Validate for UpdateDraftArgs {
    fn validate(&self) -> Result<(), (&'static str, String)> {
        check_count("to", &self.to)?;
        check_count("cc", &self.cc)?;
        check_count("bcc", &self.bcc)
    }
}

#[async_trait]
impl Tool for UpdateDraft {
    type Args = UpdateDraftArgs;
    type Output = MailResult;

    const NAME: &'static str = "gmail_update_draft";
    const TITLE: &'static str = "Edit a draft";
    const DESCRIPTION: &'static str = "Change a Gmail draft without sending. Fields left out stay; \"\" or [] clears one. A reply stays in its thread.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::DESTRUCTIVE_IDEMPOTENT;
    const ACCESS: RequiredAccess = RequiredAccess::Gmail(GmailAccess::Draft);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let draft_id = DraftId::new(args.draft_id.clone())
            .map_err(|error| invalid_id(Self::NAME, "draft_id", error))?;

        // The new values are checked first, so a bad argument costs no Gmail request.
        let parse = |field: &str, list: &Option<Vec<String>>| {
            list.as_deref()
                .map(|list| parse_addresses(Self::NAME, field, list))
                .transpose()
        };
        let to = parse("to", &args.to)?;
        let cc = parse("cc", &args.cc)?;
        let bcc = parse("bcc", &args.bcc)?;
        let reply_to = match args.reply_to.as_deref().map(str::trim) {
            Some("") => Some(Vec::new()),
            Some(value) => Some(vec![
                EmailAddress::parse("reply_to", value)
                    .map_err(|error| compose_error(Self::NAME, error))?,
            ]),
            None => None,
        };
        let new_attachments = match &args.attachments {
            Some(paths) => Some(read_attachments(Self::NAME, context.settings(), paths).await?),
            None => None,
        };

        let gmail = &context.gmail;
        let id = &draft_id;
        let existing = context
            .with_google(|credentials| async move {
                gmail
                    .get_draft(&credentials.access_token, id, &MessageFormat::Full)
                    .await
            })
            .await
            .map_err(|error| {
                error.explain_not_found(|| {
                    format!("draft {draft_id} (find ids with gmail_list_drafts)")
                })
            })?
            .message
            .unwrap_or_default();
        let mut composition = stored_composition(&existing);

        composition.to = to.unwrap_or(composition.to);
        composition.cc = cc.unwrap_or(composition.cc);
        composition.bcc = bcc.unwrap_or(composition.bcc);
        composition.reply_to = reply_to.unwrap_or(composition.reply_to);
        composition.subject = args.subject.unwrap_or(composition.subject);
        // The two bodies are one text in two forms, so a new one of either replaces both:
        // a kept old HTML part would show the recipient the old text.
        if args.body.is_some() || args.html_body.is_some() {
            composition.text_body = args.body.unwrap_or_default();
            composition.html_body = args.html_body.filter(|html| !html.is_empty());
        }
        composition.attachments = match new_attachments {
            Some(attachments) => attachments,
            None => stored_attachments(context, &existing).await?,
        };
        composition
            .validate()
            .map_err(|error| compose_error(Self::NAME, error))?;

        let thread_id = ThreadId::new(existing.thread_id.clone()).ok();
        let outgoing = build(context, Self::NAME, &mut composition, thread_id).await?;
        let outgoing = &outgoing;
        let draft = context
            .with_google(|credentials| async move {
                gmail
                    .update_draft(&credentials.access_token, id, outgoing)
                    .await
            })
            .await?;
        tracing::info!(draft_id = %draft.id, "updated a draft");

        Ok(MailResult::from_draft(
            MailOutcome::DraftUpdated,
            &draft,
            &composition,
        ))
    }
}

/// Reads a draft's headers and bodies back into the composition it was built from, the
/// attachments aside. The threading headers (`In-Reply-To`, `References`) are always kept.
fn stored_composition(message: &Message) -> Composition {
    let (text_body, html_body) = message
        .payload
        .as_ref()
        .map(mail_content::text_and_html)
        .unwrap_or_default();
    let references = message
        .header("References")
        .map(|references| {
            references
                .split_whitespace()
                .filter_map(message_id_value)
                .collect()
        })
        .unwrap_or_default();

    Composition {
        to: stored_addresses(message, "To"),
        cc: stored_addresses(message, "Cc"),
        bcc: stored_addresses(message, "Bcc"),
        reply_to: stored_addresses(message, "Reply-To"),
        subject: message.header("Subject").unwrap_or_default().to_owned(),
        text_body: text_body.unwrap_or_default(),
        html_body,
        attachments: Vec::new(),
        in_reply_to: message.header("In-Reply-To").and_then(message_id_value),
        references,
        message_id_domain: None,
    }
}

/// Parses an address header of a stored draft. Gmail has decoded its RFC 2047 encoded
/// words already, so they are not decoded again. A decoded name may contain a comma
/// without quotes (`Lee, Änn <a@x.org>`), so a piece without an address is joined to the
/// next one.
///
/// NOTE: what still is not one valid address, such as a group, is left out, so an edit
/// drops it from the draft.
fn stored_addresses(message: &Message, name: &str) -> Vec<EmailAddress> {
    let Some(header) = message.header(name) else {
        return Vec::new();
    };

    let mut addresses = Vec::new();
    let mut pending = String::new();
    for entry in split_address_list(header) {
        let candidate = if pending.is_empty() {
            entry.to_owned()
        } else {
            format!("{pending}, {entry}")
        };
        match EmailAddress::parse(name, &candidate) {
            Ok(address) => {
                addresses.push(address);
                pending.clear();
            }
            Err(_) if !entry.contains('@') => pending = candidate,
            Err(_) => pending.clear(),
        }
    }
    addresses
}

/// Fetches a draft's attachments, so an edit that leaves `attachments` out keeps them.
async fn stored_attachments(
    context: &ToolContext,
    message: &Message,
) -> Result<Vec<crate::domain::mail_compose::Attachment>, ToolError> {
    let listed = message
        .payload
        .as_ref()
        .map(|payload| mail_content::extract(payload).attachments)
        .unwrap_or_default();
    if listed.is_empty() {
        return Ok(Vec::new());
    }
    original_attachments(context, message, &listed).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::models::gmail::{MessagePart, MessagePartHeader};

    fn message(headers: &[(&str, &str)]) -> Message {
        Message {
            payload: Some(MessagePart {
                headers: headers
                    .iter()
                    .map(|(name, value)| MessagePartHeader {
                        name: (*name).into(),
                        value: (*value).into(),
                    })
                    .collect(),
                ..MessagePart::default()
            }),
            ..Message::default()
        }
    }

    #[test]
    fn stored_addresses_rejoin_decoded_names() {
        let draft = message(&[(
            "To",
            "Lee, Änn <ann@example.org>, \"Bo, B\" <bo@example.org>, cy@example.org",
        )]);

        let to = stored_addresses(&draft, "To");

        let names: Vec<_> = to.iter().map(|address| address.name.as_deref()).collect();
        assert_eq!(names, [Some("Lee, Änn"), Some("Bo, B"), None]);
        let emails: Vec<_> = to.iter().map(|address| address.address.as_str()).collect();
        assert_eq!(
            emails,
            ["ann@example.org", "bo@example.org", "cy@example.org"]
        );
    }

    #[test]
    fn stored_subject_is_not_decoded_again() {
        let draft = message(&[
            ("Subject", "=?UTF-8?B?U3Bvb2ZlZA==?="),
            ("In-Reply-To", "<a@example.org>"),
            ("References", "<z@example.org> <a@example.org>"),
        ]);

        let composition = stored_composition(&draft);

        assert_eq!(composition.subject, "=?UTF-8?B?U3Bvb2ZlZA==?=");
        assert_eq!(composition.in_reply_to.as_deref(), Some("a@example.org"));
        assert_eq!(composition.references, ["z@example.org", "a@example.org"]);
    }
}
