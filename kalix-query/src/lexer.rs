//! The query's tokens: words, `:parameters`, 'text', numbers and symbols, each with its place.

use std::ops::Range;

use crate::QueryError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Word(String),
    Param(String),
    Text(String),
    Integer(i64),
    Float(f64),
    Symbol(&'static str),
    End,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub kind: Kind,
    pub at: Range<usize>,
}

pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, QueryError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let word = |i: &mut usize| {
            while *i < bytes.len() && (bytes[*i].is_ascii_alphanumeric() || bytes[*i] == b'_') {
                *i += 1;
            }
        };
        let kind = if c.is_ascii_alphabetic() || c == b'_' {
            word(&mut i);
            Kind::Word(text[start..i].to_owned())
        } else if c == b':' {
            i += 1;
            word(&mut i);
            if i == start + 1 {
                return Err(QueryError::new("a parameter is `:name`", start..start + 1));
            }
            Kind::Param(text[start + 1..i].to_owned())
        } else if c == b'\'' {
            i += 1;
            let mut value = String::new();
            loop {
                match text[i..].chars().next() {
                    None => {
                        return Err(QueryError::new("this text has no closing `'`", start..i));
                    }
                    Some('\'') if bytes.get(i + 1) == Some(&b'\'') => {
                        value.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(other) => {
                        value.push(other);
                        i += other.len_utf8();
                    }
                }
            }
            Kind::Text(value)
        } else if c.is_ascii_digit()
            || (c == b'-' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let float = i < bytes.len()
                && bytes[i] == b'.'
                && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
            if float {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                Kind::Float(
                    text[start..i]
                        .parse()
                        .map_err(|_| QueryError::new("not a number", start..i))?,
                )
            } else {
                Kind::Integer(
                    text[start..i]
                        .parse()
                        .map_err(|_| QueryError::new("this number is too large", start..i))?,
                )
            }
        } else {
            let two = text.get(i..i + 2).unwrap_or("");
            let symbol = match two {
                "!=" => Some("!="),
                "<>" => Some("!="),
                ">=" => Some(">="),
                "<=" => Some("<="),
                _ => None,
            };
            if let Some(symbol) = symbol {
                i += 2;
                Kind::Symbol(symbol)
            } else {
                i += 1;
                Kind::Symbol(match c {
                    b'*' => "*",
                    b',' => ",",
                    b'(' => "(",
                    b')' => ")",
                    b'.' => ".",
                    b'=' => "=",
                    b'>' => ">",
                    b'<' => "<",
                    _ => {
                        let end = start + text[start..].chars().next().map_or(1, char::len_utf8);
                        return Err(QueryError::new(
                            format!("unexpected `{}`", &text[start..end]),
                            start..end,
                        ));
                    }
                })
            }
        };
        tokens.push(Token { kind, at: start..i });
    }
    tokens.push(Token {
        kind: Kind::End,
        at: text.len()..text.len(),
    });
    Ok(tokens)
}
