//! The tool dispatcher: tool name and JSON arguments in, structured result and text out.

use serde_json::Value;

use crate::domain::access::RequiredAccess;
use crate::domain::tools::{
    DynTool, ToolContext, ToolDefinition, ToolError, ToolOutput, all_tools,
};

/// The largest arguments object accepted, in bytes of compact JSON. Every tool's arguments
/// are a few ids and short strings, so anything near this size is a mistake or an attack.
pub(crate) const MAX_ARGUMENTS_BYTES: usize = 64 * 1024;

/// Runs tools by name. Every entry point (MCP, the CLI's `call`, an embedding agent) goes
/// through one dispatcher, so a tool behaves the same everywhere.
pub struct ToolDispatcher {
    context: ToolContext,
    /// The tools the configured access levels allow, in catalog order.
    tools: Vec<Box<dyn DynTool>>,
    /// The catalog's other tools, kept to explain why a call to one of them fails.
    withheld: Vec<Box<dyn DynTool>>,
}

impl ToolDispatcher {
    /// Creates a dispatcher with every tool in the catalog that the context's access
    /// levels allow.
    pub fn new(context: ToolContext) -> Self {
        let access = context.settings().access;
        let (tools, withheld) = all_tools()
            .into_iter()
            .partition(|tool| access.allows(tool.definition().access));
        Self {
            context,
            tools,
            withheld,
        }
    }

    /// Returns the tool definitions in catalog order.
    pub fn definitions(&self) -> impl Iterator<Item = &ToolDefinition> {
        self.tools.iter().map(|tool| tool.definition())
    }

    /// Returns the definition of one tool.
    pub fn definition(&self, name: &str) -> Option<&ToolDefinition> {
        self.find(name).map(|tool| tool.definition())
    }

    /// Returns the context the tools run against.
    pub fn context(&self) -> &ToolContext {
        &self.context
    }

    /// Runs a tool. `arguments` is the JSON object of arguments; `null` counts as `{}`.
    ///
    /// # Errors
    ///
    /// [`ToolError::UnknownTool`] for a name not in the catalog,
    /// [`ToolError::NotPermitted`] for a tool above the configured access level,
    /// [`ToolError::InvalidArguments`] naming the field when the arguments do not parse or
    /// are out of bounds, and the tool's own errors otherwise.
    pub async fn call(&self, name: &str, arguments: Value) -> Result<ToolOutput, ToolError> {
        let Some(tool) = self.find(name) else {
            if let Some(withheld) = self
                .withheld
                .iter()
                .find(|tool| tool.definition().name == name)
            {
                return Err(not_permitted(withheld.definition(), &self.context));
            }
            return Err(ToolError::UnknownTool {
                name: name.to_owned(),
                available: self.names().join(", "),
            });
        };

        let size = json_size(&arguments);
        if size > MAX_ARGUMENTS_BYTES {
            return Err(ToolError::InvalidArguments {
                tool: tool.definition().name,
                message: format!(
                    "the arguments are {size} bytes of JSON, more than the limit of {MAX_ARGUMENTS_BYTES}"
                ),
            });
        }

        let started = std::time::Instant::now();
        let result = tool.call(&self.context, arguments).await;
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        match &result {
            Ok(_) => tracing::debug!(tool = name, elapsed_ms, "tool call succeeded"),
            Err(error) if error.is_internal() => {
                tracing::error!(tool = name, cause = %error, "tool call failed inside the hub")
            }
            Err(error) => {
                tracing::info!(tool = name, cause = %error, "tool call returned an error")
            }
        }
        result
    }

    fn find(&self, name: &str) -> Option<&dyn DynTool> {
        self.tools
            .iter()
            .find(|tool| tool.definition().name == name)
            .map(|tool| tool.as_ref())
    }

    fn names(&self) -> Vec<&'static str> {
        self.definitions()
            .map(|definition| definition.name)
            .collect()
    }
}

/// Explains which setting a call to a withheld tool needs.
fn not_permitted(definition: &ToolDefinition, context: &ToolContext) -> ToolError {
    let access = context.settings().access;
    let (service, needed, configured, variable, flag) = match definition.access {
        RequiredAccess::Gmail(level) => (
            "Gmail",
            level.as_str(),
            access.gmail.as_str(),
            "HUB_GMAIL_ACCESS",
            "--gmail-access",
        ),
        RequiredAccess::Calendar(level) => (
            "Calendar",
            level.as_str(),
            access.calendar.as_str(),
            "HUB_CALENDAR_ACCESS",
            "--calendar-access",
        ),
        // A tool that needs no access is never withheld.
        RequiredAccess::None => ("the hub", "none", "none", "none", "none"),
    };
    ToolError::NotPermitted(format!(
        "{} needs {service} access level `{needed}`, but the hub runs with `{configured}`; \
         the user can set {variable}={needed} (or pass {flag} {needed}) and restart the hub",
        definition.name
    ))
}

/// Counts the bytes of `value` as compact JSON without building the string.
fn json_size(value: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing a `Value` to a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

impl std::fmt::Debug for ToolDispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolDispatcher")
            .field("context", &self.context)
            .field("tools", &self.names())
            .finish()
    }
}

#[cfg(test)]
mod tests;
