//! Route templates (`/cart/<cart_id>/items`) and the table of every route, checked for
//! conflicts at start-up.

use std::collections::HashMap;
use std::sync::Arc;

use super::RouteEntry;
use crate::dispatch::BoundHandler;
use crate::error::StartError;
use crate::registry::RouteSegment;

/// A route template, as the macro parsed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteTemplate {
    segments: &'static [RouteSegment],
}

impl RouteTemplate {
    pub fn new(segments: &'static [RouteSegment]) -> Self {
        Self { segments }
    }

    /// The path axum routes on. Parameters are named by position (`{p0}`), so that two
    /// templates of the same shape with different parameter names share one axum route.
    pub fn axum_path(&self) -> String {
        let mut path = String::new();
        let mut position = 0;
        for segment in self.segments {
            path.push('/');
            match segment {
                // The macro admits only unreserved URL characters, so nothing needs escaping.
                RouteSegment::Literal(text) => path.push_str(text),
                RouteSegment::Param(_) => {
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

    /// The template as the macro wrote it: `/cart/<cart_id>/items`.
    pub fn as_written(&self) -> String {
        let mut path = String::new();
        for segment in self.segments {
            path.push('/');
            match segment {
                RouteSegment::Literal(text) => path.push_str(text),
                RouteSegment::Param(name) => {
                    path.push('<');
                    path.push_str(name);
                    path.push('>');
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
                RouteSegment::Param(name) => Some((*name).to_owned()),
                RouteSegment::Literal(_) => None,
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
                RouteSegment::Literal(text) if text != part => return None,
                RouteSegment::Param(name) if part.is_empty() => missing = missing.or(Some(*name)),
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
            let Some(route) = bound.handler.route() else {
                continue;
            };
            let template = Arc::new(RouteTemplate::new(route.segments));
            let key = (route.method, template.axum_path());
            if let Some(first) = claimed.get(&key) {
                conflicts.push(format!(
                    "{method} {} in {} ({}:{}) and {method} {} in {} ({}:{}) match the same requests",
                    first.handler.route().map_or("", |r| r.template),
                    describe(first),
                    first.component.file,
                    first.component.line,
                    route.template,
                    describe(bound),
                    bound.component.file,
                    bound.component.line,
                    method = route.method.as_str(),
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
    bound.target()
}

#[cfg(test)]
mod tests {
    use std::any::Any;

    use futures_util::future::BoxFuture;

    use super::*;
    use crate::client::ComponentClient;
    use crate::invocation::Invocation;
    use crate::outcome::HandlerOutcome;
    use crate::registry::{
        AccessRules, ComponentDescriptor, ComponentKind, HandlerDescriptor, HttpMethod,
        RouteDescriptor, Trigger,
    };

    fn never_called(
        _: Arc<dyn Any + Send + Sync>,
        _: Invocation,
        _: ComponentClient,
    ) -> BoxFuture<'static, HandlerOutcome> {
        unreachable!("routing tests do not call handlers")
    }

    fn never_built(
        _: &crate::runtime::ComponentEnv<'_>,
    ) -> Result<Arc<dyn Any + Send + Sync>, crate::MissingDependency> {
        unreachable!("routing tests do not build components")
    }

    const fn route(
        method: HttpMethod,
        template: &'static str,
        segments: &'static [RouteSegment],
    ) -> Trigger {
        Trigger::Http(RouteDescriptor {
            method,
            template,
            segments,
            params: &[],
            takes_body: false,
            reads_query: false,
            api: &crate::registry::RouteApi::UNDESCRIBED,
        })
    }

    use RouteSegment::{Literal, Param};
    const CART_ID: &[RouteSegment] = &[Literal("cart"), Param("cart_id")];
    const CART_BY_ID: &[RouteSegment] = &[Literal("cart"), Param("id")];

    static CART_HANDLERS: [HandlerDescriptor; 2] = [
        HandlerDescriptor {
            name: "get_cart",
            triggers: &[route(HttpMethod::Get, "/cart/<cart_id>", CART_ID)],
            dispatch: never_called,
            publish: None,
            access: AccessRules::NONE,
        },
        HandlerDescriptor {
            name: "add_item",
            triggers: &[route(HttpMethod::Post, "/cart/<cart_id>", CART_ID)],
            dispatch: never_called,
            publish: None,
            access: AccessRules::NONE,
        },
    ];
    static CARTS: ComponentDescriptor = ComponentDescriptor {
        type_id: None,
        kind: ComponentKind::Action,
        id: "shop::Carts",
        file: "src/carts.rs",
        line: 10,
        forward_headers: &[],
        construct: never_built,
        handlers: &CART_HANDLERS,
        access: AccessRules::NONE,
        doc: "",
    };
    static ADMIN_HANDLERS: [HandlerDescriptor; 2] = [
        HandlerDescriptor {
            name: "inspect",
            triggers: &[route(HttpMethod::Get, "/cart/<id>", CART_BY_ID)],
            dispatch: never_called,
            publish: None,
            access: AccessRules::NONE,
        },
        HandlerDescriptor {
            name: "purge",
            triggers: &[route(HttpMethod::Delete, "/cart/<id>", CART_BY_ID)],
            dispatch: never_called,
            publish: None,
            access: AccessRules::NONE,
        },
    ];
    static ADMIN: ComponentDescriptor = ComponentDescriptor {
        type_id: None,
        kind: ComponentKind::Action,
        id: "admin::Admin",
        file: "src/admin.rs",
        line: 3,
        forward_headers: &[],
        construct: never_built,
        handlers: &ADMIN_HANDLERS,
        access: AccessRules::NONE,
        doc: "",
    };

    fn bound(component: &'static ComponentDescriptor) -> Vec<BoundHandler> {
        component
            .handlers
            .iter()
            .map(|handler| BoundHandler::new(component, handler, Arc::new(())))
            .collect()
    }

    #[test]
    fn the_same_method_and_path_in_two_components_is_refused_naming_both() {
        let handlers: Vec<BoundHandler> = bound(&CARTS).into_iter().chain(bound(&ADMIN)).collect();
        let refs: Vec<&BoundHandler> = handlers.iter().collect();
        let Err(error) = RouteTable::build(&refs) else {
            panic!("conflicting routes were accepted");
        };
        assert_eq!(
            error.to_string(),
            "conflicting routes: GET /cart/<cart_id> in shop::Carts::get_cart (src/carts.rs:10) \
             and GET /cart/<id> in admin::Admin::inspect (src/admin.rs:3) match the same requests"
        );
    }

    #[test]
    fn different_methods_on_one_path_share_it() {
        let handlers = bound(&CARTS);
        let refs: Vec<&BoundHandler> = handlers.iter().collect();
        assert_eq!(RouteTable::build(&refs).unwrap().entries().len(), 2);
    }

    #[test]
    fn templates_become_positional_axum_paths() {
        let template = RouteTemplate::new(&[
            Literal("cart"),
            Param("cart_id"),
            Literal("items"),
            Param("item"),
        ]);
        assert_eq!(template.axum_path(), "/cart/{p0}/items/{p1}");
        assert_eq!(template.param_names(), vec!["cart_id", "item"]);
        assert_eq!(RouteTemplate::new(&[]).axum_path(), "/");
    }

    #[test]
    fn an_empty_parameter_segment_is_reported() {
        let template =
            RouteTemplate::new(&[Literal("fibonacci"), Param("number"), Literal("next")]);
        assert_eq!(template.missing_param("/fibonacci//next"), Some("number"));
        assert_eq!(template.missing_param("/fibonacci/3/next"), None);
        assert_eq!(template.missing_param("/other//next"), None);
        let trailing = RouteTemplate::new(&[Literal("echo"), Param("word")]);
        assert_eq!(trailing.missing_param("/echo/"), Some("word"));
    }
}
