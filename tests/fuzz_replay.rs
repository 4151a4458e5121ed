//! Replays the fuzz seeds, saved crash inputs and the shared `.eml` and `.ics` corpora
//! through the same entry points the fuzz targets call, on the stable toolchain. A panic
//! in any parser fails the test and names the file.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use mcp_google_hub::fuzzing;

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// Lists every file under `dir`, recursively and sorted. A missing `dir` gives no files.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Lists the project's seeds and saved regressions for `target`.
fn project_inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(MANIFEST_DIR).join("fuzz");
    let mut files = files_under(&fuzz.join("seeds").join(target));
    files.extend(files_under(&fuzz.join("regressions").join(target)));
    files
}

/// Lists the files of one shared corpus, without its licence files.
fn shared_corpus(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(MANIFEST_DIR).join("../shared/corpus").join(kind);
    files_under(&dir)
        .into_iter()
        .filter(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            !name.starts_with("LICENSE")
        })
        .collect()
}

/// Feeds each file to `entry`, collecting every file that panics, and returns how many
/// files were read.
fn replay(files: &[PathBuf], entry: impl Fn(&Path, &[u8])) -> usize {
    let mut panicked = Vec::new();
    for file in files {
        let bytes = std::fs::read(file).expect("reading a replay input");
        if catch_unwind(AssertUnwindSafe(|| entry(file, &bytes))).is_err() {
            panicked.push(file.display().to_string());
        }
    }
    assert!(panicked.is_empty(), "parsers panicked on: {panicked:#?}");
    files.len()
}

#[test]
fn oma_response_seeds() {
    let count = replay(&project_inputs("oma_response"), |_, bytes| {
        fuzzing::oma_response(bytes)
    });
    assert!(count > 0, "no oma_response seeds found");
}

#[test]
fn token_file_seeds() {
    let count = replay(&project_inputs("token_file"), |_, bytes| {
        fuzzing::token_file(bytes);
    });
    assert!(count > 0, "no token_file seeds found");
}

#[test]
fn gmail_message_seeds() {
    let count = replay(&project_inputs("gmail_message"), |_, bytes| {
        fuzzing::gmail_message(bytes)
    });
    assert!(count > 0, "no gmail_message seeds found");
}

#[test]
fn eml_corpus_and_seeds() {
    let mut files = shared_corpus("eml");
    assert!(
        !files.is_empty(),
        "the shared .eml corpus is missing beside the repository"
    );
    files.extend(project_inputs("eml"));

    replay(&files, |_, bytes| fuzzing::eml(bytes));
}

#[test]
fn ics_corpus_and_seeds() {
    let mut files = shared_corpus("ics");
    assert!(
        !files.is_empty(),
        "the shared .ics corpus is missing beside the repository"
    );
    files.extend(project_inputs("ics"));

    replay(&files, |_, bytes| fuzzing::ics(bytes));
}

#[test]
fn tool_arguments_seeds() {
    let names = fuzzing::tool_names();
    let files = project_inputs("tool_arguments");
    assert!(!files.is_empty(), "no tool_arguments seeds found");

    // Seeds sit in a directory named after their tool.
    replay(&files, |file, bytes| {
        let tool = file
            .parent()
            .and_then(Path::file_name)
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        assert!(
            names.contains(&tool.as_str()),
            "{} is not under a tool's directory",
            file.display()
        );
        fuzzing::tool_arguments(&tool, bytes);
    });
}

#[test]
fn dotenv_seeds() {
    let count = replay(&project_inputs("dotenv"), |_, bytes| fuzzing::dotenv(bytes));
    assert!(count > 0, "no dotenv seeds found");
}

#[test]
fn mcp_line_seeds() {
    let count = replay(&project_inputs("mcp_line"), |_, bytes| {
        fuzzing::mcp_line(bytes)
    });
    assert!(count > 0, "no mcp_line seeds found");
}

#[test]
fn google_error_seeds() {
    let files = project_inputs("google_error");
    assert!(!files.is_empty(), "no google_error seeds found");

    // Seeds are named `<status>-<case>`. Each body is also tried with the other statuses,
    // so that it meets every branch of the status mapping.
    replay(&files, |file, bytes| {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        let status: u16 = name
            .split('-')
            .next()
            .and_then(|prefix| prefix.parse().ok())
            .unwrap_or_else(|| panic!("{} is not named <status>-<case>", file.display()));
        fuzzing::google_error(status, bytes);
        for other in [400, 401, 403, 404, 429, 500, 503] {
            fuzzing::google_error(other, bytes);
        }
    });
}
