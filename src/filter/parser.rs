//! Recursive-descent parser for the filter language (design.md, "Filter language"):
//!
//! ```text
//! expr  := term (("or" | "||") term)*
//! term  := unary (("and" | "&&")? unary)*          juxtaposition means and
//! unary := ("not" | "!") unary | "(" expr ")" | pred
//! pred  := FIELD OP VALUE | FIELD "in" "(" VALUE ("," VALUE)* ")"
//! ```
//!
//! Keywords are recognised in any ASCII case (`AND` works), field names too
//! (`apiversion`); both print in their canonical spelling. Nesting (each `(`
//! and each `not`) is capped at [`MAX_DEPTH`] so hostile input ends in an
//! error, not a stack overflow. Whether a value suits its field (an integer
//! for `count`, a valid regex) is checked by the compiler, not here.

use super::ast::{Expr, Field, Predicate, Span, Value};
use super::error::{EXPRESSION, FilterError};
use super::lexer::{Token, TokenKind, tokenize};

/// The deepest nesting of parentheses and `not` accepted.
pub const MAX_DEPTH: usize = 256;

/// Parse a whole expression.
pub fn parse(text: &str) -> Result<Expr, FilterError> {
    parse_range(text, 0, text.len())
}

/// Parse the expression in `text[start..end]`; spans (and errors) are
/// offsets into the whole `text`.
pub fn parse_range(text: &str, start: usize, end: usize) -> Result<Expr, FilterError> {
    let tokens = tokenize(text, start, end)?;
    let mut p = Parser {
        text,
        tokens,
        pos: 0,
        depth: 0,
    };
    if p.peek().kind == TokenKind::Eof {
        return Err(p.error(
            "empty expression: expected a predicate such as type=Warning",
            p.peek().span,
        ));
    }
    let e = p.expr()?;
    let t = p.peek();
    if t.kind != TokenKind::Eof {
        let msg = match &t.kind {
            TokenKind::RParen => "unbalanced `)`: no `(` to close".to_string(),
            TokenKind::Op(op) => format!(
                "unexpected `{op}` after a complete predicate; quote values that contain operators, e.g. message=\"a=b\""
            ),
            k => format!("unexpected {} after a complete predicate", k.describe()),
        };
        return Err(p.error(msg, t.span));
    }
    Ok(e)
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

fn keyword(t: &Token, kw: &str) -> bool {
    matches!(&t.kind, TokenKind::Word(w) if w.eq_ignore_ascii_case(kw))
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        // The token list always ends with Eof and the parser never moves past it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn error(&self, msg: impl Into<String>, span: Span) -> FilterError {
        FilterError::new(msg, EXPRESSION, self.text, span)
    }

    fn enter(&mut self, span: Span) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(
                format!("expression nested too deeply: more than {MAX_DEPTH} levels of parentheses and `not`"),
                span,
            ));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr, FilterError> {
        let mut terms = vec![self.term()?];
        while keyword(self.peek(), "or") || self.peek().kind == TokenKind::OrOr {
            self.bump();
            terms.push(self.term()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::Or(terms)
        })
    }

    /// Whether the next token can start a unary (for juxtaposition).
    fn starts_unary(&self) -> bool {
        let t = self.peek();
        match &t.kind {
            TokenKind::Word(_) => !keyword(t, "or") && !keyword(t, "and"),
            TokenKind::Bang | TokenKind::LParen => true,
            _ => false,
        }
    }

    fn term(&mut self) -> Result<Expr, FilterError> {
        let mut terms = vec![self.unary()?];
        loop {
            if keyword(self.peek(), "and") || self.peek().kind == TokenKind::AndAnd {
                self.bump();
                terms.push(self.unary()?);
            } else if self.starts_unary() {
                terms.push(self.unary()?);
            } else {
                break;
            }
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::And(terms)
        })
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        let t = self.peek().clone();
        if keyword(&t, "not") || t.kind == TokenKind::Bang {
            self.bump();
            self.enter(t.span)?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if t.kind == TokenKind::LParen {
            self.bump();
            self.enter(t.span)?;
            let inner = self.expr()?;
            self.depth -= 1;
            let close = self.bump();
            if close.kind != TokenKind::RParen {
                return Err(self.error(
                    format!(
                        "expected `)` to close the `(` at column {}, found {}",
                        self.column(t.span),
                        close.kind.describe()
                    ),
                    close.span,
                ));
            }
            return Ok(inner);
        }
        self.pred()
    }

    fn column(&self, span: Span) -> usize {
        self.error("", span).column()
    }

    fn pred(&mut self) -> Result<Expr, FilterError> {
        let t = self.bump();
        let name = match &t.kind {
            TokenKind::Word(w)
                if !["and", "or", "in"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k)) =>
            {
                w.clone()
            }
            k => {
                return Err(self.error(
                    format!(
                        "expected a predicate such as type=Warning, found {}",
                        k.describe()
                    ),
                    t.span,
                ));
            }
        };
        let Some(field) = Field::from_name(&name) else {
            return Err(self.error(unknown_field_message(&name), t.span));
        };
        let field_span = t.span;
        let op_tok = self.bump();
        match op_tok.kind {
            TokenKind::Op(op) => {
                let value = self.value()?;
                Ok(Expr::Pred(Predicate::Compare {
                    field,
                    field_span,
                    op,
                    value,
                }))
            }
            _ if keyword(&op_tok, "in") => {
                let open = self.bump();
                if open.kind != TokenKind::LParen {
                    return Err(self.error(
                        format!("expected `(` after `in`, found {}", open.kind.describe()),
                        open.span,
                    ));
                }
                let mut values = vec![self.value()?];
                loop {
                    let t = self.bump();
                    match t.kind {
                        TokenKind::Comma => values.push(self.value()?),
                        TokenKind::RParen => break,
                        k => {
                            return Err(self.error(
                                format!(
                                    "expected `,` or `)` in the `in` list, found {}",
                                    k.describe()
                                ),
                                t.span,
                            ));
                        }
                    }
                }
                Ok(Expr::Pred(Predicate::In {
                    field,
                    field_span,
                    values,
                }))
            }
            k => Err(self.error(
                format!(
                    "expected an operator (= != =~ !~ > >= < <=) or `in` after `{}`, found {}",
                    field.name(),
                    k.describe()
                ),
                op_tok.span,
            )),
        }
    }

    fn value(&mut self) -> Result<Value, FilterError> {
        let t = self.bump();
        match t.kind {
            TokenKind::Word(w) | TokenKind::Quoted(w) => Ok(Value {
                text: w,
                span: t.span,
            }),
            k => Err(self.error(
                format!(
                    "expected a value (a word or a quoted string), found {}",
                    k.describe()
                ),
                t.span,
            )),
        }
    }
}

