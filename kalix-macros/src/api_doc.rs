//! A route's entry in the service's API description (`kalix_core::__private::RouteApi`): the
//! handler's doc comment, and a schema function for each type it takes and replies with.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Type;
use syn::ext::IdentExt;

use crate::exports::KalixCore;
use crate::handler::{Handler, ParamKind, QueryShape, Reply};

/// The `&RouteApi` of a routed handler.
pub(crate) fn route_api(handler: &Handler) -> TokenStream {
    let (summary, description) = summary_and_description(&handler.doc);
    let params = handler.params.iter().filter_map(|param| {
        let name = param.ident.unraw().to_string();
        let (name, location, required, schema) = match &param.kind {
            ParamKind::Path => (name, "Path", true, schema_fn(&param.ty)),
            ParamKind::Query(QueryShape::Required) => (name, "Query", true, schema_fn(&param.ty)),
            ParamKind::Query(QueryShape::Optional(inner)) => {
                (name, "Query", false, schema_fn(inner))
            }
            ParamKind::Query(QueryShape::Repeated(inner)) => {
                let list: Type = syn::parse_quote!(::std::vec::Vec<#inner>);
                (name, "Query", false, schema_fn(&list))
            }
            // A header's value is text, whatever the parameter's type.
            ParamKind::Header { name, optional } => {
                let text: Type = syn::parse_quote!(::std::string::String);
                (name.value(), "Header", !optional, schema_fn(&text))
            }
            ParamKind::Body | ParamKind::Context | ParamKind::State => return None,
        };
        let location = format_ident!("{}", location);
        Some(quote! {
            #KalixCore::__private::ApiParam {
                name: #name,
                location: #KalixCore::__private::ApiParamIn::#location,
                required: #required,
                schema: #schema,
            }
        })
    });
    let body = match handler
        .params
        .iter()
        .find(|param| matches!(param.kind, ParamKind::Body))
    {
        Some(param) => {
            let schema = schema_fn(&param.ty);
            quote!(::core::option::Option::Some(#schema))
        }
        None => quote!(::core::option::Option::None),
    };
    let reply = schema_fn(handler.reply.ty());
    let streams = matches!(handler.reply, Reply::Stream(_));
    quote! {
        &#KalixCore::__private::RouteApi {
            summary: #summary,
            description: #description,
            params: &[#(#params),*],
            body: #body,
            reply: #reply,
            streams: #streams,
        }
    }
}

/// A function giving `ty`'s schema: its `JsonSchema` if it has one, else any JSON naming it
/// (the probe's method lookup picks; see `kalix_core::openapi::schema`).
fn schema_fn(ty: &Type) -> TokenStream {
    quote! {{
        fn schema(
            generator: &mut #KalixCore::__private::SchemaGenerator,
        ) -> #KalixCore::__private::Schema {
            #[allow(unused_imports)]
            use #KalixCore::__private::{DescribedByName as _, DescribedBySchema as _};
            (&#KalixCore::__private::SchemaProbe::<#ty>::new()).describe(generator)
        }
        schema as #KalixCore::__private::SchemaFn
    }}
}

/// A doc comment's first paragraph, and the rest.
fn summary_and_description(doc: &str) -> (String, String) {
    match doc.split_once("\n\n") {
        Some((summary, rest)) => (summary.replace('\n', " "), rest.trim().to_owned()),
        None => (doc.replace('\n', " "), String::new()),
    }
}
