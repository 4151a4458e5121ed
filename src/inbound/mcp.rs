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
use serde_json::Value;

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
            // Already logged by the dispatcher with its cause.
            Err(ToolError::Internal(_)) => Ok(CallToolResult::error(vec![ContentBlock::text(
                "The hub failed internally while running this tool; the cause is in the hub's log. Retrying may not help.",
            )])),
            Err(error) => Ok(CallToolResult::error(vec![ContentBlock::text(
                error.to_string(),
            )])),
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
    result.structured_content = Some(output.structured);
    result
}

fn to_mcp_tool(definition: &ToolDefinition) -> Tool {
    let hints = definition.annotations;
    let annotations = ToolAnnotations::new()
        .read_only(hints.read_only)
        .destructive(hints.destructive)
        .idempotent(hints.idempotent)
        .open_world(hints.open_world);

    Tool::new(
        definition.name,
        definition.description,
        Arc::new(definition.input_schema.clone()),
    )
    .with_title(definition.title)
    .with_raw_output_schema(Arc::new(definition.output_schema.clone()))
    .with_annotations(annotations)
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
