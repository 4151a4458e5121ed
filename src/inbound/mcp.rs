//! The MCP server (feature `mcp-stdio`): an rmcp [`ServerHandler`] over the
//! [`ToolDispatcher`], served on stdin/stdout.
//!
//! Tools are registered from the catalog at run time rather than with rmcp's
//! `#[tool_router]` macros, so the catalog stays the one definition of every tool and the
//! adapter holds no tool logic.
//!
//! Errors the model can act on (bad arguments, Google errors, credential problems) become
//! tool results with `isError: true` and a sentence saying what to do. An unknown tool is a
//! JSON-RPC `invalid_params` error, as MCP specifies. Faults inside the hub are logged once
//! and reported to the model as a plain internal error.

pub(crate) mod stdio;

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ResourceContents, ServerCapabilities, ServerConfig,
    Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt as _};
use serde_json::{Map, Value};

use crate::domain::service::ToolDispatcher;
use crate::domain::tools::{ToolDefinition, ToolError, ToolOutput};

/// What the server tells the client about itself at initialization.
const INSTRUCTIONS: &str = "Tools for the signed-in user's Gmail and Google Calendar. \
Search mail with gmail_search_messages, then read with gmail_get_message or gmail_get_thread. \
List events with calendar_list_events. Long results are cut with a note saying how to read on. \
If a tool fails with a credential error, hub_status shows the connection state.";

/// The MCP server. Cheap to clone: it shares the dispatcher and the prebuilt tool list.
#[derive(Clone)]
pub struct McpServer {
    dispatcher: Arc<ToolDispatcher>,
    tools: Arc<Vec<Tool>>,
}

impl McpServer {
    /// Creates a server over a dispatcher.
    pub fn new(dispatcher: Arc<ToolDispatcher>) -> Self {
        let tools = dispatcher.definitions().map(to_mcp_tool).collect();
        Self {
            dispatcher,
            tools: Arc::new(tools),
        }
    }

    /// Serves MCP on stdin/stdout until the client closes stdin.
    ///
    /// # Errors
    ///
    /// Returns an error when the initialization handshake fails or the transport breaks.
    pub async fn serve_stdio(self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.serve_io(tokio::io::stdin(), tokio::io::stdout()).await
    }

    /// Serves MCP on any pair of byte streams carrying newline-delimited JSON-RPC, the
    /// stdio framing. Returns when the input ends, after the last response is written.
    ///
    /// # Errors
    ///
    /// Returns an error when the initialization handshake fails or the transport breaks.
    pub async fn serve_io<R, W>(
        self,
        input: R,
        output: W,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
    where
        R: tokio::io::AsyncRead + Unpin + Send + 'static,
        W: tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let io = stdio::spawn_screen(input, output);
        let running = self.serve((io.requests, io.responses)).await?;
        let reason = running.waiting().await?;

        io.tasks.finish().await;
        tracing::info!(?reason, "MCP session ended");
        Ok(())
    }

    async fn run_tool(&self, request: CallToolRequestParams) -> Result<CallToolResult, ErrorData> {
        let arguments = request.arguments.map(Value::Object).unwrap_or(Value::Null);

        match self.dispatcher.call(&request.name, arguments).await {
            Ok(output) => Ok(success(output)),
            Err(ToolError::UnknownTool { name, available }) => Err(ErrorData::invalid_params(
                format!("unknown tool {name:?}; the available tools are: {available}"),
                None,
            )),
            Err(error) => Ok(tool_error(&error)),
        }
    }
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer")
            .field("tools", &self.tools.len())
            .finish_non_exhaustive()
    }
}

fn success(output: ToolOutput) -> CallToolResult {
    let mut content = vec![ContentBlock::text(output.text)];
    for file in output.embedded {
        let resource = ResourceContents::blob(file.base64, file.uri).with_mime_type(file.mime_type);
        content.push(ContentBlock::resource(resource));
    }

    let mut result = CallToolResult::success(content);
    result.structured_content = Some(without_nulls(output.structured));
    result
}

