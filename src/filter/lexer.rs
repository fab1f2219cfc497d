//! Tokens of the filter language.
//!
//! Words are bare (letters, digits, `_ . : / * -`) or quoted with `"` or `'`.
//! Inside quotes, `\"`, `\'` and `\\` are escapes; any other backslash stays
//! as written, so `"\d+"` is the regex `\d+`. Whether a bare word is a keyword
//! (`and`, `or`, `not`, `in`) depends on where it stands, so the parser
//! decides; a quoted word is never a keyword.

use super::ast::{Op, Span, is_word_char};
use super::error::{EXPRESSION, FilterError};

/// What a token is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A bare word.
    Word(String),
    /// A quoted string, unescaped.
    Quoted(String),
    /// A comparison operator.
    Op(Op),
    /// `!` (not).
    Bang,
    /// `&&`.
    AndAnd,
    /// `||`.
    OrOr,
    /// `(`.
    LParen,
    /// `)`.
    RParen,
    /// `,`.
    Comma,
    /// The end of the text.
    Eof,
}

impl TokenKind {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            TokenKind::Word(w) => format!("`{w}`"),
            TokenKind::Quoted(_) => "a quoted string".to_string(),
            TokenKind::Op(op) => format!("`{op}`"),
            TokenKind::Bang => "`!`".to_string(),
            TokenKind::AndAnd => "`&&`".to_string(),
            TokenKind::OrOr => "`||`".to_string(),
            TokenKind::LParen => "`(`".to_string(),
            TokenKind::RParen => "`)`".to_string(),
            TokenKind::Comma => "`,`".to_string(),
            TokenKind::Eof => "the end of the expression".to_string(),
        }
    }
}

/// A token and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Where it is.
    pub span: Span,
}

