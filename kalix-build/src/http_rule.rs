//! A method's `google.api.http` option: its HTTP method, its path template read into segments
//! (`/fibonacci/{value}/next`), and whether the request is the body.

use prost_reflect::{DynamicMessage, MethodDescriptor, Value};

/// An HTTP binding the runtime serves.
pub(crate) struct HttpBinding {
    /// `Get`, `Post`, ...: the runtime's `HttpMethod` variant.
    pub method: &'static str,
    /// The path as written in the option.
    pub template: String,
    pub segments: Vec<Segment>,
    /// Whether the request message is read from the body (`body: "*"`).
    pub takes_body: bool,
}

pub(crate) enum Segment {
    Literal(String),
    /// A path variable: the field it sets.
    Field(String),
}

/// The binding of `method`, `Ok(None)` without one; `Err` says why one is not served.
pub(crate) fn binding(method: &MethodDescriptor) -> Result<Option<HttpBinding>, String> {
    let pool = method.parent_pool();
    let Some(extension) = pool.get_extension_by_name("google.api.http") else {
        return Ok(None);
    };
    let options = method.options();
    if !options.has_extension(&extension) {
        return Ok(None);
    }
    let Value::Message(rule) = options.get_extension(&extension).into_owned() else {
        return Ok(None);
    };
    let text = |rule: &DynamicMessage, field: &str| match rule.get_field_by_name(field) {
        Some(value) => value.as_str().unwrap_or_default().to_owned(),
        None => String::new(),
    };
    let (verb, template) = [
        ("Get", "get"),
        ("Post", "post"),
        ("Put", "put"),
        ("Delete", "delete"),
        ("Patch", "patch"),
    ]
    .into_iter()
    .map(|(verb, field)| (verb, text(&rule, field)))
    .find(|(_, template)| !template.is_empty())
    .ok_or("only get, post, put, delete and patch bindings are served (not custom)")?;
    if rule
        .get_field_by_name("additional_bindings")
        .is_some_and(|bindings| bindings.as_list().is_some_and(|list| !list.is_empty()))
    {
        return Err("additional_bindings are not served; give the method one binding".to_owned());
    }
    let response_body = text(&rule, "response_body");
    if !response_body.is_empty() {
        return Err(format!(
            "response_body: \"{response_body}\" is not served; the reply is the whole message"
        ));
    }
    let body = text(&rule, "body");
    let takes_body = match body.as_str() {
        "" => false,
        "*" => true,
        field => {
            return Err(format!(
                "body: \"{field}\" is not served; use body: \"*\" (the whole request) or none"
            ));
        }
    };
    Ok(Some(HttpBinding {
        method: verb,
        segments: segments(&template)?,
        template,
        takes_body,
    }))
}

/// `/fibonacci/{value}/next` -> `fibonacci`, field `value`, `next`.
fn segments(template: &str) -> Result<Vec<Segment>, String> {
    let Some(path) = template.strip_prefix('/') else {
        return Err(format!("the path `{template}` does not start with `/`"));
    };
    if template.contains(':') {
        return Err(format!(
            "the path `{template}` has a verb (`:verb`), which is not served"
        ));
    }
    path.split('/')
        .map(|part| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(field) if is_field(field) => Ok(Segment::Field(field.to_owned())),
            Some(field) => Err(format!(
                "the path variable `{{{field}}}` is not served: variables name one field of the request (no `.` or `=`)"
            )),
            None if !part.is_empty() && part.chars().all(is_unreserved) => {
                Ok(Segment::Literal(part.to_owned()))
            }
            None => Err(format!(
                "the path segment `{part}` of `{template}` is not plain text (letters, digits, `-`, `.`, `_`, `~`)"
            )),
        })
        .collect()
}

fn is_field(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

fn is_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_read_into_segments() {
        let read = segments("/fibonacci/{value}/next").unwrap();
        assert!(matches!(&read[0], Segment::Literal(text) if text == "fibonacci"));
        assert!(matches!(&read[1], Segment::Field(field) if field == "value"));
        assert!(matches!(&read[2], Segment::Literal(text) if text == "next"));
        assert!(segments("/v1/{name=shelves/*}").is_err());
        assert!(segments("/v1/{item.id}").is_err());
        assert!(segments("v1").is_err());
    }
}
