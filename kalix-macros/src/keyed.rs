//! What the keyed kinds (value entities, event-sourced entities, workflows) share: one model of
//! a component addressed by an id, and one generator of its code (the component trait's common
//! members, a client bound to an id, one dispatch function per command handler, the
//! registration). Each kind adds only its own members: an event-sourced entity's event and
//! `apply`, a workflow's steps.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, ItemImpl, LitStr, Type};

use crate::access::Access;
use crate::codegen::{self, ClientTarget};
use crate::diagnostics::Diagnostics;
use crate::entity::{Header, validate_routes};
use crate::exports::{KalixCore, KalixCoreAt};
use crate::handler::Handler;
use crate::options::ComponentOptions;

/// A keyed component as every keyed kind reads it.
pub(crate) struct Keyed {
    pub self_ty: Type,
    /// The `impl` block's doc comment, for the API description.
    pub doc: String,
    pub name: Ident,
    pub options: ComponentOptions,
    pub type_id: LitStr,
    pub id: LitStr,
    pub state: Type,
    /// The command handlers without errors (the others were reported).
    pub handlers: Vec<Handler>,
    /// The block's `#[acl]` and `#[jwt]`.
    pub access: Access,
}

impl Keyed {
    /// The model once its parts are read, or `None` if one is missing (already reported); the
    /// routes are checked to carry the id. `kind` names the kind in messages.
    pub fn assemble(
        item: &mut ItemImpl,
        kind: &str,
        header: Header,
        state: Option<Type>,
        handlers: Vec<Handler>,
        diagnostics: &mut Diagnostics,
    ) -> Option<Self> {
        let Header {
            options,
            name,
            type_id,
            id,
        } = header;
        let access = Access::take(&mut item.attrs, diagnostics);
        let keyed = Keyed {
            access,
            self_ty: (*item.self_ty).clone(),
            doc: crate::readers::doc_text(&item.attrs),
            name: name?,
            options,
            type_id: type_id?,
            id: id?,
            state: state?,
            handlers: crate::readers::sound(handlers),
        };
        validate_routes(
            kind,
            &keyed.id,
            &keyed.handlers,
            &keyed.options.forward_headers,
            diagnostics,
        );
        Some(keyed)
    }
}

/// What a keyed kind's generated code names.
pub(crate) struct KindCode {
    /// The registry's `ComponentKind` variant, e.g. `ValueEntity`.
    pub kind: &'static str,
    /// The component trait, e.g. `#KalixCore::value_entity::ValueEntityComponent`.
    pub component_trait: TokenStream,
    /// How a command handler takes the state (`&State`, or a workflow's `Option<&State>`).
    pub state_param: TokenStream,
    /// The runtime type, the function running one command, and the context handlers take.
    pub runtime: TokenStream,
    pub command: TokenStream,
    pub context: TokenStream,
    /// The constructors of the component: by `Default`, and by its `new` option.
    pub default_constructor: TokenStream,
    pub constructor: TokenStream,
}

/// The component trait's impl, with the members every keyed kind has and the kind's own
/// `members`; the client, dispatch functions and registration (with `internal_handlers`).
pub(crate) fn generate(
    keyed: &Keyed,
    code: KindCode,
    members: TokenStream,
    internal_handlers: Vec<TokenStream>,
) -> TokenStream {
    let self_ty = &keyed.self_ty;
    let state = &keyed.state;
    let name = keyed.name.to_string();
    let (type_id, id) = (&keyed.type_id, &keyed.id);
    let client = codegen::client_ident(&keyed.name);
    let component_trait = code.component_trait;
    let target = ClientTarget {
        component_trait: component_trait.clone(),
        self_ty,
        name: &keyed.name,
        id_param: Some(id.value()),
    };
    let dispatch = codegen::EntityDispatch {
        self_ty,
        state: code.state_param,
        id,
        runtime: code.runtime,
        command: code.command,
        context: code.context,
    };
    let shared = codegen::shared_items(codegen::Generated {
        self_ty,
        name: &keyed.name,
        kind: code.kind,
        component_trait: component_trait.clone(),
        stores: true,
        client_fields: quote!(entity_id: ::std::string::String,),
        client_methods: keyed
            .handlers
            .iter()
            .map(|h| codegen::client_method(&target, h))
            .collect(),
        dispatch_fns: keyed
            .handlers
            .iter()
            .map(|h| codegen::entity_dispatch_fn(&dispatch, h))
            .collect(),
        handlers: &keyed.handlers,
        access: &keyed.access,
        forward_headers: &keyed.options.forward_headers,
        construct: codegen::construct(
            self_ty,
            keyed.options.new.as_ref(),
            code.default_constructor,
            code.constructor,
        ),
        internal_handlers,
        doc: &keyed.doc,
    });
    quote! {
        #[automatically_derived]
        impl #component_trait for #self_ty {
            const COMPONENT_ID: &'static str = ::core::concat!(::core::module_path!(), "::", #name);
            const TYPE_ID: &'static str = #type_id;
            const ID_PARAM: &'static str = #id;
            type State = #state;
            type Client = #client;
            fn client(client: #KalixCore::ComponentClient, entity_id: ::std::string::String) -> #client {
                #client { client, entity_id }
            }
            #members
        }

        #shared
    }
}

/// The `empty_state` member: the `empty_state` option's function, else `Default`.
pub(crate) fn empty_state(keyed: &Keyed) -> TokenStream {
    let state = &keyed.state;
    let empty_state = match &keyed.options.empty_state {
        Some(path) => quote!(#path(entity_id)),
        None => quote_spanned!(state.span()=> <#state as ::core::default::Default>::default()),
    };
    quote! {
        #[allow(unused_variables)]
        fn empty_state(entity_id: &str) -> #state {
            #empty_state
        }
    }
}

/// The members of the `migration = M` option: the current version (`version`) and the
/// migration of stored JSON (`migrate`), both read from `M: JsonMigration`.
pub(crate) fn migration(keyed: &Keyed, version: &str, migrate: &str) -> Option<TokenStream> {
    let migration = keyed.options.migration.as_ref()?;
    let span = migration.span();
    let core = KalixCoreAt(span);
    let (version, migrate) = (Ident::new(version, span), Ident::new(migrate, span));
    Some(quote_spanned! {span=>
        const #version: u32 = <#migration as #core::event_sourced_entity::JsonMigration>::CURRENT_VERSION;
        fn #migrate(from_version: u32, stored: #core::__private::JsonValue) -> #core::__private::JsonValue {
            <#migration as #core::event_sourced_entity::JsonMigration>::transform(from_version, stored)
        }
    })
}