/// Removes object fields whose value is `null`, at any depth. An absent field means the
/// same to a client, costs the model nothing to read, and lets the outline in
/// `tools/list` declare plain types (see [`schema_outline`]).
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .into_iter()
                .filter(|(_, value)| !value.is_null())
                .map(|(key, value)| (key, without_nulls(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// Builds an `isError` result with the message as text and, in `structuredContent`,
/// `{"error": {"category", "message", "retryable", "hint"}}` for clients that branch on it.
///
/// MCP does not require `structuredContent` of an error result to match the tool's
/// `outputSchema`, and rmcp 3.11 does not check it on either side.
fn tool_error(error: &ToolError) -> CallToolResult {
    // An internal fault was logged by the dispatcher with its cause, which may name paths or
    // internals, so the model gets a generic sentence.
    let message = if error.is_internal() {
        "The hub failed internally while running this tool; the cause is in the hub's log."
            .to_owned()
    } else {
        error.to_string()
    };

    let mut result = CallToolResult::error(vec![ContentBlock::text(message.clone())]);
    result.structured_content = Some(serde_json::json!({
        "error": {
            "category": error.category(),
            "message": message,
            "retryable": error.retryable(),
            "hint": error.hint(),
        }
    }));
    result
}

/// Converts a definition to the MCP tool `tools/list` returns, sized for a context window.
///
/// The output schema is sent as an outline (see [`schema_outline`]), and the input schema
/// without `additionalProperties: false`, because the dispatcher rejects an unknown
/// argument with an error naming it anyway. `mcp-google-hub tools --json` and
/// [`ToolDefinition`] keep the full schemas. Only the hints that differ from MCP's
/// defaults (not read-only, destructive, not idempotent, open world) are sent, and the
/// destructive and idempotent hints only for a tool that is not read-only, because MCP
/// gives them meaning only then.
fn to_mcp_tool(definition: &ToolDefinition) -> Tool {
    let hints = definition.annotations;
    let mut annotations = ToolAnnotations::new();
    if hints.read_only {
        annotations = annotations.read_only(true);
    } else {
        if !hints.destructive {
            annotations = annotations.destructive(false);
        }
        if hints.idempotent {
            annotations = annotations.idempotent(true);
        }
    }
    if !hints.open_world {
        annotations = annotations.open_world(false);
    }

    let mut input_schema = definition.input_schema.clone();
    if input_schema.get("additionalProperties") == Some(&Value::Bool(false)) {
        input_schema.remove("additionalProperties");
    }

    Tool::new(
        definition.name,
        definition.description,
        Arc::new(input_schema),
    )
    .with_title(definition.title)
    .with_raw_output_schema(Arc::new(schema_outline(&definition.output_schema)))
    .with_annotations(annotations)
}

/// Returns the outline of a result schema: the root object's properties with their types,
/// without descriptions, bounds, the types of array items or the fields of nested objects.
/// No field is required and `null` is left out of the types, because results are sent
/// without their `null` fields (see [`without_nulls`]). The outline is enough for a client
/// to validate `structuredContent` and to know the fields, and the full schemas would
/// double the size of `tools/list`.
fn schema_outline(schema: &Map<String, Value>) -> Map<String, Value> {
    let properties: Map<String, Value> = schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, property)| (name.clone(), Value::Object(type_outline(property))))
        .collect();

    let mut outline = Map::new();
    outline.insert("type".to_owned(), Value::from("object"));
    outline.insert("properties".to_owned(), Value::Object(properties));
    outline
}

fn type_outline(property: &Value) -> Map<String, Value> {
    let mut outline = Map::new();
    if let Some(kind) = property.get("type") {
        outline.insert("type".to_owned(), without_null_type(kind));
    }
    outline
}

/// Turns `["string", "null"]` into `"string"`; other types are returned as they are.
fn without_null_type(kind: &Value) -> Value {
    let Value::Array(kinds) = kind else {
        return kind.clone();
    };
    let mut others: Vec<Value> = kinds
        .iter()
        .filter(|kind| kind.as_str() != Some("null"))
        .cloned()
        .collect();
    if others.len() == 1 {
        others.remove(0)
    } else {
        Value::Array(others)
    }
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                env!("CARGO_PKG_NAME"),
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.as_ref().clone()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.iter().find(|tool| tool.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.run_tool(request).await.map(CallToolResponse::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::{AccessLevels, CalendarAccess, GmailAccess};
    use crate::domain::ports::{MockCalendarApi, MockCredentialProvider, MockGmailApi};
    use crate::domain::service::CredentialCache;
    use crate::domain::tools::{ToolContext, ToolSettings};

    /// The average size of one tool in `tools/list`, in bytes of compact JSON, that the
    /// catalog must stay under: every byte is read into the model's context. Creating or
    /// updating an event takes over 2,000 bytes, and the small tools make up for it.
    const BYTES_PER_TOOL: usize = 1_000;

    /// A server listing the whole catalog: every access level at its highest.
    fn server() -> McpServer {
        let settings = ToolSettings {
            access: AccessLevels {
                gmail: GmailAccess::Send,
                calendar: CalendarAccess::Write,
            },
            ..ToolSettings::default()
        };
        let context = ToolContext::new(
            Arc::new(CredentialCache::new(
                Arc::new(MockCredentialProvider::new()),
            )),
            Arc::new(MockGmailApi::new()),
            Arc::new(MockCalendarApi::new()),
            settings,
        );
        McpServer::new(Arc::new(ToolDispatcher::new(context)))
    }

    #[test]
    fn tools_list_within_context_budget() {
        let server = server();
        let list = ListToolsResult::with_all_items(server.tools.as_ref().clone());

        let bytes = serde_json::to_vec(&list)
            .expect("tools/list serializes")
            .len();
        let budget = BYTES_PER_TOOL * server.tools.len();
        assert!(
            bytes <= budget,
            "tools/list is {bytes} bytes for {} tools, over the budget of {budget}",
            server.tools.len()
        );
    }

    #[test]
    fn tools_list_keeps_descriptions() {
        for tool in server().tools.iter() {
            let description = tool.description.as_deref().unwrap_or_default();
            assert!(description.len() > 80, "{}: {description:?}", tool.name);

            let properties = tool
                .input_schema
                .get("properties")
                .and_then(Value::as_object);
            for (name, property) in properties.into_iter().flatten() {
                assert!(
                    property.get("description").is_some(),
                    "{}: argument {name} has no description",
                    tool.name
                );
                assert!(property.get("format").is_none(), "{}: {name}", tool.name);
            }
        }
    }
}
