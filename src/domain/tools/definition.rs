//! What a tool is: a typed [`Tool`] for writing one, and the type-erased [`DynTool`] the
//! dispatcher holds.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{ToolContext, ToolError};
use crate::domain::access::RequiredAccess;

/// MCP tool annotations: hints to the client about a tool's effects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolAnnotations {
    /// The tool changes nothing.
    pub read_only: bool,
    /// The tool may delete or overwrite data.
    pub destructive: bool,
    /// Calling the tool twice with the same arguments has the effect of calling it once.
    pub idempotent: bool,
    /// The tool reaches outside the hub (Google), rather than a closed local domain.
    pub open_world: bool,
}

impl ToolAnnotations {
    /// A tool that reads from Google and changes nothing.
    pub const READ_ONLY: Self = Self {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: true,
    };

    /// A tool that adds to the account without changing or removing anything, such as
    /// creating a draft or a label. Calling it twice adds twice.
    pub const ADDITIVE: Self = Self {
        read_only: false,
        destructive: false,
        idempotent: false,
        open_world: true,
    };

    /// A tool that changes or removes something, where repeating the call changes nothing
    /// more, such as updating an event or moving a message to the trash.
    pub const DESTRUCTIVE_IDEMPOTENT: Self = Self {
        read_only: false,
        destructive: true,
        idempotent: true,
        open_world: true,
    };

    /// A tool whose effect cannot be taken back and happens again on every call, such as
    /// sending mail.
    pub const DESTRUCTIVE: Self = Self {
        read_only: false,
        destructive: true,
        idempotent: false,
        open_world: true,
    };
}

/// A tool as listed to clients.
#[derive(Debug, Clone)]
pub struct ToolDefinition {
    /// The name, `<service>_<verb>_<object>`.
    pub name: &'static str,
    /// A short human-readable title.
    pub title: &'static str,
    /// What the tool does, written for a model choosing among tools.
    pub description: &'static str,
    /// The JSON Schema of the arguments object.
    pub input_schema: Map<String, Value>,
    /// The JSON Schema of the structured result.
    pub output_schema: Map<String, Value>,
    /// Effect hints.
    pub annotations: ToolAnnotations,
    /// The access level the tool needs; tools above the configured level are not listed.
    pub access: RequiredAccess,
}

/// A small file returned inside a tool result rather than saved to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedFile {
    /// A URI naming the file, such as `gmail://messages/{id}/attachments/{name}`.
    pub uri: String,
    /// The MIME type.
    pub mime_type: String,
    /// The content, base64 (standard alphabet, padded) as MCP's blob resources carry it.
    pub base64: String,
}

/// The result of a successful tool call.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    /// The typed result as JSON, matching the tool's output schema.
    pub structured: Value,
    /// A compact rendering of the result for a model's context window.
    pub text: String,
    /// Files returned inline.
    pub embedded: Vec<EmbeddedFile>,
}

/// A result that can be rendered as text for a model.
pub(crate) trait Render {
    /// Renders the result compactly: what a model needs, without JSON punctuation.
    fn render_text(&self) -> String;

    /// Files to return inline with the result.
    fn embedded(&self) -> Vec<EmbeddedFile> {
        Vec::new()
    }
}

/// Checks on arguments that serde cannot express, such as numeric bounds.
pub(crate) trait Validate {
    /// Returns the first invalid field as `(field, reason)`.
    fn validate(&self) -> Result<(), (&'static str, String)> {
        Ok(())
    }
}

/// One tool, with typed arguments and result.
#[async_trait]
pub(crate) trait Tool: Send + Sync + 'static {
    /// The arguments object. Unknown fields should be rejected (`deny_unknown_fields`) so a
    /// misspelt argument is reported rather than ignored.
    type Args: DeserializeOwned + JsonSchema + Validate + Send;
    /// The structured result.
    type Output: Serialize + JsonSchema + Render + Send;

    /// The tool's name.
    const NAME: &'static str;
    /// The tool's title.
    const TITLE: &'static str;
    /// The tool's description for a model.
    const DESCRIPTION: &'static str;
    /// The tool's effect hints.
    const ANNOTATIONS: ToolAnnotations;
    /// The access level the tool needs to be listed and run.
    const ACCESS: RequiredAccess;

    /// Runs the tool.
    async fn run(&self, context: &ToolContext, args: Self::Args)
    -> Result<Self::Output, ToolError>;
}