/// "unknown field `x`", with a suggestion for a close typo and the list of fields.
pub fn unknown_field_message(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for f in Field::ALL {
        for cand in [Some(f.name()), f.alias()].into_iter().flatten() {
            let d = edit_distance(&lower, &cand.to_ascii_lowercase());
            if best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, cand));
            }
        }
    }
    let hint = match best {
        Some((d, cand)) if d <= 2 && d < name.chars().count() => {
            format!(" (did you mean `{cand}`?)")
        }
        _ if lower == "lastseen" || lower == "firstseen" => {
            " (use `age`, or --since/--until with an RFC 3339 time)".to_string()
        }
        _ => String::new(),
    };
    let list: Vec<String> = Field::ALL
        .iter()
        .map(|f| match f.alias() {
            Some(a) => format!("{} ({a})", f.name()),
            None => f.name().to_string(),
        })
        .collect();
    format!(
        "unknown field `{name}`{hint}; fields are: {}",
        list.join(", ")
    )
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::ast::Op;

    fn p(s: &str) -> String {
        parse(s)
            .unwrap_or_else(|e| panic!("{s}: {}", e.render()))
            .to_string()
    }

    fn err(s: &str) -> FilterError {
        parse(s).expect_err(s)
    }

    #[test]
    fn precedence_and_juxtaposition() {
        assert_eq!(
            p("type=Warning reason=BackOff"),
            "type=Warning and reason=BackOff"
        );
        assert_eq!(p("host=1 or kind=2 name=3"), "host=1 or kind=2 and name=3");
        assert_eq!(
            p("type=Warning or reason=A reason=B"),
            "type=Warning or reason=A and reason=B"
        );
        assert_eq!(
            p("(type=Warning or reason=A) reason=B"),
            "(type=Warning or reason=A) and reason=B"
        );
        assert_eq!(
            p("not type=Normal && ns=x || !(kind=Pod)"),
            "not type=Normal and namespace=x or not kind=Pod"
        );
        assert_eq!(
            p("NOT reason IN (Pulled,Pulling)"),
            "not reason in (Pulled, Pulling)"
        );
        assert_eq!(p("not not type=Normal"), "not not type=Normal");
        assert_eq!(
            p("host=1 and (kind=2 and name=3)"),
            "host=1 and (kind=2 and name=3)"
        );
    }

    #[test]
    fn tree_shapes() {
        let e = parse("reason=a reason=b or reason=c").unwrap();
        let Expr::Or(ts) = e else { panic!() };
        assert_eq!(ts.len(), 2);
        assert!(matches!(&ts[0], Expr::And(v) if v.len() == 2));
        let e = parse("count >= 5").unwrap();
        assert!(matches!(
            e,
            Expr::Pred(Predicate::Compare {
                field: Field::Count,
                op: Op::Ge,
                ..
            })
        ));
        // A keyword is a value where a value is expected.
        assert_eq!(p("reason=and"), "reason=and");
        assert_eq!(p("reason in (or, not)"), "reason in (or, not)");
        assert_eq!(p(r#"message="and or""#), r#"message="and or""#);
    }

    #[test]
    fn value_spans_cover_quotes() {
        let Expr::Pred(Predicate::Compare {
            value, field_span, ..
        }) = parse(r#"reason=~"(Back""#).unwrap()
        else {
            panic!()
        };
        assert_eq!((value.span.start, value.span.end), (8, 15));
        assert_eq!((field_span.start, field_span.end), (0, 6));
    }

    #[test]
    fn errors_point_at_the_column() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 1, "empty expression"),
            ("type=", 6, "expected a value"),
            ("type Warning", 6, "expected an operator"),
            ("reasn=BackOff", 1, "did you mean `reason`"),
            ("lastSeen>=x", 1, "--since/--until"),
            (
                "(type=Warning",
                14,
                "expected `)` to close the `(` at column 1",
            ),
            ("type=Warning)", 13, "unbalanced `)`"),
            ("reason in Pulled", 11, "expected `(` after `in`"),
            ("reason in (a b)", 14, "expected `,` or `)`"),
            ("message=a=b", 10, "quote values"),
            ("type=Warning and", 17, "expected a predicate"),
            ("or type=Warning", 1, "expected a predicate"),
            ("=x", 1, "expected a predicate"),
            ("type=Warning and or x=1", 18, "expected a predicate"),
        ];
        for (src, col, msg) in cases {
            let e = err(src);
            assert_eq!(e.column(), *col, "{src}: {}", e.render());
            assert!(e.message.contains(msg), "{src}: {}", e.message);
        }
        assert!(
            err("foo=1")
                .message
                .contains("fields are: type, reason, kind")
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "(".repeat(100_000);
        let e = err(&deep);
        assert!(e.message.contains("nested too deeply"), "{e}");
        assert_eq!(e.column(), MAX_DEPTH + 1);
        let nots = "not ".repeat(100_000) + "type=Normal";
        assert!(err(&nots).message.contains("nested too deeply"));
        let bangs = "!".repeat(100_000) + "type=Normal";
        assert!(err(&bangs).message.contains("nested too deeply"));
        // At the limit it parses.
        let ok = "(".repeat(MAX_DEPTH) + "type=Normal" + &")".repeat(MAX_DEPTH);
        assert_eq!(p(&ok), "type=Normal");
    }

    #[test]
    fn long_flat_expressions_do_not_recurse() {
        let many = vec!["reason=x"; 50_000].join(" or ");
        assert!(matches!(parse(&many).unwrap(), Expr::Or(v) if v.len() == 50_000));
        let many = vec!["reason=x"; 50_000].join(" ");
        assert!(matches!(parse(&many).unwrap(), Expr::And(v) if v.len() == 50_000));
    }
}

