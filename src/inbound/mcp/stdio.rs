//! The stdio transport with a screen in front of rmcp.
//!
//! rmcp drops a line that is not JSON without answering, and answers a `tools/call` whose
//! params do not parse with "method not found". JSON-RPC asks for `-32700 Parse error` and
//! `-32602 Invalid params`, and a client left without an answer waits for its own timeout.
//! So every line from stdin passes a screen first: bad lines are answered here, good ones
//! go on to rmcp. One writer task owns stdout, so the screen's answers and rmcp's never
//! interleave within a line.

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::io::{
    AsyncBufReadExt as _, AsyncRead, AsyncWrite, AsyncWriteExt as _, BufReader, DuplexStream,
};
use tokio::sync::mpsc;
use tokio_util::codec::{FramedRead, LinesCodec};

/// The longest line read from the client, in bytes. MCP requests are small; a longer line
/// is answered with an error and skipped, never buffered whole.
pub(crate) const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// The buffer between the screen and rmcp, in bytes.
const PIPE_BYTES: usize = 256 * 1024;

/// What the screen does with one line.
#[derive(Debug, PartialEq)]
pub(crate) enum Screened {
    /// Pass the line to rmcp.
    Forward,
    /// Answer the client with this JSON-RPC error line instead.
    Reply(String),
    /// Ignore the line (blank).
    Skip,
}

/// The ends of the screen that rmcp serves on: it reads requests from `requests` and
/// writes responses to `responses`.
pub(crate) struct ScreenedIo {
    pub(crate) requests: DuplexStream,
    pub(crate) responses: DuplexStream,
    pub(crate) tasks: ScreenTasks,
}

/// The tasks that move lines between the client and rmcp.
pub(crate) struct ScreenTasks {
    reader: tokio::task::JoinHandle<()>,
    relay: tokio::task::JoinHandle<()>,
    writer: tokio::task::JoinHandle<()>,
}

impl ScreenTasks {
    /// Waits until rmcp's last response has been written out. Call it after the rmcp
    /// session has ended; the reader is stopped, since the client may keep its end open.
    pub(crate) async fn finish(self) {
        self.reader.abort();
        let _ = self.relay.await;
        let _ = self.writer.await;
    }
}

/// Starts the screen between `input`/`output` (stdin/stdout in production) and rmcp.
pub(crate) fn spawn_screen<R, W>(input: R, output: W) -> ScreenedIo
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (to_server, requests) = tokio::io::duplex(PIPE_BYTES);
    let (responses, from_server) = tokio::io::duplex(PIPE_BYTES);
    let (lines, queue) = mpsc::channel::<String>(64);

    let tasks = ScreenTasks {
        writer: tokio::spawn(write_lines(queue, output)),
        relay: tokio::spawn(relay_responses(from_server, lines.clone())),
        reader: tokio::spawn(screen_requests(input, to_server, lines)),
    };
    ScreenedIo {
        requests,
        responses,
        tasks,
    }
}

async fn screen_requests<R: AsyncRead + Unpin>(
    input: R,
    mut to_server: DuplexStream,
    replies: mpsc::Sender<String>,
) {
    let mut input = BufReader::new(input);

    loop {
        let line = match read_bounded_line(&mut input, MAX_LINE_BYTES).await {
            Ok(Some(Line::Text(line))) => line,
            Ok(Some(Line::TooLong)) => {
                tracing::warn!(
                    limit = MAX_LINE_BYTES,
                    "skipped an MCP message longer than the limit"
                );
                let message =
                    format!("Invalid Request: the message is longer than {MAX_LINE_BYTES} bytes");
                let _ = replies
                    .send(error_line(Value::Null, -32600, &message))
                    .await;
                continue;
            }
            Ok(None) => break,
            Err(error) => {
                tracing::warn!(cause = %error, "reading stdin failed; ending the session");
                break;
            }
        };

        match screen(&line) {
            Screened::Skip => {}
            Screened::Reply(reply) => {
                if replies.send(reply).await.is_err() {
                    break;
                }
            }
            Screened::Forward => {
                let written = async {
                    to_server.write_all(line.as_bytes()).await?;
                    to_server.write_all(b"\n").await
                };
                if written.await.is_err() {
                    break;
                }
            }
        }
    }
    // Dropping `to_server` tells rmcp the client has gone.
}

enum Line {
    Text(String),
    TooLong,
}

/// Reads one `\n`-terminated line of at most `max` bytes. A longer line is consumed to its
/// end without being kept. Bytes that are not UTF-8 are replaced, so the screen answers
/// them as a parse error. Returns `None` at the end of the input.
async fn read_bounded_line<R: AsyncRead + Unpin>(
    input: &mut BufReader<R>,
    max: usize,
) -> std::io::Result<Option<Line>> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buffer = input.fill_buf().await?;
        if buffer.is_empty() {
            if line.is_empty() && !too_long {
                return Ok(None);
            }
            break;
        }

        let (chunk, found_end) = match buffer.iter().position(|&byte| byte == b'\n') {
            Some(end) => (&buffer[..end], true),
            None => (buffer, false),
        };
        if !too_long {
            if line.len() + chunk.len() > max {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        let consumed = chunk.len() + usize::from(found_end);
        input.consume(consumed);
        if found_end {
            break;
        }
    }

    if too_long {
        return Ok(Some(Line::TooLong));
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(Line::Text(
        String::from_utf8_lossy(&line).into_owned(),
    )))
}

