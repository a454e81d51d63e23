//! Code generated for an action: the `ActionComponent` impl, a typed client, one dispatch
//! function per handler, and the registration. Everything sits in `const _: () = { ... };` and
//! reaches the runtime through `::kalix_core::__private`, with absolute paths, so no name of the
//! user's can shadow it.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::model::Action;
use crate::handler::{Handler, Param, ParamKind, QueryShape, Reply, type_span, type_text};

pub(crate) fn generate(action: &Action) -> TokenStream {
    let self_ty = &action.self_ty;
    let name = action.name.to_string();
    let client = format_ident!("{}Client", action.name);
    let client_doc = format!(
        "The typed client of [`{name}`]: one method per handler, each returning a `DeferredCall`."
    );
    let client_methods = action
        .handlers
        .iter()
        .filter(|h| matches!(h.reply, Reply::Unary(_)))
        .map(|h| client_method(action, h));
    let dispatch_fns = action.handlers.iter().map(|h| dispatch_fn(action, h));
    let descriptors = action.handlers.iter().map(handler_descriptor);
    let forward_headers = &action.options.forward_headers;
    let construct = construct(action);
    quote! {
        const _: () = {
            impl ::kalix_core::action::ActionComponent for #self_ty {
                const COMPONENT_ID: &'static str = ::core::concat!(::core::module_path!(), "::", #name);
                type Client = #client;
                fn client(client: ::kalix_core::ComponentClient) -> #client {
                    #client { client }
                }
            }

            #[doc = #client_doc]
            #[allow(dead_code)]
            pub struct #client {
                client: ::kalix_core::ComponentClient,
            }

            #[allow(dead_code, clippy::too_many_arguments)]
            impl #client {
                #(#client_methods)*
            }

            #(#dispatch_fns)*

            ::kalix_core::__private::inventory::submit! {
                ::kalix_core::__private::ComponentDescriptor {
                    kind: ::kalix_core::__private::ComponentKind::Action,
                    id: <#self_ty as ::kalix_core::action::ActionComponent>::COMPONENT_ID,
                    file: ::core::file!(),
                    line: ::core::line!(),
                    forward_headers: &[#(#forward_headers),*],
                    construct: #construct,
                    handlers: &[#(#descriptors),*],
                }
            }
        };
    }
}

fn dispatch_ident(handler: &Handler) -> syn::Ident {
    format_ident!("__kalix_dispatch_{}", handler.ident)
}

fn arg_ident(index: usize) -> syn::Ident {
    format_ident!("__kalix_arg_{}", index)
}

