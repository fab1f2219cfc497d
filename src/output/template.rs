//! `-o template --template TEXT` and `-o name`.
//!
//! A template is minijinja (Jinja2), rendered once per event over its
//! `kev/v1` record (`{{ reason }}`, `{{ object.name }}`, `{{ count }}`), each
//! rendering followed by a newline unless it ends with one. Every value a
//! template prints is escaped for the terminal ([`crate::escape`]); the
//! template's own text is the user's and printed as written.
//!
//! The template is compiled once, when the settings are checked, and kept
//! for the process ([`install`]): the printers are built in several places
//! (the terminal sink, the parallel replay encoders) from the format alone.

use std::io::{self, Write};
use std::sync::OnceLock;

use chrono::{DateTime, Utc};

use super::Printer;
use crate::model::Occurrence;

static TEMPLATE: OnceLock<minijinja::Environment<'static>> = OnceLock::new();
const NAME: &str = "template";

/// Compile `source` and keep it for [`TemplatePrinter`]; the error (with
/// its line) when it does not compile.
pub fn install(source: &str) -> Result<(), String> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    // Cluster text reaches a terminal: every value printed is escaped.
    env.set_formatter(|out, _state, value| {
        let text = match value.as_str() {
            Some(s) => crate::escape::escape(s).into_owned(),
            None if value.is_undefined() || value.is_none() => String::new(),
            None => crate::escape::escape(&value.to_string()).into_owned(),
        };
        out.write_str(&text)
            .map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "cannot write"))
    });
    env.add_template_owned(NAME, source.to_string())
        .map_err(|e| {
            let line = e.line().map(|l| format!(" (line {l})")).unwrap_or_default();
            format!("{}{line}", e.detail().unwrap_or(&e.kind().to_string()))
        })?;
    // A second install (tests) keeps the first.
    let _ = TEMPLATE.set(env);
    Ok(())
}

/// `-o template`: see the module docs.
#[derive(Debug, Default)]
pub struct TemplatePrinter;

impl Printer for TemplatePrinter {
    fn print_one(
        &mut self,
        out: &mut dyn Write,
        occ: &Occurrence,
        _now: DateTime<Utc>,
    ) -> io::Result<()> {
        let env = TEMPLATE
            .get()
            .ok_or_else(|| io::Error::other("-o template: no --template was given"))?;
        let t = env.get_template(NAME).map_err(io::Error::other)?;
        let mut text = t
            .render(minijinja::Value::from(minijinja::value::Serde(
                occ.record(),
            )))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("--template: {e}")))?;
        if !text.ends_with('\n') {
            text.push('\n');
        }
        out.write_all(text.as_bytes())
    }
}

/// `-o name`: `event/NAME` per event, as `kubectl get events -o name`.
#[derive(Debug, Default)]
pub struct NamePrinter;

impl Printer for NamePrinter {
    fn print_one(
        &mut self,
        out: &mut dyn Write,
        occ: &Occurrence,
        _now: DateTime<Utc>,
    ) -> io::Result<()> {
        writeln!(out, "event/{}", crate::escape::escape(&occ.event.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Event, ObjectRef, RecordContext};

    #[test]
    fn renders_each_record_escaped_and_names_events() {
        install("{{ reason }} {{ object.kind }}/{{ object.name }} x{{ count }}: {{ message }}")
            .unwrap();
        let occ = Occurrence::new(
            Event {
                name: "web.1".into(),
                reason: Some("BackOff".into()),
                message: Some("bad \u{1b}[31mred".into()),
                count: 3,
                object: ObjectRef {
                    kind: Some("Pod".into()),
                    name: Some("web".into()),
                    ..Default::default()
                },
                ..Default::default()
            },
            RecordContext::default(),
        );
        let mut out = Vec::new();
        TemplatePrinter
            .print_one(&mut out, &occ, Utc::now())
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "BackOff Pod/web x3: bad ^[[31mred\n"
        );
        let mut out = Vec::new();
        NamePrinter.print_one(&mut out, &occ, Utc::now()).unwrap();
        assert_eq!(out, b"event/web.1\n");
        let e = install("{{ reason ").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
    }
}
