//! Code generated for an action: the `ActionComponent` impl, a typed client, one dispatch
//! function per handler, and the registration. Everything sits in `const _: () = { ... };` and
//! reaches the runtime through `::kalix_core::__private`, with absolute paths, so no name of the
//! user's can shadow it.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::model::Action;
use crate::codegen::{self, ClientTarget, call_args, dispatch_ident, extractions};
use crate::handler::{Handler, Reply};

pub(crate) fn generate(action: &Action) -> TokenStream {
    let self_ty = &action.self_ty;
    let name = action.name.to_string();
    let client = format_ident!("{}Client", action.name);
    let client_doc = format!(
        "The typed client of [`{name}`]: one method per handler, each returning a `DeferredCall`."
    );
    let target = ClientTarget {
        component_trait: quote!(::kalix_core::action::ActionComponent),
        self_ty,
        name: &action.name,
        id_param: None,
    };
    let client_methods = action
        .handlers
        .iter()
        .filter(|h| matches!(h.reply, Reply::Unary(_)))
        .map(|h| codegen::client_method(&target, h));
    let dispatch_fns = action.handlers.iter().map(|h| dispatch_fn(action, h));
    let descriptors = action.handlers.iter().map(codegen::handler_descriptor);
    let forward_headers = &action.options.forward_headers;
    let construct = codegen::construct(
        self_ty,
        action.options.new.as_ref(),
        quote!(::kalix_core::__private::construct_default),
        quote!(::kalix_core::__private::construct_action),
    );
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

/// The function the runtime calls: extracts each argument (a 400 on bad input), calls the
/// method, and hands its effect to the action host.
fn dispatch_fn(action: &Action, handler: &Handler) -> TokenStream {
    let self_ty = &action.self_ty;
    let ident = &handler.ident;
    let dispatch = dispatch_ident(handler);
    let extractions = extractions(handler);
    let args = call_args(handler, &quote!(&__kalix_context), &TokenStream::new());
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
                #extractions
                let __kalix_context = ::kalix_core::action::ActionContext::new(__kalix_invocation.take_metadata(), __kalix_client);
                #complete
            })
        }
    }
}
