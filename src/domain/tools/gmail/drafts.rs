//! `gmail_list_drafts` and `gmail_delete_draft`.

use async_trait::async_trait;
use futures::StreamExt as _;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Envelope;
use super::compose::invalid_id;
use crate::domain::access::{GmailAccess, RequiredAccess};
use crate::domain::mail_content::decode_snippet;
use crate::domain::models::DraftId;
use crate::domain::models::gmail::{Draft, DraftListQuery, MessageFormat};
use crate::domain::tools::definition::{
    MAX_QUERY_CHARS, MAX_TOKEN_CHARS, Validate, check_length, check_range,
};
use crate::domain::tools::{Render, Tool, ToolAnnotations, ToolContext, ToolError};

/// The page size when the model gives none.
const DEFAULT_MAX_RESULTS: u32 = 20;
/// The largest page: each draft on it costs one `drafts.get`.
const MAX_MAX_RESULTS: u32 = 100;
/// How many `drafts.get` requests run at once, as in gmail_search_messages.
const DRAFT_CONCURRENCY: usize = 10;

pub(crate) struct ListDrafts;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListDraftsArgs {
    /// Gmail search syntax, e.g. `to:ann@example.com`.
    query: Option<String>,
    /// Page size (1-100, default 20).
    #[schemars(range(min = 1, max = 100))]
    max_results: Option<u32>,
    /// `next_page_token` of the previous page.
    page_token: Option<String>,
}

impl Validate for ListDraftsArgs {
    fn validate(&self) -> Result<(), (&'static str, String)> {
        check_range("max_results", self.max_results, 1, MAX_MAX_RESULTS)?;
        check_length("query", self.query.as_deref(), MAX_QUERY_CHARS)?;
        check_length("page_token", self.page_token.as_deref(), MAX_TOKEN_CHARS)
    }
}

/// One page of drafts.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct DraftList {
    drafts: Vec<DraftSummary>,
    /// Pass as `page_token` to get the next page; absent on the last page.
    next_page_token: Option<String>,
}

/// A draft in a list.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct DraftSummary {
    /// Pass to gmail_update_draft, gmail_send_draft or gmail_delete_draft.
    draft_id: String,
    /// The draft's message, for gmail_get_message.
    message_id: Option<String>,
    thread_id: Option<String>,
    to: Option<String>,
    cc: Option<String>,
    subject: Option<String>,
    snippet: Option<String>,
    /// The reason the draft's details could not be read, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[async_trait]
impl Tool for ListDrafts {
    type Args = ListDraftsArgs;
    type Output = DraftList;

    const NAME: &'static str = "gmail_list_drafts";
    const TITLE: &'static str = "List drafts";
    const DESCRIPTION: &'static str =
        "List Gmail drafts, newest first, with id, recipients, subject and snippet; paged.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::READ_ONLY;
    const ACCESS: RequiredAccess = RequiredAccess::Gmail(GmailAccess::Draft);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let query = DraftListQuery {
            query: args
                .query
                .map(|query| query.trim().to_owned())
                .filter(|query| !query.is_empty()),
            max_results: args.max_results.unwrap_or(DEFAULT_MAX_RESULTS),
            page_token: args.page_token.filter(|token| !token.is_empty()),
            include_spam_trash: false,
        };
        let gmail = &context.gmail;
        let query = &query;
        let page = context
            .with_google(|credentials| async move {
                gmail.list_drafts(&credentials.access_token, query).await
            })
            .await?;

        // drafts.list returns ids only; the headers come from one drafts.get each.
        let drafts = futures::stream::iter(page.drafts)
            .map(|draft| summarize(context, draft))
            .buffered(DRAFT_CONCURRENCY)
            .collect()
            .await;
        Ok(DraftList {
            drafts,
            next_page_token: page.next_page_token,
        })
    }
}