/// Split `text[range]` into tokens, ending with [`TokenKind::Eof`]. Spans are
/// offsets into the whole `text`, so errors point into what the user wrote.
pub fn tokenize(text: &str, start: usize, end: usize) -> Result<Vec<Token>, FilterError> {
    let mut tokens = Vec::new();
    let src = &text[..end];
    let mut chars = src[start..]
        .char_indices()
        .map(|(i, c)| (i + start, c))
        .peekable();
    let err =
        |msg: String, s: usize, e: usize| FilterError::new(msg, EXPRESSION, text, Span::new(s, e));
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, c)| c);
        let one = |kind| Token {
            kind,
            span: Span::new(i, i + c.len_utf8()),
        };
        let two = |kind| Token {
            kind,
            span: Span::new(i, i + 2),
        };
        let tok = match c {
            c if c.is_whitespace() => continue,
            '(' => one(TokenKind::LParen),
            ')' => one(TokenKind::RParen),
            ',' => one(TokenKind::Comma),
            '=' => match next {
                Some('~') => two(TokenKind::Op(Op::Match)),
                Some('=') => two(TokenKind::Op(Op::Eq)),
                _ => one(TokenKind::Op(Op::Eq)),
            },
            '!' => match next {
                Some('=') => two(TokenKind::Op(Op::Ne)),
                Some('~') => two(TokenKind::Op(Op::NotMatch)),
                _ => one(TokenKind::Bang),
            },
            '>' | '<' => match (c, next) {
                ('>', Some('=')) => two(TokenKind::Op(Op::Ge)),
                ('<', Some('=')) => two(TokenKind::Op(Op::Le)),
                ('>', _) => one(TokenKind::Op(Op::Gt)),
                _ => one(TokenKind::Op(Op::Lt)),
            },
            '&' if next == Some('&') => two(TokenKind::AndAnd),
            '|' if next == Some('|') => two(TokenKind::OrOr),
            '"' | '\'' => {
                let quote = c;
                let mut s = String::new();
                let mut close = None;
                while let Some((j, d)) = chars.next() {
                    if d == quote {
                        close = Some(j);
                        break;
                    }
                    if d == '\\' {
                        match chars.peek() {
                            Some(&(_, e)) if e == '"' || e == '\'' || e == '\\' => {
                                s.push(e);
                                chars.next();
                                continue;
                            }
                            _ => {}
                        }
                    }
                    s.push(d);
                }
                let Some(j) = close else {
                    return Err(err(
                        format!("unterminated string: missing closing {quote}"),
                        i,
                        end,
                    ));
                };
                tokens.push(Token {
                    kind: TokenKind::Quoted(s),
                    span: Span::new(i, j + 1),
                });
                continue;
            }
            c if is_word_char(c) => {
                let mut j = i + c.len_utf8();
                while let Some(&(k, d)) = chars.peek() {
                    if !is_word_char(d) {
                        break;
                    }
                    chars.next();
                    j = k + d.len_utf8();
                }
                tokens.push(Token {
                    kind: TokenKind::Word(text[i..j].to_string()),
                    span: Span::new(i, j),
                });
                continue;
            }
            '&' | '|' => {
                return Err(err(
                    format!("unexpected `{c}`: write `{c}{c}`, or quote the value"),
                    i,
                    i + 1,
                ));
            }
            c => {
                let shown = if c.is_control() {
                    format!("{c:?}")
                } else {
                    format!("`{c}`")
                };
                return Err(err(
                    format!(
                        "unexpected character {shown}: values with characters other than letters, digits and _ . : / * - must be quoted"
                    ),
                    i,
                    i + c.len_utf8(),
                ));
            }
        };
        if tok.span.end - tok.span.start == 2 {
            chars.next();
        }
        tokens.push(tok);
    }
    tokens.push(Token {
        kind: TokenKind::Eof,
        span: Span::new(end, end),
    });
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<TokenKind> {
        tokenize(s, 0, s.len())
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    fn w(s: &str) -> TokenKind {
        TokenKind::Word(s.to_string())
    }

    #[test]
    fn operators() {
        use TokenKind::Op as O;
        assert_eq!(
            kinds("a=b a==b a!=b a=~b a!~b a>1 a>=1 a<1 a<=1"),
            vec![
                w("a"),
                O(Op::Eq),
                w("b"),
                w("a"),
                O(Op::Eq),
                w("b"),
                w("a"),
                O(Op::Ne),
                w("b"),
                w("a"),
                O(Op::Match),
                w("b"),
                w("a"),
                O(Op::NotMatch),
                w("b"),
                w("a"),
                O(Op::Gt),
                w("1"),
                w("a"),
                O(Op::Ge),
                w("1"),
                w("a"),
                O(Op::Lt),
                w("1"),
                w("a"),
                O(Op::Le),
                w("1"),
                TokenKind::Eof,
            ]
        );
        assert_eq!(
            kinds("!(a) && b || c"),
            vec![
                TokenKind::Bang,
                TokenKind::LParen,
                w("a"),
                TokenKind::RParen,
                TokenKind::AndAnd,
                w("b"),
                TokenKind::OrOr,
                w("c"),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn words_and_quotes() {
        assert_eq!(
            kinds("object=Pod/web-1.x:y*"),
            vec![
                w("object"),
                TokenKind::Op(Op::Eq),
                w("Pod/web-1.x:y*"),
                TokenKind::Eof
            ]
        );
        assert_eq!(
            kinds(r#""a \"b\" \\ \d" 'it\'s'"#),
            vec![
                TokenKind::Quoted(r#"a "b" \ \d"#.to_string()),
                TokenKind::Quoted("it's".to_string()),
                TokenKind::Eof
            ]
        );
        assert_eq!(
            kinds("ns=ns-ü"),
            vec![w("ns"), TokenKind::Op(Op::Eq), w("ns-ü"), TokenKind::Eof]
        );
        assert_eq!(
            kinds(r#"'"' "'""#),
            vec![
                TokenKind::Quoted("\"".into()),
                TokenKind::Quoted("'".into()),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn spans() {
        let t = tokenize(r#"reason=~"(Back""#, 0, 15).unwrap();
        assert_eq!((t[2].span.start, t[2].span.end), (8, 15));
        assert_eq!((t[3].span.start, t[3].span.end), (15, 15));
    }

    #[test]
    fn errors() {
        let e = tokenize(r#"message="oops"#, 0, 13).unwrap_err();
        assert!(e.message.contains("unterminated"), "{e}");
        assert_eq!(e.column(), 9);
        let e = tokenize("a=b & c", 0, 7).unwrap_err();
        assert_eq!(e.column(), 5);
        let e = tokenize("fieldPath=spec.containers{web}", 0, 30).unwrap_err();
        assert_eq!(e.column(), 26);
        assert!(e.message.contains("quoted"), "{e}");
    }
}
