//! A subset of Gmail's search syntax, evaluated over the sandbox mailbox.
//!
//! Free words and `"quoted phrases"` match case-insensitive substrings of the subject,
//! addresses, body and attachment names. The operators are `from:`, `to:`, `cc:`, `bcc:`,
//! `subject:`, `has:attachment`, `is:unread|read|starred|important`, `label:`, `in:`,
//! `category:`, `after:`/`before:` (`YYYY/MM/DD`, `YYYY-MM-DD` or epoch seconds, dates at
//! midnight UTC), `newer_than:`/`older_than:` (`Nd`, `Nm`, `Ny`), `filename:`,
//! `larger:`/`smaller:` (bytes, or with `K`/`M`), negation with `-`, `OR` (or `|`), `( )`
//! groups and `{ }` groups meaning OR.
//!
//! Like Gmail, the parser never rejects a query: an unknown operator or a malformed value
//! is searched as free text. Gmail compares whole words, and dates in the account's time
//! zone; the sandbox compares substrings, and dates in UTC.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

/// The searchable fields of one message, in lower case.
#[derive(Debug, Clone, Default)]
pub(crate) struct SearchFields {
    pub(crate) subject: String,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) cc: String,
    pub(crate) bcc: String,
    pub(crate) body: String,
    pub(crate) filenames: Vec<String>,
    /// The message's label ids (`INBOX`, `Label_3`), as stored.
    pub(crate) label_ids: Vec<String>,
    /// Each label's id and name, normalized with [`label_key`].
    pub(crate) label_keys: Vec<String>,
    pub(crate) internal_date_ms: i64,
    pub(crate) size: u64,
}

impl SearchFields {
    fn has_label(&self, id: &str) -> bool {
        self.label_ids.iter().any(|label| label == id)
    }
}

/// Normalizes a label id or name for `label:`: lower case, with spaces and `/` as `-`,
/// so `label:projects-sandbox` finds the label `Projects/Sandbox` as in Gmail.
pub(crate) fn label_key(name: &str) -> String {
    name.trim()
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_whitespace() || c == '/' {
                '-'
            } else {
                c
            }
        })
        .collect()
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    /// Every operand matches; the empty query is `All(vec![])` and matches everything.
    All(Vec<Expr>),
    /// At least one operand matches.
    Any(Vec<Expr>),
    /// The operand does not match.
    Not(Box<Expr>),
    /// One search term.
    Term(Term),
}

/// One search term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Term {
    /// Free text or a phrase, in lower case.
    Text(String),
    /// `from:`, `to:`, `cc:`, `bcc:` or `subject:` with its lower-case value.
    Field(Field, String),
    /// `has:attachment`.
    HasAttachment,
    /// A system label id (`is:unread` is `SystemLabel("UNREAD")`).
    SystemLabel(&'static str),
    /// `is:read`.
    Read,
    /// `label:` with its value normalized by [`label_key`].
    Label(String),
    /// `in:anywhere`.
    Anywhere,
    /// At or after this instant, in milliseconds since the epoch.
    After(i64),
    /// Before this instant, in milliseconds since the epoch.
    Before(i64),
    /// `filename:` in lower case.
    Filename(String),
    /// `larger:` in bytes.
    Larger(u64),
    /// `smaller:` in bytes.
    Smaller(u64),
    /// A term that never matches, such as `is:snoozed`.
    Nothing,
}

/// The header fields a query can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    From,
    To,
    Cc,
    Bcc,
    Subject,
}

impl Expr {
    /// Evaluates the query on one message. `user_email` stands for `me` in `from:me`.
    pub(crate) fn matches(&self, fields: &SearchFields, user_email: &str) -> bool {
        match self {
            Self::All(operands) => operands
                .iter()
                .all(|operand| operand.matches(fields, user_email)),
            Self::Any(operands) => operands
                .iter()
                .any(|operand| operand.matches(fields, user_email)),
            Self::Not(operand) => !operand.matches(fields, user_email),
            Self::Term(term) => term.matches(fields, user_email),
        }
    }