/// The function the runtime calls: extracts each argument (a 400 on bad input), calls the
/// method, and hands its effect to the action host.
fn dispatch_fn(action: &Action, handler: &Handler) -> TokenStream {
    let self_ty = &action.self_ty;
    let ident = &handler.ident;
    let dispatch = dispatch_ident(handler);
    let extractions = handler
        .params
        .iter()
        .enumerate()
        .map(|(index, param)| extraction(index, param));
    let args = handler
        .params
        .iter()
        .enumerate()
        .map(|(index, param)| match param.kind {
            ParamKind::Context => quote!(&__kalix_context),
            _ => {
                let arg = arg_ident(index);
                quote!(#arg)
            }
        });
    let call = if handler.is_async {
        quote!(__kalix_instance.#ident(#(#args),*).await)
    } else {
        quote!(__kalix_instance.#ident(#(#args),*))
    };
    // Spanned at the reply type, so a reply that cannot be serialized is reported there.
    let reply = handler.reply.ty();
    let reply_span = reply.span();
    let complete = match handler.reply {
        Reply::Unary(_) => {
            let complete =
                quote_spanned!(reply_span=> ::kalix_core::__private::complete_action::<#reply>);
            quote!(#complete(#call).await)
        }
        Reply::Stream(_) => {
            let complete = quote_spanned!(reply_span=> ::kalix_core::__private::complete_action_stream::<#reply>);
            quote!(#complete(#call))
        }
    };
    quote! {
        fn #dispatch(
            __kalix_instance: ::kalix_core::__private::Arc<dyn ::kalix_core::__private::Any + ::core::marker::Send + ::core::marker::Sync>,
            mut __kalix_invocation: ::kalix_core::__private::Invocation,
            __kalix_client: ::kalix_core::ComponentClient,
        ) -> ::kalix_core::__private::BoxFuture<'static, ::kalix_core::__private::HandlerOutcome> {
            ::std::boxed::Box::pin(async move {
                let __kalix_instance = ::kalix_core::__private::downcast::<#self_ty>(__kalix_instance);
                #(#extractions)*
                let __kalix_context = ::kalix_core::action::ActionContext::new(__kalix_invocation.take_metadata(), __kalix_client);
                #complete
            })
        }
    }
}

fn extraction(index: usize, param: &Param) -> TokenStream {
    let arg = arg_ident(index);
    let ty = &param.ty;
    let name = param.ident.to_string();
    let span = type_span(ty);
    let extract = match &param.kind {
        ParamKind::Context => return TokenStream::new(),
        ParamKind::Path => {
            let text = type_text(ty);
            quote_spanned!(span=> __kalix_invocation.path_param::<#ty>(#name, #text))
        }
        ParamKind::Query(QueryShape::Required) => {
            let text = type_text(ty);
            quote_spanned!(span=> __kalix_invocation.query_required::<#ty>(#name, #text))
        }
        ParamKind::Query(QueryShape::Optional(inner)) => {
            let text = type_text(inner);
            quote_spanned!(span=> __kalix_invocation.query_optional::<#inner>(#name, #text))
        }
        ParamKind::Query(QueryShape::Repeated(inner)) => {
            let text = type_text(inner);
            quote_spanned!(span=> __kalix_invocation.query_all::<#inner>(#name, #text))
        }
        ParamKind::Header {
            name,
            optional: false,
        } => {
            quote_spanned!(span=> __kalix_invocation.header_required(#name))
        }
        ParamKind::Header {
            name,
            optional: true,
        } => {
            quote_spanned!(span=> ::core::result::Result::<_, ::kalix_core::CallError>::Ok(__kalix_invocation.header_optional(#name)))
        }
        ParamKind::Body => {
            let text = type_text(ty);
            quote_spanned!(span=> ::kalix_core::__private::body::<#ty>(&mut __kalix_invocation, #text))
        }
    };
    quote! {
        let #arg: #ty = match #extract {
            ::core::result::Result::Ok(value) => value,
            ::core::result::Result::Err(error) => return ::kalix_core::__private::HandlerOutcome::error(error),
        };
    }
}

/// A method of the typed client: the handler's arguments (minus the context) in, a
/// `DeferredCall` of its reply type out.
fn client_method(action: &Action, handler: &Handler) -> TokenStream {
    let self_ty = &action.self_ty;
    let ident = &handler.ident;
    let method = ident.to_string();
    let reply = handler.reply.ty();
    let doc = format!(
        "A call to [`{}::{}`], run when awaited.",
        action.name, ident
    );
    let params = handler
        .params
        .iter()
        .filter(|p| !matches!(p.kind, ParamKind::Context))
        .map(|p| {
            let (ident, ty) = (&p.ident, &p.ty);
            quote!(#ident: #ty)
        });
    let mut builders = Vec::new();
    let mut headers = Vec::new();
    let mut body = None;
    for param in &handler.params {
        let ident = &param.ident;
        let name = ident.to_string();
        let span = type_span(&param.ty);
        let text =
            |value: TokenStream| quote_spanned!(span=> ::std::string::ToString::to_string(#value));
        match &param.kind {
            ParamKind::Path => {
                let value = text(quote!(&#ident));
                builders
                    .push(quote!(let __kalix_call = __kalix_call.with_path_param(#name, #value);));
            }
            ParamKind::Query(QueryShape::Required) => {
                let value = text(quote!(&#ident));
                builders.push(quote!(let __kalix_call = __kalix_call.with_query(#name, #value);));
            }
            ParamKind::Query(QueryShape::Optional(_)) => {
                let value = text(quote!(value));
                builders.push(quote! {
                    let __kalix_call = match &#ident {
                        ::core::option::Option::Some(value) => __kalix_call.with_query(#name, #value),
                        ::core::option::Option::None => __kalix_call,
                    };
                });
            }
            ParamKind::Query(QueryShape::Repeated(_)) => {
                let value = text(quote!(value));
                builders.push(quote! {
                    let __kalix_call = ::core::iter::Iterator::fold(::core::iter::IntoIterator::into_iter(&#ident), __kalix_call, |call, value| call.with_query(#name, #value));
                });
            }
            ParamKind::Header {
                name,
                optional: false,
            } => {
                headers.push(quote!(__kalix_metadata.append(#name, #ident);));
            }
            ParamKind::Header {
                name,
                optional: true,
            } => {
                headers.push(quote! {
                    if let ::core::option::Option::Some(value) = #ident {
                        __kalix_metadata.append(#name, value);
                    }
                });
            }
            ParamKind::Body => body = Some(param),
            ParamKind::Context => {}
        }
    }
    if !headers.is_empty() {
        builders.push(quote! {
            let mut __kalix_metadata = ::kalix_core::Metadata::new();
            #(#headers)*
            let __kalix_call = __kalix_call.with_metadata(__kalix_metadata);
        });
    }
    let deferred = match body {
        Some(Param { ident, ty, .. }) => {
            let deferred = quote_spanned!(ty.span()=> ::kalix_core::__private::deferred_with_body::<#reply, #ty>);
            quote!(#deferred(&self.client, __kalix_call, &#ident))
        }
        None => {
            quote!(self.client.deferred::<#reply, ()>(__kalix_call, ::core::option::Option::None))
        }
    };
    quote! {
        #[doc = #doc]
        pub fn #ident(&self, #(#params),*) -> ::kalix_core::DeferredCall<#reply> {
            let __kalix_call = ::kalix_core::Call::new(<#self_ty as ::kalix_core::action::ActionComponent>::COMPONENT_ID, #method);
            #(#builders)*
            #deferred
        }
    }
}

fn handler_descriptor(handler: &Handler) -> TokenStream {
    let name = handler.ident.to_string();
    let dispatch = dispatch_ident(handler);
    let route = match &handler.route {
        Some(route) => {
            let method = format_ident!("{}", route.method.variant());
            let template = &route.template.literal;
            let params = handler
                .params
                .iter()
                .filter(|p| matches!(p.kind, ParamKind::Path))
                .map(|p| {
                    let name = p.ident.to_string();
                    let ty = type_text(&p.ty);
                    quote!((#name, #ty))
                });
            quote!(::core::option::Option::Some(::kalix_core::__private::RouteDescriptor {
                method: ::kalix_core::__private::HttpMethod::#method,
                template: #template,
                params: &[#(#params),*],
            }))
        }
        None => quote!(::core::option::Option::None),
    };
    let on_startup = match &handler.on_startup {
        Some(options) => {
            let retries = options.max_retries;
            quote!(::core::option::Option::Some(#retries))
        }
        None => quote!(::core::option::Option::None),
    };
    let takes_body = handler
        .params
        .iter()
        .any(|p| matches!(p.kind, ParamKind::Body));
    let reads_query = handler
        .params
        .iter()
        .any(|p| matches!(p.kind, ParamKind::Query(_)));
    quote! {
        ::kalix_core::__private::HandlerDescriptor {
            name: #name,
            route: #route,
            on_startup: #on_startup,
            takes_body: #takes_body,
            reads_query: #reads_query,
            dispatch: #dispatch,
        }
    }
}

/// How the runtime builds the instance: `Default`, or the constructor named by `new = path`.
fn construct(action: &Action) -> TokenStream {
    let self_ty = &action.self_ty;
    match &action.options.new {
        None => {
            quote_spanned!(self_ty.span()=> ::kalix_core::__private::construct_default::<#self_ty>)
        }
        Some(path) => quote! {{
            fn __kalix_construct(
                dependencies: &::kalix_core::Dependencies,
            ) -> ::core::result::Result<
                ::kalix_core::__private::Arc<dyn ::kalix_core::__private::Any + ::core::marker::Send + ::core::marker::Sync>,
                ::kalix_core::MissingDependency,
            > {
                let instance: #self_ty = #path(dependencies)?;
                ::core::result::Result::Ok(::kalix_core::__private::Arc::new(instance))
            }
            __kalix_construct
        }},
    }
}