async fn relay_responses(from_server: DuplexStream, lines: mpsc::Sender<String>) {
    let mut responses = FramedRead::new(from_server, LinesCodec::new());
    while let Some(Ok(line)) = responses.next().await {
        if lines.send(line).await.is_err() {
            break;
        }
    }
}

async fn write_lines<W: AsyncWrite + Unpin>(mut queue: mpsc::Receiver<String>, output: W) {
    let mut sink = tokio_util::codec::FramedWrite::new(output, LinesCodec::new());
    while let Some(line) = queue.recv().await {
        if let Err(error) = sink.send(line).await {
            tracing::warn!(cause = %error, "writing to stdout failed; the client has gone");
            break;
        }
    }
}

/// Decides what to do with one line from the client.
pub(crate) fn screen(line: &str) -> Screened {
    if line.trim().is_empty() {
        return Screened::Skip;
    }

    let message: Value = match serde_json::from_str(line) {
        Ok(message) => message,
        Err(error) => {
            tracing::debug!(cause = %error, "answered a line that is not JSON");
            return Screened::Reply(error_line(
                Value::Null,
                -32700,
                &format!("Parse error: {error}"),
            ));
        }
    };

    let Some(object) = message.as_object() else {
        return Screened::Reply(error_line(
            Value::Null,
            -32600,
            "Invalid Request: a message must be a JSON object",
        ));
    };
    let id = object.get("id").cloned();
    if object.get("method").and_then(Value::as_str) == Some("tools/call")
        && let Some(id) = id
        && let Some(problem) = tools_call_problem(object.get("params"))
    {
        return Screened::Reply(error_line(
            id,
            -32602,
            &format!("Invalid params: {problem}"),
        ));
    }
    Screened::Forward
}

fn tools_call_problem(params: Option<&Value>) -> Option<&'static str> {
    let Some(params) = params else {
        return Some("tools/call needs params with the tool's name");
    };
    let Some(params) = params.as_object() else {
        return Some("params must be a JSON object");
    };
    if !params.get("name").is_some_and(Value::is_string) {
        return Some("params.name must be the tool's name as a string");
    }
    match params.get("arguments") {
        None | Some(Value::Null) | Some(Value::Object(_)) => None,
        Some(_) => Some("params.arguments must be a JSON object"),
    }
}

fn error_line(id: Value, code: i64, message: &str) -> String {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(line: &str) -> Value {
        match screen(line) {
            Screened::Reply(reply) => serde_json::from_str(&reply).unwrap(),
            other => panic!("expected a reply for {line:?}, got {other:?}"),
        }
    }

    #[test]
    fn non_json_gets_parse_error() {
        let answer = reply("{this is not json");
        assert_eq!(answer["error"]["code"], -32700);
        assert_eq!(answer["id"], Value::Null);
    }

    #[test]
    fn non_object_gets_invalid_request() {
        assert_eq!(reply("[1, 2]")["error"]["code"], -32600);
        assert_eq!(reply("42")["error"]["code"], -32600);
    }

    #[test]
    fn bad_tools_call_params_get_invalid_params() {
        let cases = [
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call"}"#,
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":"x"}"#,
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":3}}"#,
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"hub_status","arguments":[]}}"#,
        ];
        for case in cases {
            let answer = reply(case);
            assert_eq!(answer["error"]["code"], -32602, "{case}");
            assert_eq!(answer["id"], 7, "{case}");
        }
    }

    #[test]
    fn good_lines_forwarded() {
        assert_eq!(
            screen(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#),
            Screened::Forward
        );
        assert_eq!(
            screen(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hub_status"}}"#
            ),
            Screened::Forward
        );
        assert_eq!(
            screen(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Screened::Forward
        );
        assert_eq!(screen("   "), Screened::Skip);
    }

    #[tokio::test]
    async fn overlong_line_answered_and_skipped() {
        let mut input = vec![b'x'; MAX_LINE_BYTES + 10];
        input.extend_from_slice(b"\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n");
        let (output, mut client) = tokio::io::duplex(1024 * 1024);

        let io = spawn_screen(std::io::Cursor::new(input), output);
        let mut requests = FramedRead::new(io.requests, LinesCodec::new());
        let forwarded = requests.next().await.unwrap().unwrap();
        assert!(forwarded.contains("\"ping\""), "{forwarded}");

        let mut answers = FramedRead::new(&mut client, LinesCodec::new());
        let answer: Value = serde_json::from_str(&answers.next().await.unwrap().unwrap()).unwrap();
        assert_eq!(answer["error"]["code"], -32600);
    }
}
