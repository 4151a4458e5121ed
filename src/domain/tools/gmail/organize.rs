//! `gmail_modify_labels`, `gmail_trash_message`, `gmail_untrash_message` and
//! `gmail_create_label`: the tools of the `organize` access level.

use std::collections::HashMap;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::compose::invalid_id;
use crate::domain::access::{GmailAccess, RequiredAccess};
use crate::domain::models::MessageId;
use crate::domain::models::gmail::{Label, LabelChanges, Message, NewLabel};
use crate::domain::tools::definition::{Validate, check_length};
use crate::domain::tools::{Render, Tool, ToolAnnotations, ToolContext, ToolError};

/// The maximum number of message ids `users.messages.batchModify` takes in one call.
const MAX_BATCH: usize = 1000;

/// The maximum label name length accepted, in characters. Gmail's discovery document
/// gives no limit; this one keeps a runaway argument out of the request.
const MAX_LABEL_NAME_CHARS: usize = 225;

// The read state to set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ReadState {
    // Removes the UNREAD label.
    Read,
    // Adds the UNREAD label.
    Unread,
}

pub(crate) struct ModifyLabels;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModifyLabelsArgs {
    /// 1 to 1000 message ids.
    message_ids: Vec<String>,
    /// Label ids or names to add.
    add_labels: Option<Vec<String>>,
    /// Label ids or names to remove.
    remove_labels: Option<Vec<String>>,
    /// Read state.
    mark: Option<ReadState>,
    /// Remove from the inbox.
    archive: Option<bool>,
}

impl Validate for ModifyLabelsArgs {
    fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.message_ids.is_empty() || self.message_ids.len() > MAX_BATCH {
            return Err((
                "message_ids",
                format!(
                    "{} ids given; pass 1 to {MAX_BATCH}",
                    self.message_ids.len()
                ),
            ));
        }
        let empty = |list: &Option<Vec<String>>| list.as_ref().is_none_or(Vec::is_empty);
        if empty(&self.add_labels)
            && empty(&self.remove_labels)
            && self.mark.is_none()
            && !self.archive.unwrap_or(false)
        {
            return Err((
                "add_labels",
                "nothing to change; give add_labels, remove_labels, mark or archive".to_owned(),
            ));
        }
        Ok(())
    }
}

/// The label changes made. The message ids and label names appear in the text only.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct LabelChangeResult {
    #[serde(skip)]
    #[schemars(skip)]
    message_ids: Vec<String>,
    /// The names of user labels by id, for those the call listed labels for.
    #[serde(skip)]
    #[schemars(skip)]
    label_names: HashMap<String, String>,
    added: Vec<String>,
    removed: Vec<String>,
    /// The labels now; only when one message was changed.
    label_ids: Option<Vec<String>>,
}

#[async_trait]
impl Tool for ModifyLabels {
    type Args = ModifyLabelsArgs;
    type Output = LabelChangeResult;

