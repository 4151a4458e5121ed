//! The tool catalog: every tool's name, description, JSON schemas and annotations, its
//! typed arguments and result, and its text rendering for a model.
//!
//! Tools are defined once, here. The MCP adapter, the CLI's `call` command and a Rust agent
//! embedding the library all reach them through [`ToolDispatcher`](crate::ToolDispatcher).

mod calendar;
mod context;
mod definition;
mod error;
mod gmail;
mod hub;
mod text;

pub use context::{ToolContext, ToolSettings};
pub use definition::{EmbeddedFile, ToolAnnotations, ToolDefinition, ToolOutput};
pub use error::{ErrorCategory, ToolError};
pub use text::{BodyWindow, cut_chars};

pub(crate) use definition::{DynTool, Registered, Render, Tool};

/// Builds every tool in catalog order.
pub(crate) fn all_tools() -> Vec<Box<dyn DynTool>> {
    let mut tools = vec![
        Registered::boxed(gmail::SearchMessages),
        Registered::boxed(gmail::GetMessage),
        Registered::boxed(gmail::GetThread),
        Registered::boxed(gmail::ListLabels),
        Registered::boxed(gmail::GetAttachment),
    ];
    tools.extend(gmail_write_tools());
    tools.extend([
        Registered::boxed(calendar::ListCalendars),
        Registered::boxed(calendar::ListEvents),
        Registered::boxed(calendar::GetEvent),
        Registered::boxed(calendar::QueryFreeBusy),
        Registered::boxed(calendar::FindFreeSlots),
        Registered::boxed(calendar::CreateEvent),
        Registered::boxed(calendar::UpdateEvent),
        Registered::boxed(calendar::DeleteEvent),
        Registered::boxed(calendar::RespondToEvent),
        Registered::boxed(hub::HubStatus),
    ]);
    tools
}

/// Builds the Gmail tools that change the mailbox, in catalog order. Only builds with the
/// `gmail-send` feature have the tools that only send.
fn gmail_write_tools() -> Vec<Box<dyn DynTool>> {
    let tools = vec![
        Registered::boxed(gmail::ModifyLabels),
        Registered::boxed(gmail::TrashMessage),
        Registered::boxed(gmail::UntrashMessage),
        Registered::boxed(gmail::CreateLabel),
        Registered::boxed(gmail::CreateDraft),
        Registered::boxed(gmail::UpdateDraft),
        Registered::boxed(gmail::ListDrafts),
        Registered::boxed(gmail::DeleteDraft),
        Registered::boxed(gmail::Reply),
        Registered::boxed(gmail::Forward),
    ];
    #[cfg(feature = "gmail-send")]
    let tools = {
        let mut tools = tools;
        tools.extend([
            Registered::boxed(gmail::SendMessage),
            Registered::boxed(gmail::SendDraft),
        ]);
        tools
    };
    tools
}
