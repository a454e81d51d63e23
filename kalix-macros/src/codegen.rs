//! Code generation shared by every component kind: argument extraction, typed client methods,
//! handler descriptors and constructors. Generated code names everything by absolute path.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Type;
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use crate::exports::{KalixCore, KalixCoreAt};
use crate::handler::{Handler, Param, ParamKind, QueryShape, Reply, type_span, type_text};
use crate::options::{PublishTo, SubscribeOptions, SubscriptionSource};
use crate::route::Segment;

pub(crate) fn dispatch_ident(handler: &Handler) -> syn::Ident {
    format_ident!("__kalix_dispatch_{}", handler.ident)
}

pub(crate) fn arg_ident(index: usize) -> syn::Ident {
    format_ident!("__kalix_arg_{}", index)
}

/// `let __kalix_arg_N: T = ...;` for every parameter taken from the invocation (for a gRPC
/// handler, after the checks of its types against its method's).
pub(crate) fn extractions(handler: &Handler) -> TokenStream {
    let grpc = handler.grpc.is_some();
    let checks = grpc_checks(handler);
    let extractions = handler
        .params
        .iter()
        .enumerate()
        .map(|(index, param)| extraction(index, param, grpc));
    quote!(#checks #(#extractions)*)
}

/// A gRPC handler's request and reply types checked against its method's constant: each a
/// call that compiles only if they agree, spanned at the handler's type, so a wrong message is
/// reported there (and a misspelled method at the method's path).
fn grpc_checks(handler: &Handler) -> TokenStream {
    let Some(method) = &handler.grpc else {
        return TokenStream::new();
    };
    // The method named once, at its path: a misspelled one is one error there.
    let named = syn::Ident::new("__kalix_method", method.span());
    let mut checks = vec![quote_spanned!(method.span()=> let #named = &#method;)];
    if let Some(param) = handler
        .params
        .iter()
        .find(|p| matches!(p.kind, ParamKind::Body))
    {
        let ty = &param.ty;
        let span = type_span(ty);
        let core = KalixCoreAt(span);
        let named = syn::Ident::new("__kalix_method", span);
        checks.push(quote_spanned!(span=> #core::__private::grpc_request::<#ty, _>(#named);));
    }
    let reply = handler.reply.ty();
    let span = type_span(reply);
    let core = KalixCoreAt(span);
    let named = syn::Ident::new("__kalix_method", span);
    let check = match handler.reply {
        Reply::Unary(_) => {
            quote_spanned!(span=> #core::__private::grpc_unary_reply::<#reply, _>(#named);)
        }
        Reply::Stream(_) => {
            quote_spanned!(span=> #core::__private::grpc_streamed_reply::<#reply, _>(#named);)
        }
    };
    checks.push(check);
    quote!(#(#checks)*)
}

fn extraction(index: usize, param: &Param, grpc: bool) -> TokenStream {
    let arg = arg_ident(index);
    // A `&str` parameter is read as a `String` and lent to the handler.
    let owned: Type = syn::parse_quote_spanned!(param.ty.span()=> ::std::string::String);
    let ty = if is_str_ref(&param.ty) {
        &owned
    } else {
        &param.ty
    };
    let name = param.ident.unraw().to_string();
    let span = type_span(ty);
    let extract = match &param.kind {
        ParamKind::Context | ParamKind::State => return TokenStream::new(),
        ParamKind::Path => {
            let text = type_text(ty);
            let check = assert_url_param(ty);
            quote_spanned!(span=> { #check __kalix_invocation.path_param::<#ty>(#name, #text) })
        }
        ParamKind::Query(QueryShape::Required) => {
            let text = type_text(ty);
            let check = assert_url_param(ty);
            quote_spanned!(span=> { #check __kalix_invocation.query_required::<#ty>(#name, #text) })
        }
        ParamKind::Query(QueryShape::Optional(inner)) => {
            let text = type_text(inner);
            let check = assert_url_param(inner);
            quote_spanned!(span=> { #check __kalix_invocation.query_optional::<#inner>(#name, #text) })
        }
        ParamKind::Query(QueryShape::Repeated(inner)) => {
            let text = type_text(inner);
            let check = assert_url_param(inner);
            quote_spanned!(span=> { #check __kalix_invocation.query_all::<#inner>(#name, #text) })
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
            let core = KalixCoreAt(span);
            quote_spanned!(span=> ::core::result::Result::<_, #core::CallError>::Ok(__kalix_invocation.header_optional(#name)))
        }
        ParamKind::Body if grpc => {
            let text = type_text(ty);
            let core = KalixCoreAt(span);
            quote_spanned!(span=> #core::__private::grpc_message::<#ty>(&mut __kalix_invocation, #text))
        }
        ParamKind::Body => {
            let text = type_text(ty);
            {
                let core = KalixCoreAt(span);
                quote_spanned!(span=> #core::__private::body::<#ty>(&mut __kalix_invocation, #text))
            }
        }
    };
    quote! {
        let #arg: #ty = match #extract {
            ::core::result::Result::Ok(value) => value,
            ::core::result::Result::Err(error) => return #KalixCore::__private::HandlerOutcome::error(error),
        };
    }
}

/// The arguments of the call to the user's method: extracted values, and the given tokens for
/// the context and the state.
pub(crate) fn call_args(
    handler: &Handler,
    context: &TokenStream,
    state: &TokenStream,
) -> Vec<TokenStream> {
    handler
        .params
        .iter()
        .enumerate()
        .map(|(index, param)| match param.kind {
            ParamKind::Context => context.clone(),
            ParamKind::State => state.clone(),
            _ => {
                let arg = arg_ident(index);
                if is_str_ref(&param.ty) {
                    quote!(&#arg)
                } else {
                    quote!(#arg)
                }
            }
        })
        .collect()
}

/// Whom a generated client calls.
pub(crate) struct ClientTarget<'a> {
    /// The component's trait (`#KalixCore::action::ActionComponent`).
    pub component_trait: TokenStream,
    pub self_ty: &'a Type,
    pub name: &'a syn::Ident,
    /// For an entity: the id parameter, filled from the client's entity id.
    pub id_param: Option<String>,
}

/// A method of a typed client: the handler's arguments (minus context, state and entity id) in,
/// a `DeferredCall` of its reply type out.
pub(crate) fn client_method(target: &ClientTarget<'_>, handler: &Handler) -> TokenStream {
    let ClientTarget {
        component_trait,
        self_ty,
        name,
        id_param,
    } = target;
    let ident = &handler.ident;
    let method = ident.unraw().to_string();
    let reply = handler.reply.ty();
    let doc = format!("A call to [`{name}::{ident}`], run when awaited.");
    let vis = match &handler.vis {
        syn::Visibility::Inherited => quote!(pub(crate)),
        vis => quote!(#vis),
    };
    let is_entity_id = |param: &Param| {
        matches!(param.kind, ParamKind::Path)
            && id_param.as_deref() == Some(&*param.ident.to_string())
    };
    let takes = |param: &&Param| {
        !matches!(param.kind, ParamKind::Context | ParamKind::State) && !is_entity_id(param)
    };
    let params = handler.params.iter().filter(takes).map(|p| {
        let (ident, ty) = (&p.ident, &p.ty);
        quote!(#ident: #ty)
    });
    let mut builders = Vec::new();
    if let Some(id) = id_param {
        builders.push(quote!(let __kalix_call = __kalix_call.with_path_param(#id, ::core::clone::Clone::clone(&self.entity_id));));
    }
    let mut headers = Vec::new();
    let mut body = None;
    for param in handler.params.iter().filter(takes) {
        let ident = &param.ident;
        let name = ident.unraw().to_string();
        let span = type_span(&param.ty);
        let core = KalixCoreAt(span);
        let str_ref = is_str_ref(&param.ty);
        // Every token of the conversion is spanned at the parameter's type, so a type that
        // cannot be written into a URL is reported there once, not again at the attribute.
        let mut own = ident.clone();
        own.set_span(span);
        let item = syn::Ident::new("__kalix_value", span);
        let text = |value: TokenStream| {
            if str_ref {
                quote_spanned!(span=> ::std::string::ToString::to_string(#value))
            } else {
                quote_spanned!(span=> #core::UrlParam::to_url(#value))
            }
        };
        let checked = match &param.kind {
            ParamKind::Query(QueryShape::Optional(inner) | QueryShape::Repeated(inner)) => {
                Some(inner.as_ref())
            }
            ParamKind::Path | ParamKind::Query(QueryShape::Required) => Some(&param.ty),
            _ => None,
        };
        if let Some(ty) = checked.filter(|ty| !is_str_ref(ty)) {
            builders.push(assert_url_param(ty));
        }
        match &param.kind {
            ParamKind::Path => {
                let value = text(quote_spanned!(span=> &#own));
                builders
                    .push(quote!(let __kalix_call = __kalix_call.with_path_param(#name, #value);));
            }
            ParamKind::Query(QueryShape::Required) => {
                let value = text(quote_spanned!(span=> &#own));
                builders.push(quote!(let __kalix_call = __kalix_call.with_query(#name, #value);));
            }
            ParamKind::Query(QueryShape::Optional(_)) => {
                let value = text(quote!(#item));
                builders.push(quote! {
                    let __kalix_call = match &#ident {
                        ::core::option::Option::Some(#item) => __kalix_call.with_query(#name, #value),
                        ::core::option::Option::None => __kalix_call,
                    };
                });
            }
            ParamKind::Query(QueryShape::Repeated(_)) => {
                let value = text(quote!(#item));
                builders.push(quote! {
                    let __kalix_call = ::core::iter::Iterator::fold(::core::iter::IntoIterator::into_iter(&#ident), __kalix_call, |call, #item| call.with_query(#name, #value));
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
            ParamKind::Context | ParamKind::State => {}
        }
    }
    if !headers.is_empty() {
        builders.push(quote! {
            let mut __kalix_metadata = #KalixCore::Metadata::new();
            #(#headers)*
            let __kalix_call = __kalix_call.with_metadata(__kalix_metadata);
        });
    }
    let deferred = match body {
        Some(Param { ident, ty, .. }) => {
            let core = KalixCoreAt(ty.span());
            let deferred =
                quote_spanned!(ty.span()=> #core::__private::deferred_with_body::<#reply, #ty>);
            quote!(#deferred(&self.client, __kalix_call, &#ident))
        }
        None => {
            quote!(self.client.deferred::<#reply, ()>(__kalix_call, ::core::option::Option::None))
        }
    };
    quote! {
        #[doc = #doc]
                #vis fn #ident(&self, #(#params),*) -> #KalixCore::DeferredCall<#reply> {
            let __kalix_call = #KalixCore::Call::new(<#self_ty as #component_trait>::COMPONENT_ID, #method);
            #(#builders)*
            #deferred
        }
    }
}

/// `assert_url_param::<T>();`, spanned at `ty`: the one place a type that cannot be a path or
/// query parameter is reported (the same report from the client and the dispatch is shown once).
fn assert_url_param(ty: &Type) -> TokenStream {
    if is_str_ref(ty) {
        return TokenStream::new();
    }
    let core = KalixCoreAt(ty.span());
    quote_spanned!(ty.span()=> #core::__private::assert_url_param::<#ty>();)
}

/// Whether `ty` is `&str` (a path or query parameter lent from an owned `String`).
pub(crate) fn is_str_ref(ty: &Type) -> bool {
    matches!(ty, Type::Reference(reference)
        if reference.mutability.is_none()
            && matches!(reference.elem.as_ref(), Type::Path(path) if path.path.is_ident("str")))
}

/// The parts of a component's generated code that every kind shares: the client struct and its
/// methods, the dispatch functions, and the registration.
pub(crate) struct Generated<'a> {
    pub self_ty: &'a Type,
    pub name: &'a syn::Ident,
    /// The registry's `ComponentKind` variant, e.g. `Action`.
    pub kind: &'static str,
    pub component_trait: TokenStream,
    /// Whether the component stores under a type id (entities do), read from its trait.
    pub stores: bool,
    /// Extra fields of the client beside the component client (an entity's id).
    pub client_fields: TokenStream,
    pub client_methods: Vec<TokenStream>,
    pub dispatch_fns: Vec<TokenStream>,
    pub handlers: &'a [Handler],
    /// The component's `#[acl]` and `#[jwt]`.
    pub access: &'a crate::access::Access,
    pub forward_headers: &'a [syn::LitStr],
    pub construct: TokenStream,
    /// Handlers the runtime adds to the kind (a workflow's resume and timeout).
    pub internal_handlers: Vec<TokenStream>,
    /// The `impl` block's doc comment.
    pub doc: &'a str,
}

/// The client struct, its methods, the dispatch functions and the `inventory` registration.
pub(crate) fn shared_items(generated: Generated<'_>) -> TokenStream {
    let Generated {
        self_ty,
        name,
        kind,
        component_trait,
        stores,
        client_fields,
        client_methods,
        dispatch_fns,
        handlers,
        access,
        forward_headers,
        construct,
        internal_handlers,
        doc,
    } = generated;
    let access = access.tokens();
    let client = client_ident(name);
    let client_doc = format!(
        "The typed client of [`{name}`]: one method per handler, each returning a `DeferredCall`."
    );
    let stubs = stubs(self_ty, name, &component_trait, handlers);
    let kind = format_ident!("{}", kind);
    let descriptors = handlers.iter().map(handler_descriptor);
    let type_id = if stores {
        quote!(::core::option::Option::Some(<#self_ty as #component_trait>::TYPE_ID))
    } else {
        quote!(::core::option::Option::None)
    };
    quote! {
        #[doc = #client_doc]
        #[allow(dead_code)]
        pub struct #client {
            client: #KalixCore::ComponentClient,
            #client_fields
        }

        #[allow(dead_code, clippy::too_many_arguments)]
        impl #client {
            #(#client_methods)*
        }

        #(#dispatch_fns)*

        #stubs

        #KalixCore::__private::inventory::submit! {
            #KalixCore::__private::ComponentDescriptor {
                kind: #KalixCore::__private::ComponentKind::#kind,
                id: <#self_ty as #component_trait>::COMPONENT_ID,
                type_id: #type_id,
                file: ::core::file!(),
                line: ::core::line!(),
                forward_headers: &[#(#forward_headers),*],
                construct: #construct,
                handlers: &[#(#descriptors,)* #(#internal_handlers),*],
                access: #access,
                doc: #doc,
            }
        }
    }
}

/// The typed stubs of a component (`kalix_core::testing::Stubbed`): one method per handler a
/// client can call, taking an answer of its reply type.
fn stubs(
    self_ty: &Type,
    name: &syn::Ident,
    component_trait: &TokenStream,
    handlers: &[Handler],
) -> TokenStream {
    let stubs = format_ident!("{}Stubs", name);
    let methods = handlers
        .iter()
        .filter(|h| !h.failed && h.subscription.is_none() && matches!(h.reply, Reply::Unary(_)))
        .map(|handler| {
            let ident = &handler.ident;
            let method = ident.unraw().to_string();
            let reply = handler.reply.ty();
            let doc = format!("Answers every call to [`{name}::{ident}`] with `answer`.");
            let vis = match &handler.vis {
                syn::Visibility::Inherited => quote!(pub(crate)),
                vis => quote!(#vis),
            };
            quote! {
                #[doc = #doc]
                #vis fn #ident(
                    &self,
                    answer: impl ::core::ops::Fn(&#KalixCore::Call) -> ::core::result::Result<#reply, #KalixCore::CallError>
                        + ::core::marker::Send + ::core::marker::Sync + 'static,
                ) -> &Self {
                    self.registry.stub(
                        <#self_ty as #component_trait>::COMPONENT_ID,
                        #method,
                        #KalixCore::testing::stub_answer(answer),
                    );
                    self
                }
            }
        });
    let doc = format!("The typed stubs of [`{name}`]'s handlers, for the testkits.");
    quote! {
        #[doc = #doc]
        #[allow(dead_code)]
        pub struct #stubs<'a> {
            registry: &'a dyn #KalixCore::testing::StubRegistry,
        }

        #[allow(dead_code)]
        impl<'a> #stubs<'a> {
            #(#methods)*
        }

        #[automatically_derived]
        impl #KalixCore::testing::Stubbed for #self_ty {
            type Stubs<'a> = #stubs<'a>;
            fn stubs(registry: &dyn #KalixCore::testing::StubRegistry) -> #stubs<'_> {
                #stubs { registry }
            }
        }
    }
}

/// The frame of everything a component attribute generates, as serde frames what it derives: an
/// anonymous `const` (its items are reached only through the component's traits), hidden from
/// the docs, with the lints a user's crate may deny allowed on code the user did not write.
pub(crate) fn wrap(items: TokenStream) -> TokenStream {
    quote! {
        #[doc(hidden)]
        #[allow(
            non_upper_case_globals,
            unused_attributes,
            unused_qualifications,
            clippy::absolute_paths,
            clippy::all
        )]
        const _: () = {
            #items
        };
    }
}

/// The name of a component's generated client: `{Type}Client`.
pub(crate) fn client_ident(name: &syn::Ident) -> syn::Ident {
    format_ident!("{}Client", name)
}

/// The registry's description of a handler.
fn handler_descriptor(handler: &Handler) -> TokenStream {
    let name = handler.ident.unraw().to_string();
    let dispatch = dispatch_ident(handler);
    let access = handler.access.tokens();
    let takes_body = handler
        .params
        .iter()
        .any(|p| matches!(p.kind, ParamKind::Body));
    let reads_query = handler
        .params
        .iter()
        .any(|p| matches!(p.kind, ParamKind::Query(_)));
    let publish = match &handler.publish {
        Some(PublishTo::Topic(topic)) => quote!(::core::option::Option::Some(
            #KalixCore::__private::PublishTarget::Topic(#topic)
        )),
        Some(PublishTo::Stream(stream)) => quote!(::core::option::Option::Some(
            #KalixCore::__private::PublishTarget::Stream(#stream)
        )),
        None => quote!(::core::option::Option::None),
    };
    let mut triggers = Vec::new();
    if let Some(route) = &handler.route {
        let method = format_ident!("{}", route.method.variant());
        let template = &route.template.literal;
        // The template parsed here, once: the runtime routes and renders calls from these.
        let segments = route.template.segments.iter().map(|segment| match segment {
            Segment::Static(text) => quote!(#KalixCore::__private::RouteSegment::Literal(#text)),
            Segment::Param { name, .. } => {
                quote!(#KalixCore::__private::RouteSegment::Param(#name))
            }
        });
        let params = handler
            .params
            .iter()
            .filter(|p| matches!(p.kind, ParamKind::Path))
            .map(|p| {
                let name = p.ident.unraw().to_string();
                let ty = type_text(&p.ty);
                quote!((#name, #ty))
            });
        let api = crate::api_doc::route_api(handler);
        triggers.push(quote!(#KalixCore::__private::Trigger::Http(
            #KalixCore::__private::RouteDescriptor {
                method: #KalixCore::__private::HttpMethod::#method,
                template: #template,
                segments: &[#(#segments),*],
                params: &[#(#params),*],
                takes_body: #takes_body,
                reads_query: #reads_query,
                api: #api,
            }
        )));
    }
    if let Some(method) = &handler.grpc {
        triggers.push(quote!(#KalixCore::__private::Trigger::Grpc(#method.info())));
    }
    if let Some(subscription) = &handler.subscription {
        triggers.extend(subscription_trigger(handler, subscription));
    }
    if let Some(options) = &handler.on_startup {
        let max_retries = options.max_retries;
        triggers
            .push(quote!(#KalixCore::__private::Trigger::Startup { max_retries: #max_retries }));
    }
    quote! {
        #KalixCore::__private::HandlerDescriptor {
            name: #name,
            triggers: &[#(#triggers),*],
            dispatch: #dispatch,
            publish: #publish,
            access: #access,
        }
    }
}

/// The trigger of a `#[subscribe]` handler: a const fn of the entity (and the payload type it
/// takes) that compiles only if the entity is of the kind named and delivers that type, spanned
/// at the entity's path the user wrote, so either mistake is one error there.
fn subscription_trigger(handler: &Handler, subscription: &SubscribeOptions) -> Option<TokenStream> {
    let entity = &subscription.entity;
    let span = entity.span();
    let core = KalixCoreAt(span);
    let payload = handler
        .params
        .iter()
        .find(|p| matches!(p.kind, ParamKind::Body))
        .map(|p| &p.ty);
    let descriptor = match (subscription.source, payload) {
        (SubscriptionSource::ValueEntity, _) if subscription.handle_deletes => {
            quote_spanned!(span=> #core::__private::value_entity_deletes::<#entity>())
        }
        (SubscriptionSource::ValueEntity, Some(ty)) => {
            quote_spanned!(span=> #core::__private::value_entity_changes::<#entity, #ty>())
        }
        // With `ignore_unknown` the parameter may be any type the events it takes parse as.
        (SubscriptionSource::EventSourcedEntity, Some(ty)) if subscription.ignore_unknown => {
            quote_spanned!(span=> #core::__private::event_sourced_events_of::<#entity, #ty>())
        }
        (SubscriptionSource::EventSourcedEntity, Some(ty)) => {
            quote_spanned!(span=> #core::__private::event_sourced_events::<#entity, #ty>())
        }
        (SubscriptionSource::Topic, Some(ty)) => {
            let topic = subscription.topic.as_ref()?;
            let service = match &subscription.service {
                Some(service) => quote!(::core::option::Option::Some(#service)),
                None => quote!(::core::option::Option::None),
            };
            let group = match &subscription.consumer_group {
                Some(group) => quote!(::core::option::Option::Some(#group)),
                None => quote!(::core::option::Option::None),
            };
            let ignore_unknown = subscription.ignore_unknown;
            let type_name = short_type_name(ty);
            let decode = quote_spanned!(ty.span()=> #core::__private::decode_message::<#ty>);
            return Some(quote! {
                #KalixCore::__private::Trigger::Topic(#KalixCore::__private::TopicSubscriptionDescriptor {
                    topic: #topic,
                    service: #service,
                    consumer_group: #group,
                    ignore_unknown: #ignore_unknown,
                    type_name: #type_name,
                    decode: #decode,
                })
            });
        }
        // No payload parameter: already reported by the handler's check.
        (_, None) => return None,
    };
    Some(quote!(#KalixCore::__private::Trigger::Subscription(#descriptor)))
}

/// The name a message's `ce-type` gives for `ty`: the last segment of its path
/// (`IncreaseCounter` for `commands::IncreaseCounter`).
fn short_type_name(ty: &Type) -> String {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .map(|segment| segment.ident.unraw().to_string())
            .unwrap_or_default(),
        other => type_text(other),
    }
}

/// How the runtime builds the instance: with `Default` through `by_default`, or with the
/// constructor named by `new = path`, whose result `wrap` turns into the registered instance.
pub(crate) fn construct(
    self_ty: &Type,
    new: Option<&syn::Path>,
    by_default: TokenStream,
    wrap: TokenStream,
) -> TokenStream {
    match new {
        None => quote_spanned!(self_ty.span()=> #by_default::<#self_ty>),
        Some(path) => quote! {{
            fn __kalix_construct(
                env: &#KalixCore::__private::ComponentEnv<'_>,
            ) -> ::core::result::Result<
                #KalixCore::__private::Arc<dyn #KalixCore::__private::Any + ::core::marker::Send + ::core::marker::Sync>,
                #KalixCore::MissingDependency,
            > {
                let instance: ::core::result::Result<#self_ty, #KalixCore::MissingDependency> = #path(env.dependencies);
                #wrap(env, instance)
            }
            __kalix_construct
        }},
    }
}

/// How an entity kind's dispatch functions reach its runtime.
pub(crate) struct EntityDispatch<'a> {
    pub self_ty: &'a Type,
    /// How the handler's closure takes the state (`&State`, or a workflow's `Option<&State>`).
    pub state: TokenStream,
    /// The id parameter.
    pub id: &'a syn::LitStr,
    /// The runtime type, e.g. `#KalixCore::__private::ValueEntityRuntime`.
    pub runtime: TokenStream,
    /// The function running one command, e.g. `#KalixCore::__private::value_entity_command`.
    pub command: TokenStream,
    /// The context type handlers take.
    pub context: TokenStream,
}

/// The function the runtime calls for an entity's handler: extracts the entity id and each
/// argument (a 400 on bad input), then runs the command on the entity's slot.
pub(crate) fn entity_dispatch_fn(entity: &EntityDispatch<'_>, handler: &Handler) -> TokenStream {
    let EntityDispatch {
        self_ty,
        state,
        id,
        runtime,
        command,
        context,
    } = entity;
    let ident = &handler.ident;
    let dispatch = dispatch_ident(handler);
    let extractions = extractions(handler);
    let args = call_args(handler, &quote!(__kalix_context), &quote!(__kalix_state));
    let reply = handler.reply.ty();
    let command = quote_spanned!(reply.span()=> #command::<#self_ty, #reply>);
    // A gRPC command's entity is named by the request message's field of the id's name.
    let message = handler
        .params
        .iter()
        .position(|p| matches!(p.kind, ParamKind::Body))
        .filter(|_| handler.grpc.is_some());
    let (id_from_path, id_from_message) = match message {
        Some(index) => {
            let arg = arg_ident(index);
            let Ok(mut field) = syn::parse_str::<syn::Ident>(&id.value()) else {
                return syn::Error::new(
                    id.span(),
                    "a gRPC entity's id names a field of the request message: a Rust identifier",
                )
                .to_compile_error();
            };
            field.set_span(id.span());
            let core = KalixCoreAt(id.span());
            (
                TokenStream::new(),
                quote_spanned! {id.span()=>
                    let __kalix_entity_id = #core::__private::grpc_entity_id(&#arg.#field);
                },
            )
        }
        None => (
            quote! {
                let __kalix_entity_id = match __kalix_invocation.path_param::<::std::string::String>(#id, "String") {
                    ::core::result::Result::Ok(value) => value,
                    ::core::result::Result::Err(error) => return #KalixCore::__private::HandlerOutcome::error(error),
                };
            },
            TokenStream::new(),
        ),
    };
    dispatch_fn(
        &dispatch,
        quote! {
            let __kalix_runtime = #KalixCore::__private::downcast::<#runtime<#self_ty>>(__kalix_instance);
            #id_from_path
            #extractions
            #id_from_message
            let __kalix_metadata = __kalix_invocation.take_metadata();
            #command(
                &__kalix_runtime,
                __kalix_entity_id,
                __kalix_metadata,
                __kalix_client,
                move |__kalix_entity: &#self_ty, __kalix_state: #state, __kalix_context: &#context| {
                    __kalix_entity.#ident(#(#args),*)
                },
            ).await
        },
    )
}

/// A handler's dispatch function: the signature the registry calls, around `body` (which has
/// `__kalix_instance`, `__kalix_invocation` and `__kalix_client` at hand, in an async block).
pub(crate) fn dispatch_fn(dispatch: &syn::Ident, body: TokenStream) -> TokenStream {
    quote! {
        fn #dispatch(
            __kalix_instance: #KalixCore::__private::Arc<dyn #KalixCore::__private::Any + ::core::marker::Send + ::core::marker::Sync>,
            mut __kalix_invocation: #KalixCore::__private::Invocation,
            __kalix_client: #KalixCore::ComponentClient,
        ) -> #KalixCore::__private::BoxFuture<'static, #KalixCore::__private::HandlerOutcome> {
            ::std::boxed::Box::pin(async move {
                #body
            })
        }
    }
}