    /// Returns whether the query names trash or spam itself (`in:trash`, `in:spam`,
    /// `in:anywhere`, outside a negation). Gmail then stops hiding those messages.
    pub(crate) fn names_spam_or_trash(&self) -> bool {
        match self {
            Self::All(operands) | Self::Any(operands) => {
                operands.iter().any(Self::names_spam_or_trash)
            }
            Self::Not(_) => false,
            Self::Term(Term::Anywhere | Term::SystemLabel("TRASH" | "SPAM")) => true,
            Self::Term(Term::Label(key)) => key == "trash" || key == "spam",
            Self::Term(_) => false,
        }
    }
}

impl Term {
    fn matches(&self, fields: &SearchFields, user_email: &str) -> bool {
        match self {
            Self::Text(text) => {
                fields.subject.contains(text)
                    || fields.from.contains(text)
                    || fields.to.contains(text)
                    || fields.cc.contains(text)
                    || fields.body.contains(text)
                    || fields.filenames.iter().any(|name| name.contains(text))
            }
            Self::Field(field, value) => {
                let haystack = match field {
                    Field::From => &fields.from,
                    Field::To => &fields.to,
                    Field::Cc => &fields.cc,
                    Field::Bcc => &fields.bcc,
                    Field::Subject => &fields.subject,
                };
                let needle = if value == "me" && *field != Field::Subject {
                    user_email.to_lowercase()
                } else {
                    value.clone()
                };
                haystack.contains(&needle)
            }
            Self::HasAttachment => !fields.filenames.is_empty(),
            Self::SystemLabel(id) => fields.has_label(id),
            Self::Read => !fields.has_label("UNREAD"),
            Self::Label(key) => fields.label_keys.iter().any(|label| label == key),
            Self::Anywhere => true,
            Self::After(instant) => fields.internal_date_ms >= *instant,
            Self::Before(instant) => fields.internal_date_ms < *instant,
            Self::Filename(name) => fields.filenames.iter().any(|file| {
                file.contains(name.as_str())
                    || file
                        .rsplit_once('.')
                        .is_some_and(|(_, extension)| extension == name)
            }),
            Self::Larger(bytes) => fields.size > *bytes,
            Self::Smaller(bytes) => fields.size < *bytes,
            Self::Nothing => false,
        }
    }
}

/// Parses a Gmail query. `now` anchors `newer_than:` and `older_than:`.
pub(crate) fn parse(query: &str, now: DateTime<Utc>) -> Expr {
    let tokens = tokenize(query);
    let mut parser = Parser {
        tokens,
        position: 0,
        now,
        depth: 0,
    };
    parser.sequence(None)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Phrase(String),
    Minus,
    Or,
    Open(char),
    Close(char),
}

fn tokenize(query: &str) -> Vec<Token> {
    let chars: Vec<char> = query.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;

    while index < chars.len() {
        let c = chars[index];
        if c.is_whitespace() {
            index += 1;
        } else if c == '(' || c == '{' {
            tokens.push(Token::Open(c));
            index += 1;
        } else if c == ')' || c == '}' {
            tokens.push(Token::Close(c));
            index += 1;
        } else if c == '-'
            && chars
                .get(index + 1)
                .is_some_and(|next| !next.is_whitespace())
        {
            tokens.push(Token::Minus);
            index += 1;
        } else if c == '"' {
            let (phrase, next) = read_quoted(&chars, index + 1);
            tokens.push(Token::Phrase(phrase));
            index = next;
        } else {
            let (word, next) = read_word(&chars, index);
            index = next;
            if word == "OR" || word == "|" {
                tokens.push(Token::Or);
            } else if word != "AND" {
                tokens.push(Token::Word(word));
            }
        }
    }
    tokens
}

/// Reads up to the closing quote, or to the end when the quote is never closed.
fn read_quoted(chars: &[char], start: usize) -> (String, usize) {
    let mut end = start;
    while end < chars.len() && chars[end] != '"' {
        end += 1;
    }
    let text = chars[start..end].iter().collect();
    (text, (end + 1).min(chars.len()))
}

/// Reads a word, including a quoted operator value such as `subject:"two words"`.
fn read_word(chars: &[char], start: usize) -> (String, usize) {
    let mut word = String::new();
    let mut index = start;
    while index < chars.len() {
        let c = chars[index];
        if c.is_whitespace() || matches!(c, '(' | ')' | '{' | '}') {
            break;
        }
        if c == '"' && word.ends_with(':') {
            let (quoted, next) = read_quoted(chars, index + 1);
            word.push_str(&quoted);
            index = next;
            break;
        }
        word.push(c);
        index += 1;
    }
    (word, index)
}

