//! Code generated for an action: the `ActionComponent` impl, a typed client, one dispatch
//! function per handler, and the registration. Everything sits in `const _: () = { ... };` and
//! reaches the runtime through `#KalixCore::__private`, with absolute paths, so no name of the
//! user's can shadow it.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::model::Action;
use crate::codegen::{self, ClientTarget, call_args, dispatch_ident, extractions};
use crate::exports::{KalixCore, KalixCoreAt};
use crate::handler::{Handler, Reply};

pub(crate) fn generate(action: &Action) -> TokenStream {
    let self_ty = &action.self_ty;
    let name = action.name.to_string();
    let client = codegen::client_ident(&action.name);
    let component_trait = quote!(#KalixCore::action::ActionComponent);
    let target = ClientTarget {
        component_trait: component_trait.clone(),
        self_ty,
        name: &action.name,
        id_param: None,
    };
    // A streamed reply cannot be awaited through a client, so streaming handlers get no method;
    // a subscription's handlers are run by the runtime alone.
    let client_methods = action
        .handlers
        .iter()
        .filter(|h| matches!(h.reply, Reply::Unary(_)) && h.subscription.is_none())
        .map(|h| codegen::client_method(&target, h))
        .collect();
    let shared = codegen::shared_items(codegen::Generated {
        self_ty,
        name: &action.name,
        kind: "Action",
        component_trait,
        stores: false,
        client_fields: TokenStream::new(),
        client_methods,
        dispatch_fns: action
            .handlers
            .iter()
            .map(|h| dispatch_fn(action, h))
            .collect(),
        handlers: &action.handlers,
        access: &action.access,
        forward_headers: &action.options.forward_headers,
        construct: codegen::construct(
            self_ty,
            action.options.new.as_ref(),
            quote!(#KalixCore::__private::construct_default),
            quote!(#KalixCore::__private::construct_action),
        ),
        internal_handlers: Vec::new(),
        doc: &action.doc,
    });
    codegen::wrap(quote! {
        #[automatically_derived]
        impl #KalixCore::action::ActionComponent for #self_ty {
            const COMPONENT_ID: &'static str = ::core::concat!(::core::module_path!(), "::", #name);
            type Client = #client;
            fn client(client: #KalixCore::ComponentClient) -> #client {
                #client { client }
            }
        }

        #shared
    })
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
    let core = KalixCoreAt(reply_span);
    let complete = match handler.reply {
        Reply::Unary(_) => {
            let complete = quote_spanned!(reply_span=> #core::__private::complete_action::<#reply>);
            quote!(#complete(#call).await)
        }
        Reply::Stream(_) => {
            let complete =
                quote_spanned!(reply_span=> #core::__private::complete_action_stream::<#reply>);
            quote!(#complete(#call))
        }
    };
    codegen::dispatch_fn(
        &dispatch,
        quote! {
            let __kalix_instance = #KalixCore::__private::downcast::<#self_ty>(__kalix_instance);
            #extractions
            let __kalix_context = #KalixCore::action::ActionContext::new(__kalix_invocation.take_metadata(), __kalix_client);
            #complete
        },
    )
}
