//! Server-side field selectors for core/v1 Events, as the apiserver parses and applies them.
//!
//! The grammar is apimachinery's `fields.ParseSelector`: terms joined by `,`,
//! each `field=value`, `field==value` or `field!=value`, with `\,`, `\=` and
//! `\\` as escapes in values. The fields are those the Event registry makes
//! selectable (`pkg/registry/core/event/strategy.go`); any other field is
//! refused with the apiserver's message, `field label not supported: <field>`.

use serde_json::Value;

/// Why a field selector was refused; the message is the apiserver's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SelectorError {
    /// The field is not selectable on Events.
    #[error("field label not supported: {0}")]
    Unsupported(String),
    /// The selector does not parse.
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    Invalid { selector: String, term: String },
    /// A backslash escape other than `\\`, `\,` or `\=`.
    #[error("invalid field selector: invalid escape sequence: {0}")]
    BadEscape(String),
}

/// A selectable field of a core/v1 Event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    InvolvedKind,
    InvolvedNamespace,
    InvolvedName,
    InvolvedUid,
    InvolvedApiVersion,
    InvolvedResourceVersion,
    InvolvedFieldPath,
    Reason,
    ReportingComponent,
    Source,
    Type,
    Name,
    Namespace,
}

/// Every field, in index order (see [`Fields`]).
const ALL_FIELDS: [Field; 13] = [
    Field::InvolvedKind,
    Field::InvolvedNamespace,
    Field::InvolvedName,
    Field::InvolvedUid,
    Field::InvolvedApiVersion,
    Field::InvolvedResourceVersion,
    Field::InvolvedFieldPath,
    Field::Reason,
    Field::ReportingComponent,
    Field::Source,
    Field::Type,
    Field::Name,
    Field::Namespace,
];

impl Field {
    fn parse(label: &str) -> Option<Self> {
        Some(match label {
            "involvedObject.kind" => Field::InvolvedKind,
            "involvedObject.namespace" => Field::InvolvedNamespace,
            "involvedObject.name" => Field::InvolvedName,
            "involvedObject.uid" => Field::InvolvedUid,
            "involvedObject.apiVersion" => Field::InvolvedApiVersion,
            "involvedObject.resourceVersion" => Field::InvolvedResourceVersion,
            "involvedObject.fieldPath" => Field::InvolvedFieldPath,
            "reason" => Field::Reason,
            "reportingComponent" => Field::ReportingComponent,
            "source" => Field::Source,
            "type" => Field::Type,
            "metadata.name" => Field::Name,
            "metadata.namespace" => Field::Namespace,
            _ => return None,
        })
    }

    /// The field's value on `event`; a missing field is the empty string, as in Go.
    fn value(self, event: &Value) -> &str {
        let at = |path: &[&str]| {
            path.iter()
                .try_fold(event, |v, key| v.get(key))
                .and_then(Value::as_str)
                .unwrap_or("")
        };
        match self {
            Field::InvolvedKind => at(&["involvedObject", "kind"]),
            Field::InvolvedNamespace => at(&["involvedObject", "namespace"]),
            Field::InvolvedName => at(&["involvedObject", "name"]),
            Field::InvolvedUid => at(&["involvedObject", "uid"]),
            Field::InvolvedApiVersion => at(&["involvedObject", "apiVersion"]),
            Field::InvolvedResourceVersion => at(&["involvedObject", "resourceVersion"]),
            Field::InvolvedFieldPath => at(&["involvedObject", "fieldPath"]),
            Field::Reason => at(&["reason"]),
            Field::ReportingComponent => at(&["reportingComponent"]),
            // The registry falls back to the reporting controller when the
            // legacy source is empty (events written through events.k8s.io).
            Field::Source => match at(&["source", "component"]) {
                "" => at(&["reportingComponent"]),
                component => component,
            },
            Field::Type => at(&["type"]),
            Field::Name => at(&["metadata", "name"]),
            Field::Namespace => at(&["metadata", "namespace"]),
        }
    }
}

/// The selectable field values of one event, extracted once when it is stored.
///
/// Keeping these instead of the parsed JSON tree is what lets the store hold
/// tens of thousands of events in little memory: the tree of a real event
/// (with `managedFields`) is many times the size of its text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Fields(Box<[Box<str>]>);

