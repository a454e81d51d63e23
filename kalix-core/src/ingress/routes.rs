//! Route templates (`/cart/<cart_id>/items`) and the table of every route, checked for
//! conflicts at start-up.

use std::collections::HashMap;
use std::sync::Arc;

use super::RouteEntry;
use crate::dispatch::BoundHandler;
use crate::error::StartError;

/// A parsed route template. The macro has validated it, so parsing cannot fail here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteTemplate {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Static(String),
    Param(String),
}

impl RouteTemplate {
    pub fn parse(template: &str) -> Self {
        let segments = template
            .trim_start_matches('/')
            .split('/')
            .filter(|segment| !segment.is_empty())
            .map(
                |segment| match segment.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
                    Some(name) => Segment::Param(name.to_owned()),
                    None => Segment::Static(segment.to_owned()),
                },
            )
            .collect();
        Self { segments }
    }

    /// The path axum routes on. Parameters are named by position (`{p0}`), so that two
    /// templates of the same shape with different parameter names share one axum route.
    pub fn axum_path(&self) -> String {
        let mut path = String::new();
        let mut position = 0;
        for segment in &self.segments {
            path.push('/');
            match segment {
                Segment::Static(text) => path.push_str(&text.replace('{', "{{").replace('}', "}}")),
                Segment::Param(_) => {
                    path.push_str(&format!("{{p{position}}}"));
                    position += 1;
                }
            }
        }
        if path.is_empty() {
            path.push('/');
        }
        path
    }

    /// Parameter names in the order they appear.
    pub fn param_names(&self) -> Vec<String> {
        self.segments
            .iter()
            .filter_map(|segment| match segment {
                Segment::Param(name) => Some(name.clone()),
                Segment::Static(_) => None,
            })
            .collect()
    }

    /// If `path` would match this template but for an empty parameter segment, that parameter.
    pub fn missing_param(&self, path: &str) -> Option<&str> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let parts = match parts.as_slice() {
            // A trailing slash leaves an empty last part, which is the missing parameter.
            [rest @ .., ""] if rest.len() + 1 != self.segments.len() => rest,
            all => all,
        };
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut missing = None;
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Segment::Static(text) if text != part => return None,
                Segment::Param(name) if part.is_empty() => {
                    missing = missing.or(Some(name.as_str()))
                }
                _ => {}
            }
        }
        missing
    }
}

/// Every routed handler, with conflicts refused.
pub(crate) struct RouteTable {
    entries: Vec<RouteEntry>,
}

impl RouteTable {
    pub fn build(handlers: &[&BoundHandler]) -> Result<Self, StartError> {
        let mut entries = Vec::new();
        let mut claimed: HashMap<(crate::registry::HttpMethod, String), &BoundHandler> =
            HashMap::new();
        let mut conflicts = Vec::new();
        for &bound in handlers {
            let Some(route) = bound.handler.route else {
                continue;
            };
            let template = Arc::new(RouteTemplate::parse(route.template));
            let key = (route.method, template.axum_path());
            if let Some(first) = claimed.get(&key) {
                conflicts.push(format!(
                    "{} {} is claimed by both {} ({}:{}) as `{}` and {} ({}:{}) as `{}`",
                    route.method.as_str(),
                    key.1,
                    describe(first),
                    first.component.file,
                    first.component.line,
                    first.handler.route.map_or("", |r| r.template),
                    describe(bound),
                    bound.component.file,
                    bound.component.line,
                    route.template,
                ));
                continue;
            }
            claimed.insert(key, bound);
            entries.push(RouteEntry {
                method: route.method,
                template,
                bound: bound.clone(),
            });
        }
        if conflicts.is_empty() {
            Ok(Self { entries })
        } else {
            Err(StartError::ConflictingRoutes(format!(
                "conflicting routes: {}",
                conflicts.join("; ")
            )))
        }
    }

    pub fn entries(&self) -> &[RouteEntry] {
        &self.entries
    }
}

fn describe(bound: &BoundHandler) -> String {
    format!("{}::{}", bound.component.id, bound.handler.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_become_positional_axum_paths() {
        let template = RouteTemplate::parse("/cart/<cart_id>/items/<item>");
        assert_eq!(template.axum_path(), "/cart/{p0}/items/{p1}");
        assert_eq!(template.param_names(), vec!["cart_id", "item"]);
        assert_eq!(RouteTemplate::parse("/").axum_path(), "/");
    }

    #[test]
    fn an_empty_parameter_segment_is_reported() {
        let template = RouteTemplate::parse("/fibonacci/<number>/next");
        assert_eq!(template.missing_param("/fibonacci//next"), Some("number"));
        assert_eq!(template.missing_param("/fibonacci/3/next"), None);
        assert_eq!(template.missing_param("/other//next"), None);
        let trailing = RouteTemplate::parse("/echo/<word>");
        assert_eq!(trailing.missing_param("/echo/"), Some("word"));
    }
}