/// A tool with its types erased, as the dispatcher holds it.
#[async_trait]
pub(crate) trait DynTool: Send + Sync {
    /// Returns the tool's definition.
    fn definition(&self) -> &ToolDefinition;

    /// Parses the arguments, runs the tool and renders the result.
    async fn call(&self, context: &ToolContext, arguments: Value) -> Result<ToolOutput, ToolError>;

    /// Parses and validates the arguments as [`call`](Self::call) does, without running the
    /// tool.
    #[cfg(feature = "__fuzz")]
    fn check_arguments(&self, arguments: Value) -> Result<(), ToolError>;
}

/// A [`Tool`] with its definition built once.
pub(crate) struct Registered<T> {
    tool: T,
    definition: ToolDefinition,
}

impl<T: Tool> Registered<T> {
    pub(crate) fn boxed(tool: T) -> Box<dyn DynTool> {
        let definition = ToolDefinition {
            name: T::NAME,
            title: T::TITLE,
            description: T::DESCRIPTION,
            input_schema: schema_for::<T::Args>(Direction::Arguments),
            output_schema: schema_for::<T::Output>(Direction::Result),
            annotations: T::ANNOTATIONS,
            access: T::ACCESS,
        };
        Box::new(Self { tool, definition })
    }
}

#[async_trait]
impl<T: Tool> DynTool for Registered<T> {
    fn definition(&self) -> &ToolDefinition {
        &self.definition
    }

    async fn call(&self, context: &ToolContext, arguments: Value) -> Result<ToolOutput, ToolError> {
        let args = parse_arguments::<T::Args>(T::NAME, arguments)?;

        let output = self.tool.run(context, args).await?;

        let structured = serde_json::to_value(&output).map_err(|error| {
            ToolError::Internal(format!(
                "{} produced a result that cannot be serialized: {error}",
                T::NAME
            ))
        })?;
        Ok(ToolOutput {
            text: output.render_text(),
            embedded: output.embedded(),
            structured,
        })
    }

    #[cfg(feature = "__fuzz")]
    fn check_arguments(&self, arguments: Value) -> Result<(), ToolError> {
        parse_arguments::<T::Args>(T::NAME, arguments).map(drop)
    }
}

/// Deserializes and validates arguments, naming the offending field on failure.
fn parse_arguments<A: DeserializeOwned + Validate>(
    tool: &'static str,
    arguments: Value,
) -> Result<A, ToolError> {
    // A client may send no arguments at all for a tool whose arguments are all optional.
    let arguments = if arguments.is_null() {
        Value::Object(Map::new())
    } else {
        arguments
    };
    if !arguments.is_object() {
        return Err(ToolError::InvalidArguments {
            tool,
            message: format!(
                "arguments must be a JSON object, got {}",
                json_kind(&arguments)
            ),
        });
    }

    let args: A = serde_path_to_error::deserialize(arguments).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner().to_string();
        let message = if path == "." {
            inner
        } else {
            format!("field `{path}`: {inner}")
        };
        ToolError::InvalidArguments { tool, message }
    })?;

    args.validate()
        .map_err(|(field, reason)| ToolError::InvalidArguments {
            tool,
            message: format!("field `{field}`: {reason}"),
        })?;
    Ok(args)
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Generates a compact JSON Schema: subschemas inlined, no `$schema` or `title` key, and
/// none of the noise listed at [`compact_schema`], because every byte of `tools/list` is
/// read into the model's context.
fn schema_for<T: JsonSchema>(direction: Direction) -> Map<String, Value> {
    let settings = schemars::generate::SchemaSettings::draft2020_12().with(|settings| {
        settings.inline_subschemas = true;
        settings.meta_schema = None;
    });
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let mut object = schema.as_object().cloned().unwrap_or_default();
    object.remove("title");
    compact_schema(&mut object, direction);
    object
}