impl Fields {
    /// Extract the selectable fields of `event` (a core/v1 Event as JSON).
    pub fn of(event: &Value) -> Self {
        Fields(ALL_FIELDS.iter().map(|f| f.value(event).into()).collect())
    }

    fn get(&self, field: Field) -> &str {
        self.0.get(field as usize).map_or("", |v| v)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    field: Field,
    equal: bool,
    value: String,
}

/// A parsed field selector: every term must hold. The default selects everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldSelector {
    terms: Vec<Term>,
}

impl FieldSelector {
    /// Parse a `fieldSelector` query parameter.
    pub fn parse(selector: &str) -> Result<Self, SelectorError> {
        let mut terms = Vec::new();
        for part in split_unescaped(selector, ',') {
            if part.is_empty() {
                continue;
            }
            let invalid = || SelectorError::Invalid {
                selector: selector.to_owned(),
                term: part.to_owned(),
            };
            let (label, equal, raw) = split_term(part).ok_or_else(invalid)?;
            let field = Field::parse(label.trim())
                .ok_or_else(|| SelectorError::Unsupported(label.trim().to_owned()))?;
            terms.push(Term {
                field,
                equal,
                value: unescape(raw)?,
            });
        }
        Ok(FieldSelector { terms })
    }

    /// Whether an event with these field values satisfies every term.
    pub fn matches(&self, fields: &Fields) -> bool {
        self.terms
            .iter()
            .all(|t| (fields.get(t.field) == t.value) == t.equal)
    }

    /// Whether the selector has no terms (the apiserver then reports `remainingItemCount`).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

/// Split on `sep` where it is not escaped by a backslash.
fn split_unescaped(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&s[start..]);
    parts
}

/// Split a term at its first unescaped operator: `!=`, `==` or `=`, in that order of preference.
fn split_term(term: &str) -> Option<(&str, bool, &str)> {
    let bytes = term.as_bytes();
    let mut escaped = false;
    for i in 0..bytes.len() {
        if escaped {
            escaped = false;
            continue;
        }
        if bytes[i] == b'\\' {
            escaped = true;
            continue;
        }
        let rest = &term[i..];
        if rest.starts_with("!=") {
            return Some((&term[..i], false, &term[i + 2..]));
        }
        if rest.starts_with("==") {
            return Some((&term[..i], true, &term[i + 2..]));
        }
        if rest.starts_with('=') {
            return Some((&term[..i], true, &term[i + 1..]));
        }
    }
    None
}

fn unescape(raw: &str) -> Result<String, SelectorError> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(e @ ('\\' | ',' | '=')) => out.push(e),
            Some(other) => return Err(SelectorError::BadEscape(format!("\\{other}"))),
            None => return Err(SelectorError::BadEscape("\\".into())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({
            "metadata": {"name": "web.1", "namespace": "payments"},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "payments"},
            "reason": "BackOff", "type": "Warning",
            "source": {}, "reportingComponent": "kubelet"
        })
    }

    #[test]
    fn table() {
        let cases = [
            ("", true),
            ("type=Warning", true),
            ("type==Warning", true),
            ("type!=Warning", false),
            ("type=warning", false),
            ("involvedObject.kind=Pod,involvedObject.name=web", true),
            ("involvedObject.kind=Pod,involvedObject.name=db", false),
            ("source=kubelet", true),
            ("involvedObject.fieldPath=", true),
            ("metadata.namespace=payments,reason!=Pulled", true),
        ];
        for (selector, want) in cases {
            let s = FieldSelector::parse(selector).unwrap();
            assert_eq!(s.matches(&Fields::of(&event())), want, "{selector}");
        }
    }

    #[test]
    fn errors_read_like_the_apiserver() {
        let err = FieldSelector::parse("type=Warning,foo=bar").unwrap_err();
        assert_eq!(err.to_string(), "field label not supported: foo");
        let err = FieldSelector::parse("type").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid selector: 'type'; can't understand 'type'"
        );
    }

    #[test]
    fn field_indexes_follow_the_enum() {
        for (i, f) in ALL_FIELDS.iter().enumerate() {
            assert_eq!(*f as usize, i);
        }
    }

    #[test]
    fn escapes() {
        let s = FieldSelector::parse(r"reason=a\,b\=c,type=Warning").unwrap();
        assert!(s.matches(&Fields::of(&json!({"reason": "a,b=c", "type": "Warning"}))));
    }
}