/// Groups and negations nested deeper than this are dropped, so a hostile query cannot
/// exhaust the stack.
const MAX_NESTING: usize = 32;

struct Parser {
    tokens: Vec<Token>,
    position: usize,
    now: DateTime<Utc>,
    depth: usize,
}

impl Parser {
    /// Parses operands up to `close` (or the end), joined by AND, with `OR` binding tighter
    /// as in Gmail: `a b OR c` is `a AND (b OR c)`.
    fn sequence(&mut self, close: Option<char>) -> Expr {
        let mut operands = Vec::new();
        while let Some(token) = self.tokens.get(self.position) {
            if let Token::Close(c) = token {
                self.position += 1;
                if Some(*c) == close {
                    break;
                }
                continue;
            }
            if *token == Token::Or {
                self.position += 1;
                continue;
            }
            operands.push(self.disjunction());
        }
        if close == Some('}') {
            Expr::Any(operands)
        } else {
            Expr::All(operands)
        }
    }

    fn disjunction(&mut self) -> Expr {
        let mut alternatives = vec![self.unary()];
        while self.tokens.get(self.position) == Some(&Token::Or) {
            self.position += 1;
            if matches!(self.tokens.get(self.position), None | Some(Token::Close(_))) {
                break;
            }
            alternatives.push(self.unary());
        }
        if alternatives.len() == 1 {
            alternatives.remove(0)
        } else {
            Expr::Any(alternatives)
        }
    }

    fn unary(&mut self) -> Expr {
        if self.depth >= MAX_NESTING {
            self.position = self.tokens.len();
            return Expr::All(Vec::new());
        }
        self.depth += 1;
        let expr = self.unary_at_depth();
        self.depth -= 1;
        expr
    }

    fn unary_at_depth(&mut self) -> Expr {
        let Some(token) = self.tokens.get(self.position).cloned() else {
            return Expr::All(Vec::new());
        };
        self.position += 1;
        match token {
            Token::Minus => {
                if matches!(
                    self.tokens.get(self.position),
                    None | Some(Token::Close(_) | Token::Or)
                ) {
                    return Expr::All(Vec::new());
                }
                Expr::Not(Box::new(self.unary()))
            }
            Token::Open('{') => self.sequence(Some('}')),
            Token::Open(_) => self.sequence(Some(')')),
            Token::Phrase(phrase) => Expr::Term(Term::Text(phrase.to_lowercase())),
            Token::Word(word) => Expr::Term(word_term(&word, self.now)),
            Token::Or | Token::Close(_) => Expr::All(Vec::new()),
        }
    }
}

fn word_term(word: &str, now: DateTime<Utc>) -> Term {
    let text = || Term::Text(word.to_lowercase());
    let Some((operator, value)) = word.split_once(':') else {
        return text();
    };
    let value = value.trim();
    if value.is_empty() {
        return text();
    }
    let lower = value.to_lowercase();

    let term = match operator.to_ascii_lowercase().as_str() {
        "from" => Some(Term::Field(Field::From, lower)),
        "to" => Some(Term::Field(Field::To, lower)),
        "cc" => Some(Term::Field(Field::Cc, lower)),
        "bcc" => Some(Term::Field(Field::Bcc, lower)),
        "subject" => Some(Term::Field(Field::Subject, lower)),
        "has" => (lower == "attachment").then_some(Term::HasAttachment),
        "is" => is_term(&lower),
        "in" => in_term(&lower),
        "label" => Some(Term::Label(label_key(value))),
        "category" => Some(Term::SystemLabel(category_label(&lower))),
        "after" => parse_instant(value).map(Term::After),
        "before" => parse_instant(value).map(Term::Before),
        "newer_than" => parse_age(&lower).map(|age| Term::After((now - age).timestamp_millis())),
        "older_than" => parse_age(&lower).map(|age| Term::Before((now - age).timestamp_millis())),
        "filename" => Some(Term::Filename(lower)),
        "larger" | "size" => parse_size(&lower).map(Term::Larger),
        "smaller" => parse_size(&lower).map(Term::Smaller),
        _ => None,
    };
    term.unwrap_or_else(text)
}