    const NAME: &'static str = "gmail_modify_labels";
    const TITLE: &'static str = "Label messages";
    const DESCRIPTION: &'static str =
        "Add or remove labels (id or name) on Gmail messages, mark read or unread, or archive.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::DESTRUCTIVE_IDEMPOTENT;
    const ACCESS: RequiredAccess = RequiredAccess::Gmail(GmailAccess::Organize);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let ids = args
            .message_ids
            .iter()
            .enumerate()
            .map(|(index, id)| {
                MessageId::new(id.clone()).map_err(|error| {
                    invalid_id(Self::NAME, &format!("message_ids[{index}]"), error)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;

        let (changes, label_names) = resolve_changes(context, &args).await?;

        let gmail = &context.gmail;
        let changes_ref = &changes;
        let label_ids = if let [id] = ids.as_slice() {
            let message: Message = context
                .with_google(|credentials| async move {
                    gmail
                        .modify_message(&credentials.access_token, id, changes_ref)
                        .await
                })
                .await
                .map_err(|error| {
                    error.explain_not_found(|| {
                        format!("message {id} (find ids with gmail_search_messages)")
                    })
                })?;
            Some(message.label_ids)
        } else {
            let ids_ref = &ids;
            context
                .with_google(|credentials| async move {
                    gmail
                        .batch_modify_messages(&credentials.access_token, ids_ref, changes_ref)
                        .await
                })
                .await
                .map_err(|error| {
                    error.explain_not_found(|| {
                        "one of the messages (find ids with gmail_search_messages)".to_owned()
                    })
                })?;
            None
        };
        tracing::info!(messages = ids.len(), "changed labels");

        Ok(LabelChangeResult {
            message_ids: ids.iter().map(ToString::to_string).collect(),
            label_names,
            added: changes.add_label_ids,
            removed: changes.remove_label_ids,
            label_ids,
        })
    }
}

/// Turns names into ids and the `mark` and `archive` switches into label changes. Also
/// returns the names of the user labels by id when it had to list the labels.
async fn resolve_changes(
    context: &ToolContext,
    args: &ModifyLabelsArgs,
) -> Result<(LabelChanges, HashMap<String, String>), ToolError> {
    let (add, remove) = (
        args.add_labels.as_deref().unwrap_or_default(),
        args.remove_labels.as_deref().unwrap_or_default(),
    );
    let named = add
        .iter()
        .chain(remove)
        .any(|label| !is_system_or_user_id(label));
    let labels = if named {
        let gmail = &context.gmail;
        context
            .with_google(
                |credentials| async move { gmail.list_labels(&credentials.access_token).await },
            )
            .await?
    } else {
        Vec::new()
    };

    let mut changes = LabelChanges::default();
    for (field, names, target) in [
        ("add_labels", add, &mut changes.add_label_ids),
        ("remove_labels", remove, &mut changes.remove_label_ids),
    ] {
        for name in names {
            let id = label_id(&labels, name).ok_or_else(|| ToolError::InvalidArguments {
                tool: ModifyLabels::NAME,
                message: format!(
                    "field `{field}`: no label has the id or name {name:?}; see gmail_list_labels, or create it with gmail_create_label"
                ),
            })?;
            push_unique(target, id);
        }
    }
    match args.mark {
        Some(ReadState::Read) => push_unique(&mut changes.remove_label_ids, "UNREAD".to_owned()),
        Some(ReadState::Unread) => push_unique(&mut changes.add_label_ids, "UNREAD".to_owned()),
        None => {}
    }
    if args.archive.unwrap_or(false) {
        push_unique(&mut changes.remove_label_ids, "INBOX".to_owned());
    }

    if let Some(both) = changes
        .add_label_ids
        .iter()
        .find(|id| changes.remove_label_ids.contains(id))
    {
        return Err(ToolError::InvalidArguments {
            tool: ModifyLabels::NAME,
            message: format!("label {both} would be both added and removed"),
        });
    }
    let names = labels
        .into_iter()
        .map(|label| (label.id, label.name))
        .collect();
    Ok((changes, names))
}

/// The ids of Gmail's system labels that messages can be given or lose.
const SYSTEM_IDS: [&str; 11] = [
    "INBOX",
    "UNREAD",
    "STARRED",
    "IMPORTANT",
    "SPAM",
    "TRASH",
    "CATEGORY_PERSONAL",
    "CATEGORY_SOCIAL",
    "CATEGORY_PROMOTIONS",
    "CATEGORY_UPDATES",
    "CATEGORY_FORUMS",
];

/// Returns whether `label` is already an id: a system id, or `Label_` and digits.
fn is_system_or_user_id(label: &str) -> bool {
    SYSTEM_IDS.contains(&label)
        || label
            .strip_prefix("Label_")
            .is_some_and(|digits| !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
}

/// Finds a label by id, then by name without regard to case.
fn label_id(labels: &[Label], wanted: &str) -> Option<String> {
    if is_system_or_user_id(wanted) {
        return Some(wanted.to_owned());
    }
    let upper = wanted.to_uppercase();
    if SYSTEM_IDS.contains(&upper.as_str()) {
        return Some(upper);
    }
    labels
        .iter()
        .find(|label| label.id == wanted)
        .or_else(|| {
            labels
                .iter()
                .find(|label| label.name.to_lowercase() == wanted.to_lowercase())
        })
        .map(|label| label.id.clone())
}

fn push_unique(list: &mut Vec<String>, id: String) {
    if !list.contains(&id) {
        list.push(id);
    }
}

impl LabelChangeResult {
    /// Writes labels by name where the name is known, and by id otherwise. System label
    /// ids such as INBOX are their names too.
    fn names(&self, ids: &[String]) -> String {
        ids.iter()
            .map(|id| self.label_names.get(id).unwrap_or(id).as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Render for LabelChangeResult {
    fn render_text(&self) -> String {
        let mut out = match self.message_ids.as_slice() {
            [one] => format!("Changed labels of message {one}."),
            many => format!("Changed labels of {} messages.", many.len()),
        };
        if !self.added.is_empty() {
            out.push_str(&format!(" Added: {}.", self.names(&self.added)));
        }
        if !self.removed.is_empty() {
            out.push_str(&format!(" Removed: {}.", self.names(&self.removed)));
        }
        if let Some(labels) = &self.label_ids {
            out.push_str(&format!(" Labels now: {}.", self.names(labels)));
        }
        out
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MessageIdArgs {
    /// Message id from gmail_search_messages.
    message_id: String,
}

impl Validate for MessageIdArgs {}

/// A message after it was moved into or out of the trash. The thread id appears in the
/// text only.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct TrashResult {
    message_id: String,
    #[serde(skip)]
    #[schemars(skip)]
    thread_id: String,
    /// Whether the message is now in the trash.
    in_trash: bool,
    /// The message's labels now.
    label_ids: Vec<String>,
}

impl TrashResult {
    fn of(message: Message) -> Self {
        Self {
            in_trash: message.label_ids.iter().any(|label| label == "TRASH"),
            message_id: message.id,
            thread_id: message.thread_id,
            label_ids: message.label_ids,
        }
    }
}

impl Render for TrashResult {
    fn render_text(&self) -> String {
        let place = if self.in_trash {
            "is in the trash (Gmail deletes it for good after 30 days)"
        } else {
            "is out of the trash"
        };
        format!(
            "Message {} (thread {}) {place}. Labels: {}.",
            self.message_id,
            self.thread_id,
            self.label_ids.join(", ")
        )
    }
}

pub(crate) struct TrashMessage;

#[async_trait]
impl Tool for TrashMessage {
    type Args = MessageIdArgs;
    type Output = TrashResult;

    const NAME: &'static str = "gmail_trash_message";
    const TITLE: &'static str = "Trash a message";
    const DESCRIPTION: &'static str =
        "Move a Gmail message to the trash; gmail_untrash_message restores it within 30 days.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::DESTRUCTIVE_IDEMPOTENT;
    const ACCESS: RequiredAccess = RequiredAccess::Gmail(GmailAccess::Organize);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let message = trash_call(context, Self::NAME, args, true).await?;
        Ok(TrashResult::of(message))
    }
}

pub(crate) struct UntrashMessage;

#[async_trait]
impl Tool for UntrashMessage {
    type Args = MessageIdArgs;
    type Output = TrashResult;

    const NAME: &'static str = "gmail_untrash_message";
    const TITLE: &'static str = "Untrash a message";
    const DESCRIPTION: &'static str =
        "Take a Gmail message out of the trash. Find trashed ones with the search `in:trash`.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::DESTRUCTIVE_IDEMPOTENT;
    const ACCESS: RequiredAccess = RequiredAccess::Gmail(GmailAccess::Organize);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let message = trash_call(context, Self::NAME, args, false).await?;
        Ok(TrashResult::of(message))
    }
}

async fn trash_call(
    context: &ToolContext,
    tool: &'static str,
    args: MessageIdArgs,
    trash: bool,
) -> Result<Message, ToolError> {
    let id =
        MessageId::new(args.message_id).map_err(|error| invalid_id(tool, "message_id", error))?;

    let gmail = &context.gmail;
    let id_ref = &id;
    let message = context
        .with_google(|credentials| async move {
            if trash {
                gmail.trash_message(&credentials.access_token, id_ref).await
            } else {
                gmail
                    .untrash_message(&credentials.access_token, id_ref)
                    .await
            }
        })
        .await
        .map_err(|error| {
            error
                .explain_not_found(|| format!("message {id} (find ids with gmail_search_messages)"))
        })?;
    tracing::info!(tool, message_id = %id, "moved a message");
    Ok(message)
}

pub(crate) struct CreateLabel;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateLabelArgs {
    /// `/` nests it: `Projects/Hub`.
    name: String,
}

impl Validate for CreateLabelArgs {
    fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.name.trim().is_empty() {
            return Err(("name", "it is empty".to_owned()));
        }
        if let Some(bad) = self.name.chars().find(|c| c.is_control()) {
            return Err(("name", format!("it contains the control character {bad:?}")));
        }
        check_length("name", Some(&self.name), MAX_LABEL_NAME_CHARS)
    }
}

/// The new label.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CreatedLabel {
    /// The id to use in gmail_modify_labels.
    id: String,
    name: String,
}

#[async_trait]
impl Tool for CreateLabel {
    type Args = CreateLabelArgs;
    type Output = CreatedLabel;

    const NAME: &'static str = "gmail_create_label";
    const TITLE: &'static str = "Create a label";
    const DESCRIPTION: &'static str =
        "Create a Gmail user label; an existing name fails. Apply it with gmail_modify_labels.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::ADDITIVE;
    const ACCESS: RequiredAccess = RequiredAccess::Gmail(GmailAccess::Organize);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let new_label = NewLabel {
            name: args.name.trim().to_owned(),
            label_list_visibility: None,
            message_list_visibility: None,
        };

        let gmail = &context.gmail;
        let new_label = &new_label;
        let label = context
            .with_google(|credentials| async move {
                gmail
                    .create_label(&credentials.access_token, new_label)
                    .await
            })
            .await?;
        tracing::info!(label_id = %label.id, "created a label");

        Ok(CreatedLabel {
            id: label.id,
            name: label.name,
        })
    }
}

impl Render for CreatedLabel {
    fn render_text(&self) -> String {
        format!("Created label {} with id {}.", self.name, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(id: &str, name: &str) -> Label {
        Label {
            id: id.into(),
            name: name.into(),
            ..Label::default()
        }
    }

    #[test]
    fn labels_resolve_by_id_or_name() {
        let labels = [
            label("Label_1", "Projects/Hub"),
            label("Label_2", "Receipts"),
        ];
        assert_eq!(label_id(&labels, "STARRED").as_deref(), Some("STARRED"));
        assert_eq!(label_id(&labels, "starred").as_deref(), Some("STARRED"));
        assert_eq!(label_id(&labels, "Label_7").as_deref(), Some("Label_7"));
        assert_eq!(
            label_id(&labels, "projects/hub").as_deref(),
            Some("Label_1")
        );
        assert_eq!(label_id(&labels, "Nope"), None);
    }
}
