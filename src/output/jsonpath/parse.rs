//! kubectl's JSONPath template syntax, parsed once into a [`Template`].
//!
//! The grammar is client-go's (`k8s.io/client-go/util/jsonpath`), read the
//! way its parser reads it: text outside `{…}` is printed as written; inside
//! an action, `.name` is a field (a `\` escapes a terminator, `*` is every
//! member), `..` recursive descent, `[n]`, `[start:end:step]`, `[*]`,
//! `[a,b]` a union, `['key']` a key, `[?(@.x==y)]` a filter, `"…"` or `'…'`
//! a literal with Go's escapes, numbers and `true`/`false` constants, and
//! `@` and `$` the current object (skipped, as client-go skips them).
//! `{range PATH}…{end}` repeats its body for each result of PATH.
//!
//! What client-go reports only when the template is executed (an unknown
//! identifier, an `{end}` with no `{range}`, an unknown filter operator) is
//! reported here, before anything runs. Every error has the byte span of
//! the offending text, for a caret under its column.

use std::fmt::Write as _;

/// A parsed template: literal text, actions and ranges, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pub(super) nodes: Vec<Node>,
}

/// One piece of a template.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Node {
    /// Text outside any action, printed as written.
    Text(String),
    /// `{…}`: steps applied in turn to the current object.
    Action(Vec<Step>),
    /// `{range PATH}BODY{end}`: BODY for each result of PATH.
    Range { path: Vec<Step>, body: Vec<Node> },
}

/// One step of an action, applied to every value the previous step gave.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Step {
    /// `.name`: the member of each object.
    Field(String),
    /// `.*`: every member or element.
    Wildcard,
    /// `..`: each value and everything under it.
    Recursive,
    /// `[n]`, `[start:end:step]`, `[*]`.
    Slice(Slice),
    /// `[a,b,…]`: each alternative's results, in turn.
    Union(Vec<Vec<Step>>),
    /// `[?(LEFT OP RIGHT)]`, `[?(LEFT)]`: the elements for which it holds.
    Filter {
        left: Vec<Step>,
        op: Op,
        right: Vec<Step>,
    },
    /// A quoted literal: itself, whatever the input.
    Text(String),
    /// An integer constant, one per input value.
    Int(i64),
    /// A floating-point constant, one per input value.
    Float(f64),
    /// `true`, `false`, one per input value.
    Bool(bool),
}

/// A subscript's bounds, as client-go keeps them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Slice {
    /// `start`; `None` for 0.
    pub start: Option<i64>,
    /// `end`; `None` for the length.
    pub end: Option<i64>,
    /// `end` was not written: `[n]` is `[n:n+1]`.
    pub end_derived: bool,
    /// `step`; `None` for 1.
    pub step: Option<i64>,
}

/// A filter's comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    /// `[?(@.x)]`: the left side has a result.
    Exists,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A template that does not parse: what is wrong, and where (bytes of the
/// template's text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What is wrong, e.g. `unclosed action`.
    pub message: String,
    /// The offending bytes of the template.
    pub span: (usize, usize),
}

/// Parse a whole template.
pub fn parse(src: &str) -> Result<Template, ParseError> {
    // Open ranges: the nodes before each, its path and where it was opened.
    let mut open: Vec<(Vec<Node>, Vec<Step>)> = Vec::new();
    let mut cur: Vec<Node> = Vec::new();
    let mut pos = 0;
    let mut text_start = 0;
    while pos < src.len() {
        if !src[pos..].starts_with('{') {
            pos += src[pos..].chars().next().map_or(1, char::len_utf8);
            continue;
        }
        if pos > text_start {
            cur.push(Node::Text(src[text_start..pos].to_string()));
        }
        let mut action = Action::top(src, pos);
        let steps = action.steps()?;
        pos = action.pos;
        text_start = pos;
        match action.keyword {
            Some((Keyword::Range, _)) => {
                open.push((std::mem::take(&mut cur), steps));
            }
            Some((Keyword::End, span)) => {
                if !steps.is_empty() {
                    return Err(ParseError::new("{end} takes nothing after it", span));
                }
                let Some((mut before, path)) = open.pop() else {
                    return Err(ParseError::new(
                        "not in range, nothing to end (an {end} with no {range} before it)",
                        span,
                    ));
                };
                before.push(Node::Range {
                    path,
                    body: std::mem::take(&mut cur),
                });
                cur = before;
            }
            None => cur.push(Node::Action(steps)),
        }
    }
    if pos > text_start {
        cur.push(Node::Text(src[text_start..].to_string()));
    }
    // A range left open runs to the end of the template, as in kubectl.
    while let Some((mut before, path)) = open.pop() {
        before.push(Node::Range { path, body: cur });
        cur = before;
    }
    Ok(Template { nodes: cur })
}

