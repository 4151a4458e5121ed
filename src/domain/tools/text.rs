//! Cutting long text to a character budget without splitting a character, and telling the
//! model how to read on.

/// A window onto a long text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyWindow {
    /// The characters inside the window.
    pub text: String,
    /// The total length of the text, in characters.
    pub total_chars: usize,
    /// Where the next window starts, in characters; `None` when the window reaches the end.
    pub next_offset: Option<usize>,
}

/// Returns at most `max_chars` characters of `text`, starting at character `offset`.
///
/// Offsets count Unicode scalar values, not bytes, so a cut never splits a character and
/// a model can pass `next_offset` back unchanged.
pub fn cut_chars(text: &str, offset: usize, max_chars: usize) -> BodyWindow {
    let total_chars = text.chars().count();
    let start = byte_index(text, offset);
    let rest = &text[start..];
    let end = byte_index(rest, max_chars);

    let next = offset.saturating_add(max_chars);
    BodyWindow {
        text: rest[..end].to_owned(),
        total_chars,
        next_offset: (next < total_chars).then_some(next),
    }
}

fn byte_index(text: &str, chars: usize) -> usize {
    text.char_indices()
        .nth(chars)
        .map_or(text.len(), |(index, _)| index)
}

/// Returns the first `max_chars` characters of `text`, with `…` appended when cut.
pub(crate) fn shorten(text: &str, max_chars: usize) -> String {
    let window = cut_chars(text, 0, max_chars);
    if window.next_offset.is_some() {
        format!("{}…", window.text)
    } else {
        window.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_on_character_boundary() {
        let window = cut_chars("héllo wörld", 0, 5);
        assert_eq!(window.text, "héllo");
        assert_eq!(window.total_chars, 11);
        assert_eq!(window.next_offset, Some(5));

        let window = cut_chars("héllo wörld", 5, 100);
        assert_eq!(window.text, " wörld");
        assert_eq!(window.next_offset, None);
    }

    #[test]
    fn offset_past_end_is_empty() {
        let window = cut_chars("abc", 10, 5);
        assert_eq!(window.text, "");
        assert_eq!(window.next_offset, None);
    }

    #[test]
    fn emoji_and_combining_marks_survive() {
        let text = "👍🏽e\u{301}x";
        let first = cut_chars(text, 0, 2);
        let second = cut_chars(text, 2, 10);
        assert_eq!(format!("{}{}", first.text, second.text), text);
    }

    #[test]
    fn shorten_marks_cut() {
        assert_eq!(shorten("abcdef", 3), "abc…");
        assert_eq!(shorten("abc", 3), "abc");
    }
}