fn is_term(value: &str) -> Option<Term> {
    Some(match value {
        "unread" => Term::SystemLabel("UNREAD"),
        "read" => Term::Read,
        "starred" => Term::SystemLabel("STARRED"),
        "important" => Term::SystemLabel("IMPORTANT"),
        "snoozed" | "muted" | "chat" => Term::Nothing,
        _ => return None,
    })
}

fn in_term(value: &str) -> Option<Term> {
    Some(match value {
        "inbox" => Term::SystemLabel("INBOX"),
        "sent" => Term::SystemLabel("SENT"),
        "trash" => Term::SystemLabel("TRASH"),
        "spam" => Term::SystemLabel("SPAM"),
        "draft" | "drafts" => Term::SystemLabel("DRAFT"),
        "starred" => Term::SystemLabel("STARRED"),
        "important" => Term::SystemLabel("IMPORTANT"),
        "anywhere" => Term::Anywhere,
        "chats" | "snoozed" => Term::Nothing,
        _ => return None,
    })
}

fn category_label(value: &str) -> &'static str {
    match value {
        "primary" | "personal" => "CATEGORY_PERSONAL",
        "social" => "CATEGORY_SOCIAL",
        "promotions" => "CATEGORY_PROMOTIONS",
        "updates" => "CATEGORY_UPDATES",
        "forums" => "CATEGORY_FORUMS",
        _ => "CATEGORY_UNKNOWN",
    }
}