#[cfg(test)]
mod roundtrip {
    use super::*;
    use crate::filter::testgen;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

        /// parse ∘ print is the identity on every tree the parser can produce.
        #[test]
        fn print_then_parse_is_identity(e in testgen::syntax_expr()) {
            let text = e.to_string();
            let back = parse(&text).map_err(|err| TestCaseError::fail(format!("{text:?}: {}", err.render())))?;
            prop_assert_eq!(&back, &e, "{}", text);
            // Printing is canonical: a second round trip gives the same text.
            prop_assert_eq!(back.to_string(), text);
        }
    }
}

/// The parser and compiler fed text no generator of valid trees would write:
/// any string, and soups of the tokens the grammar is made of. Whatever the
/// input, parsing ends without a panic; an error points inside the text and
/// renders without raw control characters; an accepted expression prints to
/// text that parses back to the same tree, and compiles or fails cleanly
/// (an invalid regex, a count that is not a number), and a compiled filter
/// evaluates any event.
#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::filter::{Filter, testgen};
    use proptest::prelude::*;

    /// Predicates, keywords, operators, quotes and brackets, joined by
    /// nothing or by blanks, so that both well-formed and broken sequences
    /// occur (about one in fifteen parses, and most of those compile).
    fn token_soup() -> impl Strategy<Value = String> {
        let field = prop::sample::select(vec![
            "type", "reason", "kind", "name", "ns", "object", "msg", "count", "age", "bogus",
        ]);
        let op = prop_oneof![
            3 => Just("="),
            1 => prop::sample::select(vec!["!=", "=~", "!~", ">", ">=", "<", "<="]),
        ];
        let value = prop_oneof![
            prop::sample::select(vec![
                "Warning",
                "Back*",
                "1h",
                "90s",
                "-3",
                "12",
                "\"(x\"",
                "'a b'",
                "\"\\d+\"",
                "\"\"",
                "Pod/web",
                "\"\u{200b}\"",
            ])
            .prop_map(str::to_string),
            "[a-zA-Z0-9_.:/*-]{1,6}",
            r#""[^"\\]{0,6}""#,
        ];
        let predicate = prop_oneof![
            3 => (field.clone(), op, value.clone()).prop_map(|(f, o, v)| format!("{f}{o}{v}")),
            1 => (field, prop::collection::vec(value, 1..3))
                .prop_map(|(f, vs)| format!("{f} in ({})", vs.join(","))),
        ];
        let token = prop_oneof![
            4 => predicate,
            3 => prop::sample::select(vec!["and", "or", "not", "&&", "||", "!", "(", ")"])
                .prop_map(str::to_string),
            1 => prop::sample::select(vec![
                "in", ",", "=", "=~", "\"", "'", "\\", "*", "[", "\t", "\n", "\u{200b}", "#",
            ])
            .prop_map(str::to_string),
        ];
        (
            prop::collection::vec(token, 1..16),
            prop::collection::vec(any::<bool>(), 16),
        )
            .prop_map(|(tokens, gaps)| {
                let mut s = String::new();
                for (t, gap) in tokens.iter().zip(gaps) {
                    if gap || s.is_empty() {
                        s.push(' ');
                    }
                    s.push_str(t);
                }
                s
            })
    }

    fn check(text: &str, ev: &crate::model::Event) -> Result<(), TestCaseError> {
        match parse(text) {
            Err(err) => {
                prop_assert!(err.span.start <= text.len(), "{:?}: {:?}", text, err);
                prop_assert!(err.span.start <= err.span.end, "{:?}: {:?}", text, err);
                let rendered = err.render();
                prop_assert!(
                    !rendered
                        .chars()
                        .any(|c| c.is_control() && c != '\n' && c != '\t'),
                    "{:?}",
                    rendered
                );
            }
            Ok(tree) => {
                let printed = tree.to_string();
                let back = parse(&printed).map_err(|err| {
                    TestCaseError::fail(format!(
                        "{text:?} printed as {printed:?}: {}",
                        err.render()
                    ))
                })?;
                prop_assert_eq!(&back, &tree, "{:?} printed as {:?}", text, printed);
                if let Ok(filter) = Filter::parse(text) {
                    let _ = filter.matches(ev, testgen::now());
                    let _ = filter.field_selector();
                }
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: crate::testdata::fuzz_cases(1024), ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_text(text in any::<String>(), ev in testgen::any_event()) {
            check(&text, &ev)?;
        }

        #[test]
        fn token_soups(text in token_soup(), ev in testgen::any_event()) {
            check(&text, &ev)?;
        }
    }
}
