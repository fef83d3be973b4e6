//! XSD whitespace collapse (`whiteSpace="collapse"`): what every typed value goes through before
//! its lexical check (`lexical.rs`) and before it is written as a JSON scalar.

use crate::iodef::bytes::any_le_space;

/// XSD whitespace collapse.
pub(crate) fn collapse(s: &str) -> String {
    collapsed(s).into_owned()
}

/// XSD whitespace collapse, allocating only when something changes.
pub(crate) fn collapsed(s: &str) -> std::borrow::Cow<'_, str> {
    let b = s.as_bytes();
    // No whitespace or control byte at all (the usual typed value): nothing to collapse.
    if !any_le_space(b) {
        return std::borrow::Cow::Borrowed(s);
    }
    // Already collapsed, or whitespace only around the value (a typed value on its own indented
    // line, the usual case here): the collapsed text is the trimmed slice, no copy. Trimming the bytes that
    // `split_ascii_whitespace` splits at leaves a slice that starts and ends with a word; if every
    // gap inside is one space, joining its words with spaces gives the slice itself.
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let mut prev_space = false;
    let mut single = true;
    for &c in t.as_bytes() {
        match c {
            b' ' if !prev_space => prev_space = true,
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => {
                single = false;
                break;
            }
            _ => prev_space = false,
        }
    }
    if single {
        return std::borrow::Cow::Borrowed(t);
    }
    // The same text as joining `split_ascii_whitespace` with spaces, without the `Vec` of words
    // (this runs for every typed value that has line breaks or indentation in it).
    let mut out = String::with_capacity(s.len());
    for w in s.split_ascii_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::collapsed;

    /// Collapsing borrows whenever the result is a slice of the value, and equals joining the
    /// words with single spaces.
    #[test]
    fn collapsed_matches_word_join() {
        for s in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\n  189234\n    ",
            "a b",
            "a  b",
            "a\tb",
            " a b ",
            "\u{c}a",
            "a\u{c}",
            "x\u{1}y",
            "é b ",
            "  é\n",
        ] {
            let join = s.split_ascii_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(collapsed(s), join, "{s:?}");
        }
        assert!(matches!(
            collapsed("\n  189234\n  "),
            std::borrow::Cow::Borrowed("189234")
        ));
    }
}