/// Parses `YYYY/MM/DD`, `YYYY-MM-DD` (midnight UTC) or epoch seconds into milliseconds.
fn parse_instant(value: &str) -> Option<i64> {
    if value.chars().all(|c| c.is_ascii_digit()) {
        let seconds: i64 = value.parse().ok()?;
        return seconds.checked_mul(1000);
    }

    let normalized = value.replace('-', "/");
    let mut fields = normalized.split('/');
    let year = fields.next()?.parse().ok()?;
    let month = fields.next()?.parse().ok()?;
    let day = fields.next()?.parse().ok()?;
    if fields.next().is_some() {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

/// Parses `newer_than:` and `older_than:` values: `3d`, `2m` (30-day months), `1y` (365 days).
fn parse_age(value: &str) -> Option<TimeDelta> {
    let unit = value.chars().last()?;
    let count: i64 = value.get(..value.len() - unit.len_utf8())?.parse().ok()?;
    let days = match unit {
        'd' => count,
        'm' => count.checked_mul(30)?,
        'y' => count.checked_mul(365)?,
        _ => return None,
    };
    TimeDelta::try_days(days)
}

/// Parses `larger:`/`smaller:` values: bytes, or a number with `K` or `M` (powers of 1024).
fn parse_size(value: &str) -> Option<u64> {
    let (digits, multiplier) = match value.chars().last()? {
        'k' => (&value[..value.len() - 1], 1024),
        'm' => (&value[..value.len() - 1], 1024 * 1024),
        _ => (value, 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(multiplier)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-06-01T00:00:00Z")
            .expect("date")
            .with_timezone(&Utc)
    }

    fn term(term: Term) -> Expr {
        Expr::Term(term)
    }

    fn all(operands: Vec<Expr>) -> Expr {
        Expr::All(operands)
    }

    fn sample() -> SearchFields {
        SearchFields {
            subject: "quarterly report".to_owned(),
            from: "ada lovelace <ada@example.com>".to_owned(),
            to: "sandbox.user@example.com".to_owned(),
            body: "the numbers are in".to_owned(),
            filenames: vec!["rechnung_märz.pdf".to_owned()],
            label_ids: vec![
                "INBOX".to_owned(),
                "UNREAD".to_owned(),
                "Label_1".to_owned(),
            ],
            label_keys: vec![
                "inbox".to_owned(),
                "unread".to_owned(),
                "label_1".to_owned(),
                "finance-invoices".to_owned(),
            ],
            internal_date_ms: parse_instant("2025/03/10").expect("date") + 3_600_000,
            size: 5000,
            ..SearchFields::default()
        }
    }

    fn hits(query: &str) -> bool {
        parse(query, now()).matches(&sample(), "sandbox.user@example.com")
    }

    #[test]
    fn words_and_phrases_parse() {
        assert_eq!(
            parse("Report \"the numbers\"", now()),
            all(vec![
                term(Term::Text("report".into())),
                term(Term::Text("the numbers".into()))
            ])
        );
        assert_eq!(parse("", now()), all(vec![]));
    }

    #[test]
    fn operators_parse() {
        assert_eq!(
            parse("from:Ada", now()),
            all(vec![term(Term::Field(Field::From, "ada".into()))])
        );
        assert_eq!(
            parse("subject:\"two words\"", now()),
            all(vec![term(Term::Field(Field::Subject, "two words".into()))])
        );
        assert_eq!(
            parse("label:Finance/Invoices", now()),
            all(vec![term(Term::Label("finance-invoices".into()))])
        );
        assert_eq!(
            parse("is:unread", now()),
            all(vec![term(Term::SystemLabel("UNREAD"))])
        );
        assert_eq!(
            parse("has:attachment", now()),
            all(vec![term(Term::HasAttachment)])
        );
    }

    #[test]
    fn negation_and_or_parse() {
        assert_eq!(
            parse("a -b OR c", now()),
            all(vec![
                term(Term::Text("a".into())),
                Expr::Any(vec![
                    Expr::Not(Box::new(term(Term::Text("b".into())))),
                    term(Term::Text("c".into()))
                ]),
            ])
        );
        assert_eq!(
            parse("{x y}", now()),
            all(vec![Expr::Any(vec![
                term(Term::Text("x".into())),
                term(Term::Text("y".into()))
            ])])
        );
    }

    #[test]
    fn unknown_operator_is_text() {
        assert_eq!(
            parse("foo:bar", now()),
            all(vec![term(Term::Text("foo:bar".into()))])
        );
        assert_eq!(
            parse("after:someday", now()),
            all(vec![term(Term::Text("after:someday".into()))])
        );
    }

    #[test]
    fn malformed_queries_do_not_panic() {
        let deep = "(".repeat(10_000) + &"-".repeat(10_000);
        for query in [
            deep.as_str(),
            "-",
            "\"",
            "((",
            "))",
            "OR",
            "a OR",
            "-(",
            "{",
            "subject:\"",
            "é-ü",
            "larger:k",
            "newer_than:d",
        ] {
            let _ = parse(query, now()).matches(&sample(), "me@example.com");
        }
    }

    #[test]
    fn dates_parse() {
        assert_eq!(parse_instant("2025/03/10"), Some(1_741_564_800_000));
        assert_eq!(parse_instant("2025-03-10"), Some(1_741_564_800_000));
        assert_eq!(parse_instant("1741564800"), Some(1_741_564_800_000));
        assert_eq!(parse_instant("2025/13/10"), None);
        assert_eq!(parse_age("3d"), TimeDelta::try_days(3));
        assert_eq!(parse_size("2k"), Some(2048));
    }

    #[test]
    fn matching_covers_operators() {
        assert!(hits("REPORT"));
        assert!(hits("\"numbers are\""));
        assert!(!hits("\"are numbers\""));
        assert!(hits("from:ada@example.com"));
        assert!(hits("to:me"));
        assert!(!hits("from:me"));
        assert!(hits("subject:quarterly"));
        assert!(hits("has:attachment"));
        assert!(hits("filename:pdf"));
        assert!(hits("filename:märz"));
        assert!(hits("is:unread"));
        assert!(!hits("is:read"));
        assert!(hits("label:finance-invoices"));
        assert!(hits("label:Finance/Invoices"));
        assert!(hits("in:inbox"));
        assert!(!hits("in:sent"));
        assert!(hits("after:2025/03/10 before:2025-03-11"));
        assert!(!hits("after:2025/03/11"));
        assert!(hits("-from:grace"));
        assert!(!hits("-from:ada"));
        assert!(hits("grace OR ada"));
        assert!(hits("larger:4k smaller:1M"));
        assert!(hits("older_than:30d"));
        assert!(!hits("newer_than:30d"));
    }

    #[test]
    fn spam_and_trash_named() {
        assert!(parse("in:trash", now()).names_spam_or_trash());
        assert!(parse("x in:anywhere", now()).names_spam_or_trash());
        assert!(!parse("-in:trash", now()).names_spam_or_trash());
        assert!(!parse("in:inbox", now()).names_spam_or_trash());
    }
}