/// The longest search query accepted, in characters. Google's limit is not documented;
/// queries travel in the URL, and past a few kilobytes servers reject the URL outright.
pub(crate) const MAX_QUERY_CHARS: usize = 2_000;
/// The longest page token accepted, in characters. Google's tokens are under 200.
pub(crate) const MAX_TOKEN_CHARS: usize = 2_000;

/// Checks that a text argument is at most `max` characters long, for [`Validate`] impls.
pub(crate) fn check_length(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<(), (&'static str, String)> {
    match value.map(|value| value.chars().count()) {
        Some(length) if length > max => Err((
            field,
            format!("{length} characters is too long; the limit is {max}"),
        )),
        _ => Ok(()),
    }
}

/// Which way a schema's data flows, which decides whether `null` may be dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Arguments from the client, read by serde.
    Arguments,
    /// A result the hub sends, which writes `None` as `null`.
    Result,
}

/// The `format` values schemars emits for Rust's number types. They repeat what `type`,
/// `minimum` and `maximum` already say and no client acts on them.
const NUMBER_FORMATS: [&str; 12] = [
    "int8", "int16", "int32", "int64", "int", "uint8", "uint16", "uint32", "uint64", "uint",
    "float", "double",
];

/// Removes what a schema generator adds that says nothing to a model, in place and
/// recursively:
///
/// - the number `format`s in [`NUMBER_FORMATS`];
/// - in arguments, `"null"` in the `type` of a property that is not `required`. Such an
///   `Option` field may be left out, and serde reads a left-out field and `null` alike, so
///   `null` adds nothing. Results keep it, because they write `None` as `null` and a client
///   may validate them against the schema.
fn compact_schema(schema: &mut Map<String, Value>, direction: Direction) {
    if schema
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|format| NUMBER_FORMATS.contains(&format))
    {
        schema.remove("format");
    }

    let required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(|name| name.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if let Some(Value::Object(properties)) = schema.get_mut("properties") {
        for (name, property) in properties.iter_mut() {
            let Value::Object(property) = property else {
                continue;
            };
            if direction == Direction::Arguments && !required.contains(name) {
                drop_null_type(property);
            }
            compact_schema(property, direction);
        }
    }

    for key in ["items", "additionalProperties"] {
        if let Some(Value::Object(subschema)) = schema.get_mut(key) {
            compact_schema(subschema, direction);
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(subschemas)) = schema.get_mut(key) {
            for subschema in subschemas.iter_mut().filter_map(Value::as_object_mut) {
                compact_schema(subschema, direction);
            }
        }
    }
}

/// Turns `"type": [T, "null"]` into `"type": T`, and drops `null` from an `enum` list, as
/// schemars writes an optional enum.
fn drop_null_type(property: &mut Map<String, Value>) {
    if let Some(Value::Array(values)) = property.get_mut("enum") {
        values.retain(|value| !value.is_null());
    }
    let Some(Value::Array(types)) = property.get("type") else {
        return;
    };
    let others: Vec<Value> = types
        .iter()
        .filter(|kind| kind.as_str() != Some("null"))
        .cloned()
        .collect();
    if others.len() == types.len() {
        return;
    }
    let kind = match <[Value; 1]>::try_from(others) {
        Ok([single]) => single,
        Err(others) => Value::Array(others),
    };
    property.insert("type".to_owned(), kind);
}

/// Checks that `value` lies in `range`, for [`Validate`] impls.
pub(crate) fn check_range<T: PartialOrd + std::fmt::Display + Copy>(
    field: &'static str,
    value: Option<T>,
    min: T,
    max: T,
) -> Result<(), (&'static str, String)> {
    match value {
        Some(value) if value < min || value > max => Err((
            field,
            format!("{value} is out of range; use {min} to {max}"),
        )),
        _ => Ok(()),
    }
}