async fn summarize(context: &ToolContext, listed: Draft) -> DraftSummary {
    let mut summary = DraftSummary {
        draft_id: listed.id.clone(),
        message_id: listed.message.as_ref().map(|message| message.id.clone()),
        thread_id: listed
            .message
            .as_ref()
            .map(|message| message.thread_id.clone()),
        to: None,
        cc: None,
        subject: None,
        snippet: None,
        error: None,
    };
    let id = match DraftId::new(listed.id) {
        Ok(id) => id,
        Err(error) => {
            summary.error = Some(error.to_string());
            return summary;
        }
    };

    let gmail = &context.gmail;
    let id = &id;
    let result = context
        .with_google(|credentials| async move {
            let format = MessageFormat::Metadata(Vec::new());
            gmail
                .get_draft(&credentials.access_token, id, &format)
                .await
        })
        .await;
    match result.map(|draft| draft.message) {
        Ok(Some(message)) => {
            let envelope = Envelope::of(&message);
            summary.to = envelope.to;
            summary.cc = envelope.cc;
            summary.subject = envelope.subject;
            summary.snippet = message
                .snippet
                .as_deref()
                .map(|snippet| decode_snippet(snippet).into_owned());
        }
        Ok(None) => summary.error = Some("Gmail sent the draft without its message".to_owned()),
        Err(error) => summary.error = Some(error.to_string()),
    }
    summary
}

impl Render for DraftList {
    fn render_text(&self) -> String {
        if self.drafts.is_empty() {
            return "No drafts.".to_owned();
        }
        let mut out = format!("{} draft(s):\n", self.drafts.len());
        for (index, draft) in self.drafts.iter().enumerate() {
            out.push_str(&format!("{}. draft {}", index + 1, draft.draft_id));
            if let Some(message_id) = &draft.message_id {
                out.push_str(&format!(" message {message_id}"));
            }
            if let Some(error) = &draft.error {
                out.push_str(&format!(" (details unavailable: {error})\n"));
                continue;
            }
            out.push('\n');
            let field = |name: &str, value: &Option<String>| {
                value
                    .as_deref()
                    .map(|value| format!("   {name}: {value}\n"))
                    .unwrap_or_default()
            };
            out.push_str(&field("To", &draft.to));
            out.push_str(&field("Cc", &draft.cc));
            out.push_str(&field("Subject", &draft.subject));
            out.push_str(&field("Snippet", &draft.snippet));
        }
        match &self.next_page_token {
            Some(token) => out.push_str(&format!(
                "More drafts: call again with page_token \"{token}\"."
            )),
            None => out.push_str("End of drafts."),
        }
        out
    }
}

pub(crate) struct DeleteDraft;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DraftIdArgs {
    /// The draft's id.
    pub(crate) draft_id: String,
}

impl Validate for DraftIdArgs {}

/// The deleted draft.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct DeletedDraft {
    draft_id: String,
    /// Always true: the draft is gone for good, not in the trash.
    deleted: bool,
}

#[async_trait]
impl Tool for DeleteDraft {
    type Args = DraftIdArgs;
    type Output = DeletedDraft;

    const NAME: &'static str = "gmail_delete_draft";
    const TITLE: &'static str = "Delete a draft";
    const DESCRIPTION: &'static str =
        "Delete a Gmail draft for good; it does not go to the trash and cannot be restored.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::DESTRUCTIVE_IDEMPOTENT;
    const ACCESS: RequiredAccess = RequiredAccess::Gmail(GmailAccess::Draft);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let draft_id = DraftId::new(args.draft_id)
            .map_err(|error| invalid_id(Self::NAME, "draft_id", error))?;

        let gmail = &context.gmail;
        let id = &draft_id;
        context
            .with_google(|credentials| async move {
                gmail.delete_draft(&credentials.access_token, id).await
            })
            .await
            .map_err(|error| {
                error.explain_not_found(|| {
                    format!("draft {draft_id} (find ids with gmail_list_drafts)")
                })
            })?;
        tracing::info!(draft_id = %draft_id, "deleted a draft");

        Ok(DeletedDraft {
            draft_id: draft_id.to_string(),
            deleted: true,
        })
    }
}

impl Render for DeletedDraft {
    fn render_text(&self) -> String {
        format!("Deleted draft {} for good.", self.draft_id)
    }
}
