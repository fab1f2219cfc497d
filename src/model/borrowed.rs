//! [`BorrowedStr`]: a JSON string read without copying it, where it can be.
//!
//! serde's `#[serde(borrow)]` makes a `Cow<'a, str>` field borrow from the
//! input, but only a bare one: inside an `Option` (or any other wrapper) a
//! `Cow<str>` is always deserialized as an owned copy. The readers that
//! exist to avoid allocating (the replay reader's borrowed views, and
//! [`super::time_serde`], which only parses its text) hold optional text as
//! `Option<BorrowedStr>` instead: a string without escapes is then borrowed
//! from the line, and only one with escapes is copied.
//!
//! It accepts exactly what a `String` accepts (a JSON string), with the same
//! error for anything else ("invalid type: …, expected a string"), so a view
//! built of these fails where the owned type it mirrors fails.

use std::borrow::Cow;
use std::ops::Deref;

use serde::Deserialize;

/// A string borrowed from the input where it has no escapes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct BorrowedStr<'a>(#[serde(borrow)] pub(crate) Cow<'a, str>);

impl Deref for BorrowedStr<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Holder<'a> {
        #[serde(borrow)]
        text: Option<BorrowedStr<'a>>,
        #[serde(borrow)]
        plain: Option<Cow<'a, str>>,
    }

    #[test]
    fn borrows_inside_an_option_where_plain_cow_does_not() {
        let h: Holder<'_> = serde_json::from_str(r#"{"text":"abc","plain":"abc"}"#).unwrap();
        assert!(matches!(
            h.text.as_ref().map(|t| &t.0),
            Some(Cow::Borrowed("abc"))
        ));
        // Why this type exists: serde copies an optional Cow.
        assert!(matches!(h.plain, Some(Cow::Owned(_))));
        let h: Holder<'_> = serde_json::from_str(r#"{"text":"a\"c","plain":null}"#).unwrap();
        assert_eq!(h.text.as_deref(), Some("a\"c"), "escapes are decoded");
        assert!(h.plain.is_none());
    }

    #[test]
    fn rejects_what_a_string_rejects_with_the_same_message() {
        for bad in [
            r#"{"text":5}"#,
            r#"{"text":{}}"#,
            r#"{"text":["a"]}"#,
            r#"{"text":"\ud800"}"#,
        ] {
            let ours = serde_json::from_str::<Holder<'_>>(bad)
                .map(|_| ())
                .unwrap_err();
            #[derive(Debug, Deserialize)]
            #[allow(dead_code)]
            struct Owned {
                text: Option<String>,
            }
            let owned = serde_json::from_str::<Owned>(bad).unwrap_err();
            assert_eq!(ours.to_string(), owned.to_string(), "{bad}");
        }
    }
}