impl ParseError {
    fn new(message: impl Into<String>, span: (usize, usize)) -> ParseError {
        ParseError {
            message: message.into(),
            span,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Keyword {
    Range,
    End,
}

/// The parser of one action's steps. A top-level action runs from its `{`
/// to its `}`; a nested one (a union's alternative, a `['key']`, a filter's
/// sides) is a piece of text of its own, which client-go parses as if it
/// were `{TEXT}`: it ends where the text does, and its spans are shifted
/// by `base` to point into the template.
struct Action<'s> {
    text: &'s str,
    pos: usize,
    base: usize,
    /// The `{` of a top-level action; `None` for a nested one.
    brace: Option<usize>,
    /// `range` or `end` as the action's first word (top level only).
    keyword: Option<(Keyword, (usize, usize))>,
}

fn is_terminator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\r' | '\n' | '.' | ',' | '[' | ']' | '$' | '@' | '{' | '}'
    )
}

fn is_alphanumeric(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

impl<'s> Action<'s> {
    fn top(src: &'s str, brace: usize) -> Action<'s> {
        Action {
            text: src,
            pos: brace + 1,
            base: 0,
            brace: Some(brace),
            keyword: None,
        }
    }

    fn nested(text: &'s str, base: usize) -> Action<'s> {
        Action {
            text,
            pos: 0,
            base,
            brace: None,
            keyword: None,
        }
    }

    /// A span of this action's text, in the template.
    fn span(&self, start: usize, end: usize) -> (usize, usize) {
        (self.base + start, self.base + end.max(start))
    }

    fn err<T>(
        &self,
        message: impl Into<String>,
        start: usize,
        end: usize,
    ) -> Result<T, ParseError> {
        Err(ParseError::new(message, self.span(start, end)))
    }

    fn rest(&self) -> &'s str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn unclosed<T>(&self) -> Result<T, ParseError> {
        let brace = self.brace.unwrap_or(0);
        self.err("unclosed action: no } after this {", brace, brace + 1)
    }

    /// The steps up to the action's end (its `}`, consumed, or the end of
    /// a nested action's text).
    fn steps(&mut self) -> Result<Vec<Step>, ParseError> {
        let mut steps = Vec::new();
        loop {
            let rest = self.rest();
            let Some(c) = rest.chars().next() else {
                return match self.brace {
                    Some(_) => self.unclosed(),
                    None => Ok(steps),
                };
            };
            if c == '}' {
                if self.brace.is_none() {
                    return self.err("unexpected }", self.pos, self.pos + 1);
                }
                self.pos += 1;
                return Ok(steps);
            }
            if rest.starts_with("[?(") {
                steps.push(self.filter()?);
                continue;
            }
            if rest.starts_with("..") {
                if steps.last() == Some(&Step::Recursive) {
                    return self.err("invalid multiple recursive descent", self.pos, self.pos + 2);
                }
                self.pos += 2;
                steps.push(Step::Recursive);
                if self.peek().is_some_and(is_alphanumeric) {
                    steps.push(self.field());
                }
                continue;
            }
            let start = self.pos;
            match c {
                '\r' | '\n' => return self.unclosed(),
                ' ' | '@' | '$' => self.pos += 1,
                '[' => steps.extend(self.subscript()?),
                '"' | '\'' => steps.push(self.quoted(c)?),
                '.' => {
                    self.pos += 1;
                    steps.push(self.field());
                }
                '+' | '-' | '0'..='9' => steps.push(self.number()?),
                c if is_alphanumeric(c) => {
                    let first = steps.is_empty() && self.keyword.is_none();
                    if let Some(step) = self.identifier(first)? {
                        steps.push(step);
                    }
                }
                c => {
                    let mut message =
                        format!("unrecognized character in action: U+{:04X}", c as u32);
                    if !c.is_control() {
                        let _ = write!(message, " '{c}'");
                    }
                    return self.err(message, start, start + c.len_utf8());
                }
            }
        }
    }

    /// A field name up to the next unescaped terminator (`\` escapes the
    /// character after it and is dropped, as in client-go); `*` is every
    /// member.
    fn field(&mut self) -> Step {
        let start = self.pos;
        let mut chars = self.rest().char_indices();
        let mut end = self.text.len() - start;
        while let Some((i, c)) = chars.next() {
            if c == '\\' {
                chars.next();
            } else if is_terminator(c) {
                end = i;
                break;
            }
        }
        self.pos = start + end;
        let name = &self.text[start..self.pos];
        if name == "*" {
            Step::Wildcard
        } else {
            Step::Field(name.replace('\\', ""))
        }
    }

    /// `true`, `false`, or `range` / `end` opening a top-level action.
    fn identifier(&mut self, first: bool) -> Result<Option<Step>, ParseError> {
        let start = self.pos;
        let len = self.rest().find(is_terminator).unwrap_or(self.rest().len());
        self.pos += len;
        let word = &self.text[start..self.pos];
        let keyword = match word {
            "true" => return Ok(Some(Step::Bool(true))),
            "false" => return Ok(Some(Step::Bool(false))),
            "range" => Keyword::Range,
            "end" => Keyword::End,
            _ => {
                return self.err(
                    format!("unrecognized identifier {word:?} (a field is written .{word})"),
                    start,
                    self.pos,
                );
            }
        };
        if !first || self.brace.is_none() {
            return self.err(
                format!("{word} must open its action: {{range PATH}} … {{end}}"),
                start,
                self.pos,
            );
        }
        self.keyword = Some((keyword, self.span(start, self.pos)));
        Ok(None)
    }

    /// A number: an optional sign, then digits and dots.
    fn number(&mut self) -> Result<Step, ParseError> {
        let start = self.pos;
        let rest = self.rest();
        let sign = usize::from(rest.starts_with(['+', '-']));
        let len = rest[sign..]
            .find(|c: char| c != '.' && !c.is_ascii_digit())
            .unwrap_or(rest.len() - sign);
        self.pos += sign + len;
        let text = &self.text[start..self.pos];
        if let Ok(n) = text.parse::<i64>() {
            return Ok(Step::Int(n));
        }
        if let Ok(f) = text.parse::<f64>()
            && len > 0
        {
            return Ok(Step::Float(f));
        }
        self.err(format!("cannot parse number {text}"), start, self.pos)
    }

    /// `"…"` or `'…'`, unquoted with Go's escapes.
    fn quoted(&mut self, quote: char) -> Result<Step, ParseError> {
        let start = self.pos;
        let mut chars = self.rest().char_indices().skip(1);
        let end = loop {
            match chars.next() {
                None | Some((_, '\n')) => {
                    return self.err("unterminated quoted string", start, start + 1);
                }
                Some((_, '\\')) => {
                    if let Some((i, '\n')) = chars.next() {
                        return self.err("unterminated quoted string", start, start + i);
                    }
                }
                Some((i, c)) if c == quote => break i,
                Some(_) => {}
            }
        };
        self.pos = start + end + 1;
        let inner = &self.text[start + 1..start + end];
        match unquote(inner, quote) {
            Ok(s) => Ok(Step::Text(s)),
            Err((at, len)) => self.err(
                "invalid escape in quoted string (Go's escapes: \\n \\t \\\" \\\\ \\xHH \\uHHHH …)",
                start + 1 + at,
                start + 1 + at + len,
            ),
        }
    }

    /// `[…]` up to the first `]`: a union, a quoted key or a slice.
    fn subscript(&mut self) -> Result<Vec<Step>, ParseError> {
        let open = self.pos;
        let Some(len) = self.rest().find([']', '\n']) else {
            return self.err("unterminated array: no ]", open, open + 1);
        };
        if self.rest()[len..].starts_with('\n') {
            return self.err("unterminated array: no ]", open, open + 1);
        }
        let inner_start = open + 1;
        self.pos += len + 1;
        let inner = &self.text[inner_start..open + len];
        let inner = if inner == "*" { ":" } else { inner };
        if inner.contains(',') {
            let mut alternatives = Vec::new();
            let mut at = inner_start;
            for part in inner.split(',') {
                let trimmed = part.trim_matches(' ');
                let offset = at + (part.len() - part.trim_start_matches(' ').len());
                at += part.len() + 1;
                alternatives.push(self.alternative(trimmed, offset)?);
            }
            return Ok(vec![Step::Union(alternatives)]);
        }
        self.bracket(inner, inner_start)
    }

    /// One alternative of a union, read as client-go reads it: `[PART]`.
    fn alternative(&self, part: &str, at: usize) -> Result<Vec<Step>, ParseError> {
        let wrapped = format!("[{part}]");
        // The `[` is not in the template: spans point one byte early, at most
        // to the alternative's own start.
        let base = self.base + at;
        let mut nested = Action::nested(&wrapped, base.saturating_sub(1));
        nested.steps()
    }

    /// The inside of `[…]` that is not a union: `'key'` or a slice.
    fn bracket(&self, inner: &str, at: usize) -> Result<Vec<Step>, ParseError> {
        if let Some(key) = inner
            .strip_prefix('\'')
            .and_then(|k| k.strip_suffix('\''))
            .filter(|k| !k.contains('\''))
        {
            // client-go reads `['a.b']` as `.a.b`: a dot in a key must be
            // escaped (`['kubernetes\.io/name']`).
            let dotted = format!(".{key}");
            let mut nested = Action::nested(&dotted, self.base + at);
            return nested.steps();
        }
        let bad = || {
            Err(ParseError::new(
                format!(
                    "invalid array index {inner} (expected [n], [start:end:step], [*], ['key'], [a,b] or [?(…)])"
                ),
                self.span(at, at + inner.len()),
            ))
        };
        let parts: Vec<&str> = inner.split(':').collect();
        if parts.len() > 3 {
            return bad();
        }
        let valid = |p: &str| {
            let digits = p.strip_prefix('-').unwrap_or(p);
            digits.bytes().all(|b| b.is_ascii_digit())
        };
        if !parts.iter().all(|p| valid(p)) {
            return bad();
        }
        let number = |p: &str| -> Result<Option<i64>, ParseError> {
            if p.is_empty() {
                return Ok(None);
            }
            p.parse::<i64>().map(Some).map_err(|_| {
                ParseError::new(
                    format!("array index {p} is not a number"),
                    self.span(at, at + inner.len()),
                )
            })
        };
        let start = number(parts[0])?;
        let (end, end_derived) = match parts.get(1) {
            Some(p) => (number(p)?, false),
            None => (Some(start.unwrap_or(0) + 1), true),
        };
        let step = match parts.get(2) {
            Some(p) => number(p)?,
            None => None,
        };
        Ok(vec![Step::Slice(Slice {
            start,
            end,
            end_derived,
            step,
        })])
    }

    /// `[?(…)]`: up to the `)` outside quotes, then `]`.
    fn filter(&mut self) -> Result<Step, ParseError> {
        let open = self.pos;
        let inner_start = open + 3;
        let (mut begun, mut ended) = (false, false);
        let mut pair = '"';
        let mut prev = '\0';
        let mut close = None;
        for (i, c) in self.text[inner_start..].char_indices() {
            match c {
                '\n' => break,
                '"' | '\'' if !begun => {
                    begun = true;
                    pair = c;
                }
                '"' | '\'' if prev != '\\' && c == pair => ended = true,
                ')' if begun == ended => {
                    close = Some(inner_start + i);
                    break;
                }
                _ => {}
            }
            prev = c;
        }
        let Some(close) = close else {
            return self.err("unterminated filter: no )", open, open + 3);
        };
        if !self.text[close + 1..].starts_with(']') {
            return self.err(
                "unclosed array: expected ] after the filter's )",
                close,
                close + 1,
            );
        }
        self.pos = close + 2;
        let inner = &self.text[inner_start..close];
        // client-go splits LEFT OP RIGHT with ^([^!<>=]+)([!<>=]+)(.+?)$.
        let is_op = |c: char| matches!(c, '!' | '<' | '>' | '=');
        let split = inner.find(is_op).filter(|&i| i > 0).and_then(|i| {
            let op_len = inner[i..].find(|c| !is_op(c)).unwrap_or(inner.len() - i);
            (i + op_len < inner.len()).then_some((i, op_len))
        });
        let Some((i, op_len)) = split else {
            let mut left = Action::nested(inner, self.base + inner_start);
            return Ok(Step::Filter {
                left: left.steps()?,
                op: Op::Exists,
                right: Vec::new(),
            });
        };
        let op = match &inner[i..i + op_len] {
            "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            other => {
                return self.err(
                    format!("unrecognized filter operator {other} (==, !=, <, <=, >, >=)"),
                    inner_start + i,
                    inner_start + i + op_len,
                );
            }
        };
        let mut left = Action::nested(&inner[..i], self.base + inner_start);
        let mut right = Action::nested(&inner[i + op_len..], self.base + inner_start + i + op_len);
        Ok(Step::Filter {
            left: left.steps()?,
            op,
            right: right.steps()?,
        })
    }
}

/// Go's `strconv.Unquote` rules for the inside of a quoted string; the
/// error is the offending escape's byte offset and length.
fn unquote(s: &str, quote: char) -> Result<String, (usize, usize)> {
    if !s.contains('\\') {
        return Ok(s.to_string());
    }
    let mut out: Vec<u8> = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < s.len() {
        let c = s[i..].chars().next().unwrap_or('\0');
        if c != '\\' {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            i += c.len_utf8();
            continue;
        }
        let Some(&e) = bytes.get(i + 1) else {
            return Err((i, 1));
        };
        let hex = |n: usize| -> Result<u32, (usize, usize)> {
            let digits = s.get(i + 2..i + 2 + n).ok_or((i, s.len() - i))?;
            if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err((i, 2 + n));
            }
            u32::from_str_radix(digits, 16).map_err(|_| (i, 2 + n))
        };
        let (len, push): (usize, Vec<u8>) = match e {
            b'a' => (2, vec![0x07]),
            b'b' => (2, vec![0x08]),
            b'f' => (2, vec![0x0c]),
            b'n' => (2, vec![b'\n']),
            b'r' => (2, vec![b'\r']),
            b't' => (2, vec![b'\t']),
            b'v' => (2, vec![0x0b]),
            b'\\' => (2, vec![b'\\']),
            b'\'' | b'"' if e as char == quote => (2, vec![e]),
            b'x' => (4, vec![hex(2)? as u8]),
            b'u' | b'U' => {
                let n = if e == b'u' { 4 } else { 8 };
                let c = char::from_u32(hex(n)?).ok_or((i, 2 + n))?;
                let mut buf = [0; 4];
                (2 + n, c.encode_utf8(&mut buf).as_bytes().to_vec())
            }
            b'0'..=b'7' => {
                let digits = s.get(i + 1..i + 4).ok_or((i, s.len() - i))?;
                if !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                    return Err((i, 4.min(s.len() - i)));
                }
                let v = u32::from_str_radix(digits, 8).map_err(|_| (i, 4))?;
                let byte = u8::try_from(v).map_err(|_| (i, 4))?;
                (4, vec![byte])
            }
            _ => return Err((i, 2)),
        };
        out.extend_from_slice(&push);
        i += len;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}
